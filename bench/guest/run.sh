#!/usr/bin/env bash
# run.sh: guestbench natively, inside bt86's default guest and inside qemu-system-i386 (TCG),
# then a table of the times side by side. See README.md here.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

usage() {
    cat >&2 <<'EOF'
usage: bench/guest/run.sh [-b BUILD_DIR] [-k KERNEL] [-i INITRD] [-r RUNS] [-p PARTS]
                          [-n SCALE] [-R N] [-s SCALE] [-q SCALE] [-t SECONDS] [-o OUT_DIR]
                          [-g] [-N] [-T] [-v]
  -b DIR     bt86 build directory (default build/release); guestbench is built there
  -k FILE    guest kernel (default build/guest/vmlinuz*)
  -i FILE    the default guest's initramfs (default build/guest/initrd*)
  -r LIST    runs, comma separated: native,bt86,qemu (default all; qemu only if installed)
  -p LIST    only these guestbench parts (guestbench -l lists them)
  -n SCALE   native scale (default 1); -s bt86's (default 0.1); -q QEMU's (default 0.25)
  -R N       native runs, the best time of each part counts (default 3)
  -t SECS    wall-time limit of one VM run (default 1800)
  -o DIR     logs and the table (default BUILD_DIR/bench/guest/out)
  -g         VM figures by the guest's clock (default: host time between the part's lines)
  -N         build nothing: use what BUILD_DIR holds
  -T         run nothing: print the table of the logs already in OUT_DIR
  -v         echo guest serial output while running
environment:
  BT86_ENGINES  e.g. "translator interp": one bt86 run (and column) per engine, each given
                --engine=ENGINE; empty (default): one run with bt86's default engine
  BT86_ARGS     more bt86 options; QEMU_ARGS more QEMU options (default -cpu pentium2)
  GUEST_APPEND  more kernel command line; GUEST_MEM guest RAM (default 256M)
EOF
    exit 2
}

build=$root/build/release kernel='' initrd='' runs=native,bt86,qemu parts='' out='' verbose=''
nscale=1 bscale=0.1 qscale=0.25 limit=1800 nobuild='' nruns=3 tableonly='' guestclock=''
while getopts "b:k:i:r:p:n:R:s:q:t:o:gNTvh" opt; do
    case $opt in
    b) build=$(realpath -m "$OPTARG") ;;
    k) kernel=$(realpath "$OPTARG") ;;
    i) initrd=$(realpath "$OPTARG") ;;
    r) runs=$OPTARG ;;
    p) parts=$OPTARG ;;
    n) nscale=$OPTARG ;;
    R) nruns=$OPTARG ;;
    s) bscale=$OPTARG ;;
    q) qscale=$OPTARG ;;
    t) limit=$OPTARG ;;
    o) out=$(realpath -m "$OPTARG") ;;
    g) guestclock=1 ;;
    N) nobuild=1 ;;
    T) tableonly=1 nobuild=1 runs= ;;
    v) verbose=1 ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
(($# == 0)) || usage
out=${out:-$build/bench/guest/out}
mem=${GUEST_MEM:-256M}
qemu_args=${QEMU_ARGS--cpu pentium2}
want() { [[ ,$runs, == *,$1,* ]]; }
note() { echo "run.sh: $*" >&2; }

[[ -n $tableonly || -f $build/build.ninja || -f $build/Makefile ]] ||
    { note "no build in $build: run scripts/build.sh Release (or pass -b DIR)"; exit 1; }
targets=(--target bench_guest)
want bt86 && targets=(--target bench_guest_vm) # bt86 and its ROMs too
mkdir -p "$out"
blog=$out/build.out
[[ -n $nobuild ]] || cmake --build "$build" --parallel "$(nproc)" "${targets[@]}" >"$blog" 2>&1 ||
    { cat "$blog" >&2; note "build failed"; exit 1; }
gb=$build/bench/guest/guestbench
[[ -n $tableonly || -x $gb ]] || { note "$gb was not built (is gcc-multilib installed?)"; exit 1; }
gbargs=()
[[ -n $parts ]] && gbargs+=(-p "$parts")

mkdir -p "$out"
[[ -n $tableonly ]] || rm -f "$out"/*.log "$out"/*.err "$out"/initrd-*.img

# run_stamped NAME CMD...: runs CMD with its output prefixed, line by line, by the
# microseconds since it started (NAME.log). The guest's init prints markers; after the last
# one the VM gets a few seconds to power off by itself before it is stopped, which is then no
# error.
run_stamped() {
    local name=$1 fifo=$out/.fifo killer='' line t t0 pid rc=0 done=''
    shift
    rm -f "$fifo"
    mkfifo "$fifo"
    : >"$out/$name.log"
    t0=${EPOCHREALTIME/./}
    timeout -k 5 "$limit" "$@" </dev/null >"$fifo" 2>"$out/$name.err" &
    pid=$!
    while IFS= read -r line || [[ -n $line ]]; do
        t=${EPOCHREALTIME/./}
        line=${line%$'\r'}
        printf '%d %s\n' $((t - t0)) "$line" >>"$out/$name.log"
        [[ -n $verbose ]] && printf '[%s] %s\n' "$name" "$line" >&2
        case $line in
        *"guestbench-init: done"*)
            done=1
            [[ -n $killer ]] || { (sleep 10 && kill "$pid") 2>/dev/null & killer=$!; } ;;
        *"reboot: "* | *"Kernel panic"*) kill "$pid" 2>/dev/null || true ;;
        esac
    done <"$fifo"
    wait "$pid" || rc=$?
    [[ -n $killer ]] && { kill "$killer" 2>/dev/null || true; }
    rm -f "$fifo"
    [[ -n $done ]] && rc=0
    return "$rc"
}

failed=0
cols=()

if want native; then
    note "native, scale $nscale, best of $nruns"
    # Short native parts are the most exposed to other load on the host: the best run counts.
    # shellcheck disable=SC2016 # the inner shell expands them
    run_stamped native sh -c 'n=$1; shift; for i in $(seq "$n"); do "$@" || exit; done' \
        sh "$nruns" "$gb" -s "$nscale" "${gbargs[@]}" || true
    cols+=(native)
fi

# The guest runs the benchmark from an init script appended to the default initramfs as a
# second cpio archive (the kernel unpacks concatenated archives in order).
guest_initrd() { # SCALE -> path of the initramfs for that scale
    local scale=$1 dir=$out/initrd-root img=$out/initrd-$1.img
    [[ -f $img ]] && { echo "$img"; return; }
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$gb" "$dir/guestbench"
    cat >"$dir/bench-init" <<EOF
#!/bin/sh
# Written by bench/guest/run.sh: mount what guestbench needs, run it, power off.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
# Busybox applets may lack their links: call them through busybox when it is there.
bb=
for f in /bin/busybox /sbin/busybox /usr/bin/busybox; do [ -x \$f ] && bb=\$f && break; done
run() { \$bb "\$@"; }
run mkdir -p /proc /sys /dev
run mount -t proc proc /proc
run mount -t sysfs sysfs /sys
run mount -t devtmpfs devtmpfs /dev
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
echo "guestbench-init: start uptime \$(run cat /proc/uptime) clocksource \$(run cat \$cs)"
/guestbench -s $scale ${gbargs[*]}
echo "guestbench-init: done status \$? uptime \$(run cat /proc/uptime)"
run poweroff -f
EOF
    chmod 755 "$dir/guestbench" "$dir/bench-init"
    { cat "$initrd"; (cd "$dir" && printf '%s\n' bench-init guestbench |
        cpio -o -H newc -R 0:0 --quiet | gzip -1); } >"$img"
    rm -rf "$dir"
    echo "$img"
}
append="console=ttyS0 rdinit=/bench-init ${GUEST_APPEND:-}"

if want bt86 || want qemu; then
    shopt -s nullglob
    if [[ -z $kernel ]]; then
        k=("$root"/build/guest/vmlinuz* "$root"/build/guest/bzImage*)
        kernel=${k[0]:-}
    fi
    if [[ -z $initrd ]]; then
        i=("$root"/build/guest/initrd* "$root"/build/guest/initramfs*)
        initrd=${i[0]:-}
    fi
    shopt -u nullglob
    if [[ ! -f $kernel || ! -f $initrd ]]; then
        note "no default guest (kernel '$kernel', initrd '$initrd'):" \
             "run scripts/build-guest.sh or pass -k/-i; skipping bt86 and QEMU"
        runs=native
    fi
fi

if want bt86 && [[ ! -x $build/bt86 ]]; then
    note "no $build/bt86: skipping bt86"
    runs=${runs//bt86/}
fi
if want bt86; then
    read -r -a engines <<<"${BT86_ENGINES:-}"
    ((${#engines[@]})) || engines=("")
    read -r -a extra <<<"${BT86_ARGS:-}"
    img=$(guest_initrd "$bscale")
    for e in "${engines[@]}"; do
        name=bt86${e:+-$e}
        eng=()
        [[ -n $e ]] && eng=(--engine="$e")
        note "$name, scale $bscale"
        # Guest time must follow host time for the guest's own clock_gettime to mean seconds.
        run_stamped "$name" "$build/bt86" -m "$mem" -kernel "$kernel" -initrd "$img" \
            -append "$append" -display none -serial stdio --clock=realtime \
            "${eng[@]}" "${extra[@]}" || note "$name exited with status $?"
        cols+=("$name")
    done
fi

if want qemu; then
    if command -v qemu-system-i386 >/dev/null; then
        read -r -a extra <<<"$qemu_args"
        img=$(guest_initrd "$qscale")
        note "qemu, scale $qscale"
        run_stamped qemu qemu-system-i386 -accel tcg "${extra[@]}" -m "$mem" -kernel "$kernel" \
            -initrd "$img" -append "$append" -display none -serial stdio -monitor none \
            -net none -no-reboot || note "qemu exited with status $?"
        cols+=(qemu)
    else
        note "qemu-system-i386 is not installed: no QEMU column (apt-get install qemu-system-x86)"
    fi
fi

if [[ -n $tableonly ]]; then
    for f in "$out"/native.log "$out"/bt86*.log "$out"/qemu.log; do
        [[ -f $f ]] && cols+=("$(basename "$f" .log)")
    done
fi
((${#cols[@]})) || exit 0
for c in "${cols[@]}"; do
    if ! grep -q ' guestbench: OK$' "$out/$c.log" 2>/dev/null; then
        note "$c: guestbench did not finish: see $out/$c.log and $c.err"
        grep -h 'FAIL' "$out/$c.log" >&2 || true
        failed=1
    fi
done

# The table. Times are seconds at scale 1 (each run's time divided by the fraction of the
# full work it did), so ratios hold whatever the scales.
files=()
for c in "${cols[@]}"; do files+=("$out/$c.log"); done
awk -v cols="${cols[*]}" -v guestclock="$guestclock" '
function cell(v, f) { return v == "" ? "-" : sprintf(f, v) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.1fx", a / b) }
BEGIN { n = split(cols, col, " ") }
FNR == 1 { k++ }
{ t = $1 / 1e6; $1 = ""; sub(/^ /, "") }
/^guestbench: start scale [0-9.e-]+ clock [0-9.]+$/ { gstart[k] = $6; hstart[k] = t }
/^guestbench: begin [a-z0-9]+$/ { begin[k] = t }
/^guestbench: [a-z0-9]+ [0-9.]+ s work [0-9.]+ norm [0-9.]+ s$/ && $2 != "total" {
    if (!($2 in seen)) { seen[$2] = 1; row[++nr] = $2 }
    # In a VM, the host times the part from its begin line to this one.
    x = col[k] != "native" && !guestclock && (k in begin) ? (t - begin[k]) / $6 : $8
    if (!((k, $2) in v) || x < v[k, $2]) v[k, $2] = x
    delete begin[k]
}
/^guestbench: clock / && t > hstart[k] { v[k, "clock"] = ($3 - gstart[k]) / (t - hstart[k]) }
/^guestbench: OK$/ { ok[k] = 1 }
/guestbench-init: start/ && !((k, "init") in v) { v[k, "init"] = t }
END {
    for (j = 1; j <= n; j++) for (i = 1; i <= nr; i++) v[j, "total"] += v[j, row[i]]
    row[++nr] = "total"; name["total"] = "total"
    row[++nr] = "init"; name["init"] = "time to init"
    row[++nr] = "clock"; name["clock"] = "guest clock rate"
    # Columns: each run and its ratio to native; then each bt86 run over QEMU. A cell is
    # (row, column) -> text; widths follow the longest text of each column.
    for (j = 1; j <= n; j++) if (col[j] == "native") nat = j; else if (col[j] == "qemu") q = j
    nc = 0
    for (j = 1; j <= n; j++) {
        hd[++nc] = col[j]; src[nc] = j; kind[nc] = "s"
        if (nat && j != nat) { hd[++nc] = col[j] "/nat"; src[nc] = j; kind[nc] = "nat" }
    }
    for (j = 1; j <= n; j++)
        if (q && col[j] ~ /^bt86/) { hd[++nc] = col[j] "/qemu"; src[nc] = j; kind[nc] = "qemu" }
    for (i = 1; i <= nr; i++) {
        r = row[i]
        txt[i, 0] = r in name ? name[r] : r
        for (c = 1; c <= nc; c++) {
            j = src[c]
            # Figures of a run that failed are not shown.
            x = (ok[j] || r == "init") && ((j, r) in v) ? v[j, r] : ""
            if (kind[c] == "s") t = cell(x, "%.3f")
            else if (r == "clock" || (r == "init" && kind[c] == "nat")) t = ""
            else t = ratio(x, kind[c] == "nat" ? v[nat, r] : ok[q] || r == "init" ? v[q, r] : "")
            txt[i, c] = t
        }
    }
    hd[0] = "part"
    for (c = 0; c <= nc; c++) {
        w[c] = length(hd[c])
        for (i = 1; i <= nr; i++) if (length(txt[i, c]) > w[c]) w[c] = length(txt[i, c])
    }
    line = sprintf("%-" w[0] "s", hd[0])
    for (c = 1; c <= nc; c++) line = line sprintf("  %" w[c] "s", hd[c])
    print line
    for (i = 1; i <= nr; i++) {
        line = sprintf("%-" w[0] "s", txt[i, 0])
        for (c = 1; c <= nc; c++) line = line sprintf("  %" w[c] "s", txt[i, c])
        print line
    }
}' "${files[@]}" | tee "$out/table.txt"
echo "(seconds for the full-scale work, timed in VMs by the host${guestclock:+ (-g: by the guest)};" \
     "time to init: host seconds from VM start to the init's first line;" \
     "guest clock rate: guest seconds per host second; logs in $out)"
exit "$failed"
