#!/usr/bin/env bash
# make_images.sh GUEST_DIR OUT_DIR: boot media for the Linux system tests, from the default
# guest (scripts/build-guest.sh):
#   OUT_DIR/linux-grub.iso  grub-mkrescue CD: GRUB loads GUEST_DIR's vmlinuz and initrd.gz
#                           (timeout 0, kernel console on ttyS0)
#   OUT_DIR/linux-ext4.img  a 64 MiB disk, one partition (sfdisk) formatted ext4 from
#                           GUEST_DIR/rootfs (mkfs.ext4 -d): the guest's root for root=/dev/sda1
# Reports a skip (77) when the guest or the tools are missing.
set -euo pipefail
guest=$1 out=$2
skip() { echo "SKIP: $*"; exit 77; }
[ -s "$guest/vmlinuz" ] && [ -s "$guest/initrd.gz" ] && [ -d "$guest/rootfs" ] ||
    skip "the default guest is not built in $guest (scripts/build-guest.sh: no network?)"
mkdir -p "$out"
rm -f "$out/linux-grub.iso" "$out/linux-ext4.img"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- the GRUB CD ----
for t in grub-mkrescue xorriso mformat; do
    command -v $t >/dev/null || skip "$t is absent (grub-common, xorriso, mtools)"
done
[ -d /usr/lib/grub/i386-pc ] || skip "/usr/lib/grub/i386-pc is absent (grub-pc-bin)"
mkdir -p "$work/iso/boot/grub"
cp "$guest/vmlinuz" "$guest/initrd.gz" "$work/iso/boot/"
cat >"$work/iso/boot/grub/grub.cfg" <<'EOF'
terminal_output console
set timeout=0
menuentry "bt86 default guest" {
    echo "GRUB: loading Linux"
    linux /boot/vmlinuz console=ttyS0 cryptomgr.notests bt86.via=grub
    initrd /boot/initrd.gz
}
EOF
grub-mkrescue --directory=/usr/lib/grub/i386-pc -o "$work/linux-grub.iso" "$work/iso" \
    >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
mv "$work/linux-grub.iso" "$out/"

# ---- the ext4 disk ----
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 is absent (e2fsprogs)"
command -v sfdisk >/dev/null || skip "sfdisk is absent (fdisk)"
img=$work/linux-ext4.img
truncate -s 64M "$img"
echo 'start=2048, type=83' | sfdisk -q "$img"
cp -a "$guest/rootfs" "$work/root"
echo "bt86 ext4 root: written by make_images.sh" >"$work/root/etc/bt86-disk"
# The partition starts at sector 2048 (1 MiB) and fills the rest of the disk.
mkfs.ext4 -q -F -L bt86root -E offset=1048576,root_owner=0:0 -d "$work/root" "$img" 63M
mv "$img" "$out/"
ls -l "$out/linux-grub.iso" "$out/linux-ext4.img"
