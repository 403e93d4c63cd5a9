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
    # The sanitizer run repeats every test; BT86_TEST_SCALE lets the long randomised ones
    # run a smaller share there (the Release run keeps the full counts).
    scale=1
    [ "$config" = Asan ] && scale=${BT86_ASAN_SCALE:-0.25}
    if ! BT86_TEST_SCALE=$scale ctest --test-dir "$dir" --output-on-failure -j "$jobs"; then
        status=1
    fi
done
exit $status
