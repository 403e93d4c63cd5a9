#!/usr/bin/env bash
# run_bochs.sh [BINDIR] [NAME...]
# Cross-checks the guest test programs on Bochs (Debian's bochs package), the second reference
# besides QEMU: Bochs checks segment limits and null selectors, which QEMU's TCG does not.
# Bochs has no exit port, so the program's output is read from the debug console port 0xE9
# (the library mirrors the UART there) and Bochs is stopped once the SUMMARY line appears.
# Not part of ctest.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bindir=${1:-$here/../../build/release/tests/guest}
shift || true
command -v bochs >/dev/null || { echo "run_bochs.sh: bochs not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 32768 /dev/zero | tr '\0' '\377' >"$tmp/vga.bin"
printf 'c\nc\nc\nc\n' >"$tmp/rc"     # Bochs' debugger stops again at each reset
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$bindir"/*.bin; do names+=("$(basename "$f" .bin)"); done
fi
pass=0 fail=0
for n in "${names[@]}"; do
    cat >"$tmp/bochsrc" <<EOT
megs: 128
romimage: file=$bindir/$n.bin
vgaromimage: file=$tmp/vga.bin
vga: extension=none
cpu: model=p3_katmai, count=1, ips=100000000, reset_on_triple_fault=1, ignore_bad_msrs=0
display_library: rfb, options="timeout=0"
port_e9_hack: enabled=1
sound: driver=dummy
speaker: enabled=0
log: $tmp/log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
clock: sync=none
EOT
    out=/tmp/bochs_$n.log
    bochs -q -f "$tmp/bochsrc" -rc "$tmp/rc" >"$out" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
        grep -q '^SUMMARY' "$out" 2>/dev/null && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
    sleep 0.2
    kill $pid 2>/dev/null
    wait $pid 2>/dev/null
    if grep -q '^SUMMARY' "$out" && ! grep -q '^FAIL' "$out" && grep -q '^PASS' "$out"; then
        echo "ok    $n"
        pass=$((pass + 1))
    else
        echo "FAIL  $n  ($(grep -m1 -E '^FAIL' "$out" || echo 'no SUMMARY line'))"
        fail=$((fail + 1))
    fi
done
echo "bochs: $pass passed, $fail failed (logs in /tmp/bochs_NAME.log)"
