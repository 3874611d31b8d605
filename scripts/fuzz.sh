#!/usr/bin/env bash
# Fuzzes xanesmap's text parsers with libFuzzer (tests/fuzz/fuzz_text_parsers.cpp): builds the
# harness with clang, ASan and UBSan in build/fuzz (only the parsers' sources, see
# tests/fuzz/CMakeLists.txt), then runs the four parsers (energy lists, reference spectra,
# reference manifests, shifts tables) side by side for XANESMAP_FUZZ_SECONDS each (default 20:
# with the first build, about 75 s on two cores; the bugs found so far came within seconds, and
# 150 s per parser found nothing more).
# Seeds: tests/fuzz/corpus/<parser>/ plus the shipped examples/mn-k files. New inputs libFuzzer
# finds stay in build/fuzz/corpus-<parser>/ and seed the next run; a crash is written to
# build/fuzz/artifacts/ and fails the script (replay it: build/fuzz/tests/fuzz/fuzz_text_parsers FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${XANESMAP_FUZZ_SECONDS:-20}
cxx=${XANESMAP_FUZZ_CXX:-clang++}
cc=${XANESMAP_FUZZ_CC:-clang}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found; libFuzzer needs clang (apt-get install clang)" >&2
  exit 1
fi
build=${XANESMAP_FUZZ_BUILD_DIR:-build/fuzz}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_C_COMPILER="$cc" -DXANESMAP_BUILD_TESTS=OFF -DXANESMAP_BUILD_FUZZERS=ON >/dev/null
cmake --build "$build" --target fuzz_text_parsers
fuzzer=$build/tests/fuzz/fuzz_text_parsers
mkdir -p "$build/artifacts"

declare -A pids
for parser in energies spectrum manifest shifts; do
  corpus=$build/corpus-$parser   # first folder: libFuzzer adds what it finds here
  mkdir -p "$corpus"
  seeds=(tests/fuzz/corpus/$parser)
  case $parser in
    spectrum) seeds+=(examples/mn-k) ;;
    manifest) cp examples/mn-k/references.toml "$corpus/shipped_references.toml" ;;
  esac
  # -max_len 4096: the shipped spectra are up to 53 kB; their first 4 kB hold every kind of line
  # (header, comments, data), and short inputs keep thousands of runs per second.
  XANESMAP_FUZZ_PARSER=$parser "$fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$parser-" \
    "$corpus" "${seeds[@]}" >"$build/$parser.log" 2>&1 &
  pids[$parser]=$!
done
status=0
for parser in energies spectrum manifest shifts; do
  if wait "${pids[$parser]}"; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$parser.log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz $parser: ok ($runs inputs in ${seconds} s)"
  else
    echo "fuzz $parser: FINDING (log: $build/$parser.log)" >&2
    tail -n 40 "$build/$parser.log" >&2
    status=1
  fi
done
exit $status
