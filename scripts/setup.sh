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
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bt86 setup: installing ${missing[*]}"
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
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
