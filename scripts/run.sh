#!/usr/bin/env bash
# The main job: install what is missing, build bt86 and the default guest (Debian's i386
# kernel and busybox, scripts/build-guest.sh), and boot it: a window with a Linux shell, or,
# without a display, the shell on this terminal (serial console). `poweroff` in the guest
# ends bt86. Arguments are passed on to bt86 (e.g. -display none, -m 256).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh Release
scripts/build-guest.sh
exec build/release/bt86 "$@"
