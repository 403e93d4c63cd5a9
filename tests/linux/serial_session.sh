#!/usr/bin/env bash
# serial_session.sh [options] STEP... -- COMMAND...
# Drives a guest's serial console the way a person at a terminal would: COMMAND (bt86 with
# -serial stdio) reads its standard input from a pipe this script writes, and its output
# (standard output and error) is watched for patterns. Steps run in order:
#   wait:ERE       wait until the output after the previous match matches ERE (grep -E)
#   send:TEXT      type TEXT followed by Enter
#   absent:ERE     the output so far (whole run) must not match ERE
#   exit:N         wait for COMMAND to exit, and expect status N
# Options: --step-timeout S (default 600) bounds each wait and the exit; --timeout S
# (default 1800) bounds the whole run; --skip-unless FILE reports a skip (status 77) when FILE
# is absent. The whole output is printed at the end (and kept in $BT86_SESSION_LOG if that is
# set); the status is 0 when every step passed.
set -u
step_timeout=600 total=1800
while :; do
    case "${1:-}" in
    --step-timeout) step_timeout=$2; shift 2 ;;
    --timeout) total=$2; shift 2 ;;
    --skip-unless)
        if [ ! -e "$2" ]; then
            echo "SKIP: $2 is absent (the default guest could not be built: no network?)"
            exit 77
        fi
        shift 2 ;;
    *) break ;;
    esac
done
steps=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    steps+=("$1")
    shift
done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: serial_session.sh [options] STEP... -- COMMAND..." >&2; exit 2; }

work=$(mktemp -d)
log=$work/out fifo=$work/in
mkfifo "$fifo"
: >"$log"
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

start=$SECONDS
"$@" <"$fifo" >"$log" 2>&1 &
pid=$!
exec 3>"$fifo" # held open: the guest never sees end of input

finish() { # finish STATUS MESSAGE
    [ -n "${BT86_SESSION_LOG:-}" ] && cp "$log" "$BT86_SESSION_LOG"
    echo "--- output"
    cat -v "$log"
    echo "---"
    echo "$2"
    exit "$1"
}

pos=0 # bytes of output already matched
running=1
wait_for() {
    local pattern=$1 deadline=$((SECONDS + step_timeout)) m off
    while :; do
        m=$(tail -c +$((pos + 1)) "$log" | grep -a -E -b -o -m1 -- "$pattern" | head -1)
        if [ -n "$m" ]; then
            off=${m%%:*}
            m=${m#*:}
            pos=$((pos + off + ${#m}))
            return 0
        fi
        if [ $running -eq 1 ] && ! kill -0 "$pid" 2>/dev/null; then
            running=0
            continue # one last look at everything it wrote
        fi
        [ $running -eq 0 ] && return 1
        if [ $SECONDS -ge $deadline ] || [ $((SECONDS - start)) -ge "$total" ]; then
            return 2
        fi
        sleep 0.2
    done
}

n=0
for st in "${steps[@]}"; do
    n=$((n + 1))
    kind=${st%%:*} arg=${st#*:}
    case $kind in
    wait)
        wait_for "$arg"
        case $? in
        1) finish 1 "FAIL: step $n: the command exited before the output matched: $arg" ;;
        2) finish 1 "FAIL: step $n: timed out after $((SECONDS - start)) s waiting for: $arg" ;;
        esac
        echo "step $n: '$arg' seen after $((SECONDS - start)) s"
        ;;
    send)
        printf '%s\r' "$arg" >&3
        ;;
    absent)
        if grep -a -E -q -- "$arg" "$log"; then
            finish 1 "FAIL: step $n: the output matches what it must not: $arg"
        fi
        ;;
    exit)
        deadline=$((SECONDS + step_timeout))
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            finish 1 "FAIL: step $n: the command did not exit within $step_timeout s"
        fi
        wait "$pid"
        status=$?
        pid=
        [ "$status" -eq "$arg" ] || finish 1 "FAIL: step $n: exit status $status, expected $arg"
        echo "step $n: exit status $status after $((SECONDS - start)) s"
        ;;
    *)
        finish 2 "bad step '$st' (wait:, send:, absent:, exit:)"
        ;;
    esac
done
finish 0 "PASS ($((SECONDS - start)) s)"
