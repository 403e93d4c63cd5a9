#!/usr/bin/env bash
# Install what is missing, build the Release and the sanitizer (ASan+UBSan) configurations,
# and run the whole test suite in both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The Linux tests boot the default guest; without a network it cannot be built and they
# report a skip (the ctest fixture tries again and says why).
scripts/build-guest.sh || echo "test.sh: the default guest could not be built" >&2
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
