#!/usr/bin/env bash
# build.sh CONFIG: configure and build one configuration (Release, Debug or Asan) into
# build/<config in lower case>.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-Release}
dir=build/$(echo "$config" | tr '[:upper:]' '[:lower:]')
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$config" >/dev/null
ninja -C "$dir"
