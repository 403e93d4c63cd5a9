#!/usr/bin/env bash
# expect_output.sh [--input TEXT] [--output-file PATH] SECONDS EXPECTED_STATUS PATTERN... -- COMMAND...
# Runs COMMAND with a time bound; passes when it exits with EXPECTED_STATUS and its output
# (standard output and error, then PATH's contents if given) matches every extended regular
# expression PATTERN, except those written !PATTERN, which must not match.
# --input feeds TEXT (plus a newline) to COMMAND's standard input; otherwise it reads /dev/null.
set -u
input= input_given= outfile=
while :; do
    case "$1" in
    --input) input=$2 input_given=1; shift 2 ;;
    --output-file) outfile=$2; shift 2 ;;
    *) break ;;
    esac
done
limit=$1 want_status=$2
shift 2
patterns=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    patterns+=("$1")
    shift
done
[ "${1:-}" = "--" ] && shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
[ -n "$outfile" ] && rm -f "$outfile"
if [ -n "$input_given" ]; then
    printf '%s\n' "$input" | timeout "$limit" "$@" >"$out" 2>&1
    status=${PIPESTATUS[1]}
else
    timeout "$limit" "$@" </dev/null >"$out" 2>&1
    status=$?
fi
if [ -n "$outfile" ] && [ -f "$outfile" ]; then
    echo "--- contents of $outfile" >>"$out"
    cat "$outfile" >>"$out"
fi
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
for p in "${patterns[@]}"; do
    if [ "${p#!}" != "$p" ]; then
        if grep -Eq -- "${p#!}" "$out"; then
            echo "FAIL: output matches what it must not: ${p#!}"
            exit 1
        fi
    elif ! grep -Eq -- "$p" "$out"; then
        echo "FAIL: output does not match: $p"
        exit 1
    fi
done
echo "PASS"
