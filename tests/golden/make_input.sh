#!/usr/bin/env bash
# Makes the golden input (tests/golden/input/) with the simulator. It is committed; this script
# only records how it was made. Do not re-run it casually: a new input needs new references for
# every case (update.sh), and the commit must say why the input changed. The simulator is
# deterministic in the counts (docs/simulator.md), but scan.h5's provenance holds the run's time,
# so the file's bytes differ on every run.
#
# Usage: tests/golden/make_input.sh XANESMAP    (e.g. build/release/apps/xanesmap)
#
# - input/scan.h5 (FXI layout, ~440 KB): 48 x 64 px (not square, so that a row/column mix-up
#   shows), 50 nm pixels, the 'mixed' scene of seed 3 (three Mn particles of different valence
#   profiles), 4 px drift, the Mn edge jump at 0.15 OD/um (three times the default, so that few
#   pixels sit at the mask thresholds, where a rounding difference would flip their status).
# - input/tiff/ (~180 KB): raw.tif, flat.tif (one flat per energy), dark.tif (3 frames),
#   energies.txt: 40 x 32 px, the 'single' scene of seed 5, no drift.
# - input/shifts.csv: the registration's shifts of scan.h5 rounded to 0.01 px, as a user might
#   give them with --shifts (the given-shifts case).
set -eu
exe=$1
golden=$(cd "$(dirname "$0")" && pwd)
refs=$golden/../../examples/mn-k/references.toml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--energies "$golden/input/grid.txt" --pixel-size-nm 50 --mn-jump-per-um 0.15
        --dark-frames 3 --refs "$refs" -q)

"$exe" simulate --out "$work/scan" --height 48 --width 64 --preset mixed --seed 3 --drift-px 4 \
  --no-tiff "${common[@]}"
"$exe" simulate --out "$work/tiff" --height 40 --width 32 --preset single --seed 5 --drift-px 0 \
  "${common[@]}"
XANESMAP_FFTW_WISDOM=off "$exe" map "$work/scan/scan.h5" --out "$work/maps" --refs "$refs" -q \
  >/dev/null

mkdir -p "$golden/input/tiff"
cp "$work/scan/scan.h5" "$golden/input/scan.h5"
cp "$work/tiff/tiff/"{raw.tif,flat.tif,dark.tif,energies.txt} "$golden/input/tiff/"
awk -F, 'NR == 1 { print; next } { printf "%s,%.2f,%.2f,%.3f\n", $1, $2, $3, $4 }' \
  "$work/maps/shifts.csv" > "$golden/input/shifts.csv"
echo "wrote $golden/input: scan.h5, tiff/, shifts.csv"
