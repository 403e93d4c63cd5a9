#!/usr/bin/env bash
# Installs the Debian packages bt86 needs to build and test, if any are missing.
# Non-interactive; needs root (or sudo) only when something must be installed.
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config nasm gcc-multilib
    libcapstone-dev libsdl2-dev zlib1g-dev libcmocka-dev
    seabios
    xvfb xauth x11-apps  # the SDL window tests: a private X screen (xvfb-run) and xwd
    xdotool libx11-dev   # ... typing into bt86's window and closing it through X
    grub-pc-bin grub-common xorriso mtools  # CD boot tests: a grub-mkrescue image
    isolinux syslinux-common                # ... and an ISOLINUX image
    fdisk dosfstools mtools  # the hard-disk tests build a partitioned FAT16 image (sfdisk, mkfs.fat)
    memtest86+               # a boot test: memtest86+ starts testing
    cpio e2fsprogs           # the default Linux guest: initramfs (cpio) and an ext4 root disk (mkfs.ext4 -d)
    acpica-tools             # test_acpi_iasl: iasl disassembles and recompiles bt86's ACPI tables
)

# The default guest is built from Debian i386 packages (apt-get download), so dpkg must know
# the i386 architecture. Adding it changes nothing installed.
need_i386=0
if ! dpkg --print-foreign-architectures | grep -qx i386 && [ "$(dpkg --print-architecture)" != i386 ]; then
    need_i386=1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && [ $need_i386 -eq 0 ] && exit 0

echo "bt86 setup: installing ${missing[*]:-nothing}; i386 architecture needed: $need_i386"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
        as_root=(sudo)
    else
        echo "bt86 setup: need root to install: ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
if [ $need_i386 -eq 1 ]; then
    "${as_root[@]}" dpkg --add-architecture i386
fi
# A mirror caught mid-sync makes one index fail; what was fetched is still usable, and a
# package that is really unavailable fails loudly at install time below.
"${as_root[@]}" apt-get update -qq || echo "bt86 setup: apt-get update reported errors; continuing" >&2
if [ ${#missing[@]} -gt 0 ]; then
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
