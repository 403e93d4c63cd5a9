#!/usr/bin/env bash
# run_qemu.sh [BINDIR] [NAME...]
# Cross-checks the guest test programs on QEMU (qemu-system-i386, TCG), which takes the same
# options as bt86 and has the same exit-port convention (isa-debug-exit at 0xF4). Used to check
# the programs themselves; where QEMU departs from the SDM the README says so. Not part of ctest.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bindir=${1:-$here/../../build/release/tests/guest}
shift || true
qemu=${QEMU:-qemu-system-i386}
command -v "$qemu" >/dev/null || { echo "run_qemu.sh: $qemu not installed"; exit 77; }
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$bindir"/*.bin; do names+=("$(basename "$f" .bin)"); done
fi
pass=0 fail=0
for n in "${names[@]}"; do
    if "$here/run_guest.sh" 20 "$bindir/$n.bin" -- "$qemu" -M pc -cpu pentium3 -m 128 \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 >"/tmp/qemu_$n.log" 2>&1; then
        echo "ok    $n"
        pass=$((pass + 1))
    else
        echo "FAIL  $n  ($(grep -m1 -E '^FAIL|^FAILED' "/tmp/qemu_$n.log"))"
        fail=$((fail + 1))
    fi
done
echo "qemu: $pass passed, $fail failed (logs in /tmp/qemu_NAME.log)"
