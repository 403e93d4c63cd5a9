#!/usr/bin/env bash
# Install what is missing, build the Release and the sanitizer (ASan+UBSan) configurations,
# and run the whole test suite in both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)
status=0
for config in Release Asan; do
    scripts/build.sh "$config"
    dir=build/$(echo "$config" | tr '[:upper:]' '[:lower:]')
    echo "=== tests: $config"
    if ! ctest --test-dir "$dir" --output-on-failure -j "$jobs"; then
        status=1
    fi
done
exit $status
