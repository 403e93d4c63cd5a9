#!/bin/sh
# make_fat_disk.sh OUT [COMMAND...]: builds a 32 MiB hard-disk image with tools independent of
# bt86: an MBR partition table (sfdisk) with one FAT16 partition from sector 2048 (mkfs.fat),
# holding HELLO.TXT (mtools); then runs COMMAND, if given, for the script's status. A run skips
# (status 77) when the tools are absent (scripts/setup.sh installs fdisk, dosfstools, mtools).
# The BPB must carry the BIOS geometry (-g 16/63, what SeaBIOS reports for this disk): DOS
# turns sector numbers into CHS with the BPB's heads and sectors per track when it reads
# through INT 13h AH=02h, and mkfs.fat's default for a plain file (4 heads, 32 sectors) makes
# FreeDOS fail with "unknown command given to driver" on C:.
set -eu
out=$1
shift
for t in sfdisk mkfs.fat mcopy; do
    if ! command -v "$t" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$t" ] && ! [ -x "/sbin/$t" ]; then
        echo "SKIP: $t is absent (scripts/setup.sh installs fdisk, dosfstools, mtools)"
        exit 77
    fi
done
PATH=$PATH:/usr/sbin:/sbin
export MTOOLS_SKIP_CHECK=1 MTOOLSRC=/dev/null
start=2048                       # first sector of the partition
total=65536                      # 32 MiB in 512-byte sectors
end=$((64 * 16 * 63))            # SeaBIOS keeps the last of the 65 cylinders (16 heads, 63
                                 # sectors) out of the CHS geometry it reports: stay below it
size=$((end - start))
tmp=$out.tmp
rm -f "$tmp"
truncate -s $((total * 512)) "$tmp"
printf "label: dos\nlabel-id: 0xb786d15c\nstart=$start, size=$size, type=6, bootable\n" | sfdisk --quiet "$tmp"
mkfs.fat -F 16 -i b786d15c -n BT86DISK -S 512 -g 16/63 -h $start --offset $start "$tmp" $((size / 2)) >/dev/null
printf 'bt86 disk test: partitioned here, read by FreeDOS\r\n' > "$out.hello"
mcopy -i "$tmp@@$((start * 512))" "$out.hello" ::HELLO.TXT
rm -f "$out.hello"
mdir -i "$tmp@@$((start * 512))" ::
mv "$tmp" "$out"
[ $# -eq 0 ] || exec "$@"
