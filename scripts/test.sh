#!/usr/bin/env bash
# Installs what is missing, checks the formatting (scripts/check-format.sh), builds, and runs
# the whole test suite: the release build, then the
# same tests under AddressSanitizer + UndefinedBehaviorSanitizer (set XANESMAP_SKIP_ASAN=1 to
# skip the second pass while iterating), then a short libFuzzer run of the text parsers
# (scripts/fuzz.sh, about a minute with clang; XANESMAP_SKIP_FUZZ=1 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/check-format.sh   # a formatting diff fails the test command
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"
if [ "${XANESMAP_SKIP_ASAN:-0}" != "1" ]; then
  cmake --preset asan
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs"
fi
if [ "${XANESMAP_SKIP_FUZZ:-0}" != "1" ]; then
  bash scripts/fuzz.sh
fi
