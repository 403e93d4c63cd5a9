#!/bin/sh
# need_file.sh FILE COMMAND...: runs COMMAND, or reports a skip (status 77) when FILE, an
# external corpus file, is absent.
f=$1
shift
if [ ! -f "$f" ]; then
    echo "SKIP: $f is absent"
    exit 77
fi
exec "$@"
