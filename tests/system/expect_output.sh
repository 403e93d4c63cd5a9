#!/usr/bin/env bash
# expect_output.sh SECONDS EXPECTED_STATUS PATTERN -- COMMAND...
# Runs COMMAND with a time bound; passes when it exits with EXPECTED_STATUS and its standard
# output matches the extended regular expression PATTERN.
set -u
limit=$1 want_status=$2 pattern=$3
shift 3
[ "$1" = "--" ] && shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout "$limit" "$@" >"$out" 2>&1
status=$?
echo "--- output (exit status $status)"
cat "$out"
echo "---"
if [ "$status" -eq 124 ]; then
    echo "FAIL: timed out after ${limit}s"
    exit 1
fi
if [ "$status" -ne "$want_status" ]; then
    echo "FAIL: exit status $status, expected $want_status"
    exit 1
fi
if ! grep -Eq -- "$pattern" "$out"; then
    echo "FAIL: output does not match: $pattern"
    exit 1
fi
echo "PASS"
