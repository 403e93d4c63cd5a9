#!/usr/bin/env bash
# The main job: install what is missing, build, and boot the default guest.
# (Until the PC and Linux work lands, the default guest is bt86's own demo firmware.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh Release
exec build/release/bt86 -bios build/release/roms/demo.bin -debugcon stdio -display none "$@"
