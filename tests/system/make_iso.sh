#!/usr/bin/env bash
# make_iso.sh grub|isolinux|memtest OUTPUT.iso: builds a small bootable CD image for the
# system tests.
#   grub      grub-mkrescue (Debian grub-pc-bin, grub-common, xorriso, mtools): a menu that
#             waits forever (timeout=-1) in the VGA text console, with one entry
#             "bt86 test entry".
#   isolinux  ISOLINUX (Debian isolinux, syslinux-common) on an El Torito no-emulation image
#             made by xorriso (or genisoimage): shows a DISPLAY file "bt86 isolinux ok" and
#             waits at its boot: prompt (PROMPT 1, TIMEOUT 0).
#   memtest   grub-mkrescue with Debian's memtest86+ (/boot/memtest86+ia32.bin), started at
#             once with linux16, as Debian's GRUB menu entry does.
# Reports a skip (status 77) when the tools are not installed.
set -euo pipefail
kind=$1 out=$2
skip() { echo "SKIP: $*"; exit 77; }
rm -f "$out" # a skip or failure leaves no stale image behind for the tests to boot

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"

case "$kind" in
grub)
    command -v grub-mkrescue >/dev/null || skip "grub-mkrescue is absent (grub-common)"
    [ -d /usr/lib/grub/i386-pc ] || skip "/usr/lib/grub/i386-pc is absent (grub-pc-bin)"
    command -v xorriso >/dev/null || skip "xorriso is absent"
    command -v mformat >/dev/null || skip "mformat is absent (mtools)"
    mkdir -p "$root/boot/grub"
    cat >"$root/boot/grub/grub.cfg" <<'EOF'
# Stay in the VGA text console (no gfxterm) and wait at the menu forever.
terminal_output console
set timeout=-1
menuentry "bt86 test entry" {
    echo "bt86 test entry chosen"
}
menuentry "bt86 second entry" {
    echo "bt86 second entry chosen"
}
EOF
    # Only the BIOS platform: an EFI image would need grub-efi and is of no use here.
    grub-mkrescue --directory=/usr/lib/grub/i386-pc -o "$work/out.iso" "$root" \
        >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    ;;
memtest)
    command -v grub-mkrescue >/dev/null || skip "grub-mkrescue is absent (grub-common)"
    [ -d /usr/lib/grub/i386-pc ] || skip "/usr/lib/grub/i386-pc is absent (grub-pc-bin)"
    command -v xorriso >/dev/null || skip "xorriso is absent"
    command -v mformat >/dev/null || skip "mformat is absent (mtools)"
    mt=/boot/memtest86+ia32.bin
    [ -f "$mt" ] || skip "$mt is absent (memtest86+)"
    mkdir -p "$root/boot/grub"
    cp "$mt" "$root/boot/"
    cat >"$root/boot/grub/grub.cfg" <<'CFG'
terminal_output console
set timeout=0
menuentry "Memory test (memtest86+ia32.bin)" {
    linux16 /boot/memtest86+ia32.bin
}
CFG
    grub-mkrescue --directory=/usr/lib/grub/i386-pc -o "$work/out.iso" "$root" \
        >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    ;;
isolinux)
    isobin=
    for f in /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/isolinux.bin; do
        [ -f "$f" ] && { isobin=$f; break; }
    done
    [ -n "$isobin" ] || skip "isolinux.bin is absent (isolinux)"
    ldlinux=
    for f in /usr/lib/syslinux/modules/bios/ldlinux.c32 /usr/lib/syslinux/ldlinux.c32; do
        [ -f "$f" ] && { ldlinux=$f; break; }
    done
    [ -n "$ldlinux" ] || skip "ldlinux.c32 is absent (syslinux-common)"
    mkdir -p "$root/isolinux"
    cp "$isobin" "$ldlinux" "$root/isolinux/"
    printf 'bt86 isolinux ok\r\n' >"$root/isolinux/boot.msg"
    cat >"$root/isolinux/isolinux.cfg" <<'EOF'
DISPLAY boot.msg
PROMPT 1
TIMEOUT 0
DEFAULT local
LABEL local
  LOCALBOOT 0
EOF
    args=(-o "$work/out.iso" -V BT86ISOLINUX -b isolinux/isolinux.bin -c isolinux/boot.cat
          -no-emul-boot -boot-load-size 4 -boot-info-table "$root")
    if command -v xorriso >/dev/null; then
        xorriso -as mkisofs "${args[@]}" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    elif command -v genisoimage >/dev/null; then
        genisoimage "${args[@]}" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    else
        skip "neither xorriso nor genisoimage is installed"
    fi
    ;;
*)
    echo "usage: make_iso.sh grub|isolinux|memtest OUTPUT.iso" >&2
    exit 2
    ;;
esac
mv "$work/out.iso" "$out"
echo "made $out ($(stat -c %s "$out") bytes)"
