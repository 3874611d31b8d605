#!/usr/bin/env bash
# Regenerates the golden references (tests/golden/references/CASE/) from the current build:
# runs each case's `xanesmap map` and copies every file the case checks over its reference.
#
# Only for a deliberate change of what the program computes. The commit that changes references
# must say in its message which cases changed, why the new maps are right, and by how much they
# moved (run the golden tests before updating and quote golden_compare's lines). A reference
# changed to make a failing test pass, without that explanation, hides a regression.
#
# Usage: tests/golden/update.sh [BUILD_DIR] [CASE...]
#   BUILD_DIR: default build/release (it needs apps/xanesmap); CASE: default every case file.
set -eu
golden=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$golden/../.." && pwd)
build=$(cd "${1:-$root/build/release}" && pwd)
shift || true
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for f in "$golden"/cases/*.sh; do cases+=("$(basename "$f" .sh)"); done
fi
exe=$build/apps/xanesmap
[ -x "$exe" ] ||
  { echo "update.sh: no '$exe': build first (cmake --build --preset release)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XANESMAP_FFTW_WISDOM=off   # as the tests run (tests/CMakeLists.txt)
for c in "${cases[@]}"; do
  rm -rf "$golden/references/$c"
  bash "$golden/run_case.sh" "$c" "$exe" /bin/false "$work" "$root/examples" --update
done
echo "Now run 'ctest --preset release -L golden', look at the new maps (git diff --stat"
echo "tests/golden), and explain the change in the commit message."
