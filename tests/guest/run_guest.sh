#!/usr/bin/env bash
# run_guest.sh SECONDS ROM -- COMMAND...
# Runs a guest test program: COMMAND plus "-bios ROM -serial stdio -display none" (bt86 and
# qemu-system-i386 take the same options). Passes when the program left through the exit port
# with "all passed" (0 written to port 0xF4 -> exit status 1), printed at least one PASS line
# and its SUMMARY line, and printed no FAIL line.
set -u
limit=$1 rom=$2
shift 2
[ "${1:-}" = "--" ] && shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout "$limit" "$@" -bios "$rom" -serial stdio -display none >"$out" 2>&1 </dev/null
status=$?
echo "--- output (exit status $status)"
cat "$out"
echo "---"
verdict=0
if [ "$status" -eq 124 ]; then
    echo "FAILED: timed out after ${limit}s"
    verdict=1
elif [ "$status" -ne 1 ]; then
    echo "FAILED: exit status $status, expected 1 (0 written to the exit port 0xF4)"
    verdict=1
fi
if grep -q '^FAIL ' "$out"; then
    echo "FAILED: $(grep -c '^FAIL ' "$out") FAIL line(s)"
    verdict=1
fi
if ! grep -q '^PASS ' "$out"; then
    echo "FAILED: no PASS line"
    verdict=1
fi
if ! grep -q '^SUMMARY ' "$out"; then
    echo "FAILED: no SUMMARY line"
    verdict=1
fi
[ $verdict -eq 0 ] && echo "PASSED: $(grep -c '^PASS ' "$out") checks"
exit $verdict
