#!/bin/sh
# screenshot_check.sh PNG WIDTH HEIGHT MIN_BLUE -- BT86 ARGS...: runs bt86 until its virtual time
# limit (status 4) with --screenshot PNG, then checks the picture with png_check.py (a blue
# graphical desktop of that size).
set -u
png=$1 w=$2 h=$3 min=$4
shift 4
[ "$1" = "--" ] && shift
rm -f "$png"
"$@" --screenshot "$png"
status=$?
if [ "$status" -ne 4 ]; then
    echo "screenshot_check: bt86 exited with status $status, expected 4 (time limit)"
    exit 1
fi
exec python3 "$(dirname "$0")/png_check.py" "$png" "$w" "$h" "$min"
