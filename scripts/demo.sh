#!/usr/bin/env bash
# The main job on the shipped example: install, build, simulate a drifting scan from the measured
# Mn references in examples/mn-k, describe it, and map its Mn valence (registering the energy
# frames first); then the pristine-versus-coated story: a cycled uncoated and a cycled
# AlPO4-coated sample, mapped and compared. Outputs go to ./demo, ./demo-maps and ./demo-cycled
# (replaced on each run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
exe=build/release/apps/xanesmap
"$exe" simulate --out demo --force --refs examples/mn-k/references.toml
"$exe" info demo/scan.h5
"$exe" map demo/scan.h5 --out demo-maps --force --refs examples/mn-k/references.toml
mkdir -p demo-cycled
for sample in uncoated coated; do
  "$exe" simulate --out "demo-cycled/$sample-scan" --preset "$sample" --size 384 --seed 7 --no-tiff --force \
    --refs examples/mn-k/references.toml
  "$exe" map "demo-cycled/$sample-scan/scan.h5" --out "demo-cycled/$sample-maps" --force \
    --refs examples/mn-k/references.toml
done
"$exe" compare demo-cycled/uncoated-maps demo-cycled/coated-maps --labels "uncoated (200 cycles),coated (200 cycles)" \
  --scale 3.0 4.0 --out demo-cycled/comparison --force
echo
echo "demo/scan.h5          the simulated scan (FXI layout: img_xanes, img_bkg, img_dark, X_eng)"
echo "demo/tiff/            the same scan as TIFFs with energies.txt"
echo "demo/truth_valence.tif  the true Mn valence map (opens in Fiji with its 30 nm pixel size)"
echo "demo/truth.h5         every ground-truth map, the drift, the particles"
echo "demo-maps/            valence.tif (Fiji), valence.png, particles.csv, histogram.png, summary.json, results.h5, ..."
echo "demo-cycled/          uncoated and coated cycled samples: scans, maps, and comparison/ (comparison.md, valence_maps.png)"
