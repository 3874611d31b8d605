#!/usr/bin/env bash
# Runs one golden case (tests/golden/cases/CASE.sh; tests/golden/README.md): `xanesmap map` on the
# committed input into a fresh folder, then golden_compare on every file the case checks against
# its reference in tests/golden/references/CASE/.
#
# Usage: run_case.sh CASE XANESMAP GOLDEN_COMPARE WORK_DIR EXAMPLES_DIR [--update]
#   WORK_DIR: where the run's output folder WORK_DIR/CASE is made (emptied first; kept when the
#   case fails, for inspection). --update: copy the checked files over the references instead of
#   comparing (tests/golden/update.sh; the commit message must say why they changed).
#
# A case file is bash, read with two commands defined here:
#   map ARGS...            xanesmap map ARGS... --out <the output folder> (paths relative to
#                          tests/golden; --refs is the shipped examples/mn-k set unless given)
#   check FILE OPTIONS...  golden_compare OPTIONS... <output>/FILE references/CASE/FILE
set -u
case_name=$1 exe=$2 compare=$3 work_root=$4 examples=$5 mode=${6:-compare}
golden=$(cd "$(dirname "$0")" && pwd)
case_file=$golden/cases/$case_name.sh
references=$golden/references/$case_name
out=$work_root/$case_name
[ -f "$case_file" ] || { echo "run_case.sh: no case file '$case_file'" >&2; exit 2; }
rm -rf "$out" && mkdir -p "$work_root" || exit 2
failures=0

map() {
  local refs=(--refs "$examples/mn-k/references.toml")
  case " $* " in *" --refs "*) refs=() ;; esac
  echo "+ xanesmap map $* --out $out -q"
  (cd "$golden" && "$exe" map "$@" "${refs[@]}" --out "$out" -q) ||
    { echo "FAIL [$case_name]: xanesmap map exited $?" >&2; exit 1; }
}

check() {
  local file=$1; shift
  if [ "$mode" = "--update" ]; then
    [ -f "$out/$file" ] || { echo "update [$case_name]: the run wrote no '$file'" >&2; exit 1; }
    mkdir -p "$references" && cp "$out/$file" "$references/$file" &&
      echo "updated $references/$file"
    return
  fi
  "$compare" "$@" "$out/$file" "$references/$file"
  local rc=$?
  [ $rc -eq 0 ] || failures=$((failures + 1))
  [ $rc -le 1 ] ||
    { echo "FAIL [$case_name]: golden_compare could not compare '$file'" >&2; exit 2; }
}

# The tolerances the case files name (LCF_MAP, STATUS_MAP...), each justified there.
# shellcheck source=tolerances.sh
source "$golden/tolerances.sh"
# shellcheck source=/dev/null
source "$case_file"

if [ "$mode" = "--update" ]; then
  rm -rf "$out"
  exit 0
fi
if [ "$failures" -ne 0 ]; then
  echo "FAIL [$case_name]: $failures file(s) differ from tests/golden/references/$case_name;" \
    "the run is in $out" >&2
  exit 1
fi
rm -rf "$out"
echo "PASS [$case_name]"
