#!/usr/bin/env bash
# build-guest.sh [DIR]: builds bt86's default guest from Debian i386 packages into DIR
# (default build/guest, or $BT86_GUEST_DIR):
#   vmlinuz      the newest linux-image-*-686-unsigned kernel
#   initrd.gz    an initramfs (cpio newc, gzip): busybox-static, /bin/bt86-check (a static
#                test program built here), the kernel modules for an IDE disk with ext4, and an
#                /init that mounts proc/sys/dev, prints a banner, optionally switches to an ext4
#                root (root=/dev/sdXN), and hands over to busybox init, which keeps a shell
#                running on the serial console (ttyS0) and on the screen (tty1)
#   rootfs/      the same tree, for a root disk image (tests/linux/make_images.sh)
# Needs no root: packages are fetched with apt-get download and unpacked with dpkg-deb -x.
# Idempotent: nothing is redone while the packages and inputs are unchanged. Exits non-zero
# if the guest cannot be built: 3 when nothing could be downloaded and nothing is cached (no
# network; tests then skip), 1 for any other failure.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=${1:-${BT86_GUEST_DIR:-build/guest}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Test runs of several build directories may call this at once: one builds, the others wait.
exec 9>"$out/.lock"
flock 9
debs=$out/debs
mkdir -p "$debs"

say() { echo "build-guest: $*" >&2; }
die() { say "$*"; exit 1; }
# Nothing to download from and nothing cached: status 3, which tests report as a skip.
die_offline() { say "$*"; exit 3; }

# ---- which packages: the kernel that linux-image-686 points at, unsigned flavour ----
resolve_kernel() {
    local dep
    dep=$(apt-cache depends linux-image-686:i386 2>/dev/null |
          sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-686\)\(:i386\)\?$/\1/p' | head -1)
    if [ -n "$dep" ] && apt-cache show "$dep-unsigned:i386" >/dev/null 2>&1; then
        echo "$dep-unsigned"
        return
    fi
    # No metapackage: the highest version among the unsigned 686 images.
    apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-686-unsigned$' 2>/dev/null |
        cut -d' ' -f1 | sort -V | tail -1
}
kpkg=$(resolve_kernel || true)
if [ -z "$kpkg" ] && [ "$(id -u)" -eq 0 ]; then
    # The i386 package lists may not have been fetched yet. A mirror mid-sync makes one index
    # fail; what was fetched is still usable.
    say "no i386 kernel package known; running apt-get update"
    apt-get update -qq || say "apt-get update reported errors; continuing"
    kpkg=$(resolve_kernel || true)
fi

# Newest .deb of a package in the cache (by version), or nothing.
cached_deb() { ls "$debs/$1"_*_i386.deb 2>/dev/null | sort -V | tail -1; }

fetch() { # fetch PACKAGE: its candidate version's .deb into $debs; prints the file name
    local pkg=$1 ver file
    ver=$(apt-cache policy "$pkg:i386" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    if [ -n "$ver" ] && [ "$ver" != "(none)" ]; then
        file="$debs/${pkg}_$(echo "$ver" | sed 's/:/%3a/')_i386.deb"
        if [ ! -s "$file" ]; then
            say "downloading $pkg:i386 $ver"
            # apt-get download writes into the current directory; _apt may not be able to
            # write there, which only costs a warning.
            (cd "$debs" && apt-get download -q "$pkg:i386" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
        fi
        if [ -s "$file" ]; then
            echo "$file"
            return
        fi
    fi
    # No network or no package lists: an earlier download will do.
    file=$(cached_deb "$pkg")
    [ -n "$file" ] && { say "using cached $(basename "$file")"; echo "$file"; return; }
    return 1
}

if [ -n "$kpkg" ]; then
    kdeb=$(fetch "$kpkg") || die_offline "cannot download $kpkg:i386 (no network?)"
else
    kdeb=$(ls "$debs"/linux-image-*-686-unsigned_*_i386.deb 2>/dev/null | sort -V | tail -1)
    [ -n "$kdeb" ] || die_offline "no linux-image-*-686-unsigned:i386 package is known (apt-get update, with the i386 architecture enabled: scripts/setup.sh)"
    say "no package lists; using cached $(basename "$kdeb")"
fi
bdeb=$(fetch busybox-static) || die_offline "cannot download busybox-static:i386 (no network?)"

# ---- up to date? ----
inputs=(scripts/build-guest.sh tests/linux/guest_check.c)
stamp=$( (basename "$kdeb"; basename "$bdeb"; cat "${inputs[@]}") | sha256sum | cut -d' ' -f1)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -s "$out/vmlinuz" ] &&
   [ -s "$out/initrd.gz" ]; then
    say "up to date: $out ($(basename "$kdeb" .deb))"
    exit 0
fi
say "building the default guest in $out"
rm -f "$out/stamp"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bdeb" "$work/busybox"
kver=$(ls "$work/kernel/lib/modules" | head -1)
[ -n "$kver" ] && [ -f "$work/kernel/boot/vmlinuz-$kver" ] || die "$(basename "$kdeb") has no kernel image"
kmods=$work/kernel/lib/modules/$kver

# ---- the root tree ----
root=$work/root
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,mnt,newroot,usr/bin,usr/sbin,lib/modules/"$kver"}
chmod 1777 "$root/tmp"
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
# Applet links now if this host runs i386 binaries; else /etc/rc installs them at boot.
if applets=$("$root/bin/busybox" --list-full 2>/dev/null); then
    for a in $applets; do
        [ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
    done
else
    # What /init and busybox init need before `busybox --install -s` (in /etc/rc) adds the rest.
    for a in bin/sh bin/mount bin/umount bin/mkdir bin/cat bin/grep bin/hostname bin/sleep \
             bin/uname bin/cut bin/awk sbin/init sbin/insmod sbin/switch_root sbin/poweroff \
             sbin/reboot; do
        ln -s /bin/busybox "$root/$a"
    done
fi

gcc -m32 -static -O2 -Wall -Wextra -o "$root/bin/bt86-check" "$src/tests/linux/guest_check.c" -lm ||
    die "cannot build tests/linux/guest_check.c with gcc -m32 -static (gcc-multilib)"

# Modules for an IDE disk with an ext4 root, with what they depend on, in loading order.
# Soft dependencies the kernel would ask modprobe for (checksums) are listed explicitly.
wanted="crc32c_generic crct10dif_generic crc64_rocksoft_generic ata_piix sd_mod ext4"
declare -A modpath=() loaded=()
while IFS= read -r f; do
    n=$(basename "$f" .ko)
    modpath[${n//-/_}]=$f
done < <(find "$kmods/kernel" -name '*.ko')
order=()
add_module() {
    local n=${1//-/_} d deps
    [ -n "${loaded[$n]:-}" ] && return
    [ -n "${modpath[$n]:-}" ] || die "module $1 is not in $(basename "$kdeb")"
    loaded[$n]=1
    deps=$(tr '\0' '\n' <"${modpath[$n]}" | sed -n 's/^depends=//p' | head -1)
    for d in ${deps//,/ }; do
        add_module "$d"
    done
    order+=("$n")
}
for m in $wanted; do add_module "$m"; done
for n in "${order[@]}"; do
    cp "${modpath[$n]}" "$root/lib/modules/$kver/$n.ko"
    echo "$n.ko"
done >"$root/lib/modules/$kver/disk-modules"

cat >"$root/init" <<'EOF'
#!/bin/sh
# bt86 default guest: first stage (initramfs) and, after switch_root, nothing more than
# busybox init (the ext4 root carries the same tree).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
hostname bt86
root= fstype=ext4
for arg in $(cat /proc/cmdline); do
    case $arg in
    root=*) root=${arg#root=} ;;
    rootfstype=*) fstype=${arg#rootfstype=} ;;
    esac
done
if [ -n "$root" ] && [ "$root" != /dev/ram0 ]; then
    echo "bt86 guest: loading disk drivers for root=$root"
    dir=/lib/modules/$(uname -r)
    for m in $(cat "$dir/disk-modules"); do
        insmod "$dir/$m" || echo "bt86 guest: insmod $m failed"
    done
    i=0
    while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if mount -t "$fstype" "$root" /newroot; then
        umount /dev/pts
        mount --move /dev /newroot/dev 2>/dev/null || umount /dev
        umount /sys
        umount /proc
        exec switch_root /newroot /sbin/init
    fi
    echo "bt86 guest: cannot mount $root; staying in the initramfs"
fi
exec /sbin/init
EOF
chmod 755 "$root/init"

# busybox init: a shell on the serial port and one on the screen, both respawned, and a
# clean power-off (poweroff, or Ctrl-Alt-Del for reboot).
cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/rc
ttyS0::respawn:-/bin/sh
tty1::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/rc.shutdown
EOF
cat >"$root/etc/rc" <<'EOF'
#!/bin/sh
# Runs once under busybox init, in the initramfs or on the disk.
[ -e /bin/ls ] || /bin/busybox --install -s
mounted() { grep -q " $1 " /proc/mounts 2>/dev/null; }
mounted /proc || mount -t proc proc /proc
mounted /sys || mount -t sysfs sysfs /sys
mounted /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mounted /dev/pts || mount -t devpts devpts /dev/pts
hostname bt86
where="initramfs"
[ -f /etc/bt86-disk ] && where="$(awk '$2 == "/" && $1 != "rootfs" {print $1 " (" $3 ")"}' /proc/mounts | tail -1)"
up=$(cut -d' ' -f1 /proc/uptime)
for t in /dev/ttyS0 /dev/tty1; do
    printf '\n=== bt86 guest: Linux %s, root on %s, up %s s ===\n' "$(uname -r)" "$where" "$up" >"$t" 2>/dev/null
done
EOF
cat >"$root/etc/rc.shutdown" <<'EOF'
#!/bin/sh
echo "bt86 guest: shutting down"
sync
[ -f /etc/bt86-disk ] && mount -o remount,ro / 2>/dev/null
true
EOF
chmod 755 "$root/etc/rc" "$root/etc/rc.shutdown"
cat >"$root/etc/profile" <<'EOF'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PS1='bt86:\w# '
export HOME=/root
cd /root
EOF
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo bt86 >"$root/etc/hostname"

# ---- outputs ----
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9n >"$work/initrd.gz"
cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
rm -rf "$out/rootfs"
cp -a "$root" "$out/rootfs"
touch "$out/rootfs/etc/bt86-disk"
mv "$work/vmlinuz" "$work/initrd.gz" "$out/"
echo "$kver" >"$out/kernel-version"
echo "$stamp" >"$out/stamp"
say "done: $out/vmlinuz ($kver), $out/initrd.gz ($(stat -c %s "$out/initrd.gz") bytes)"
