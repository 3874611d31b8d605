#!/usr/bin/env bash
# The main job on the shipped example: install, build, simulate a drifting scan from the measured
# Mn references in examples/mn-k, describe it, and map its Mn valence (registering the energy
# frames first). Outputs go to ./demo and ./demo-maps (replaced on each run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
exe=build/release/apps/xanesmap
"$exe" simulate --out demo --force --refs examples/mn-k/references.toml
"$exe" info demo/scan.h5
"$exe" map demo/scan.h5 --out demo-maps --force --refs examples/mn-k/references.toml
echo
echo "demo/scan.h5          the simulated scan (FXI layout: img_xanes, img_bkg, img_dark, X_eng)"
echo "demo/tiff/            the same scan as TIFFs with energies.txt"
echo "demo/truth_valence.tif  the true Mn valence map (opens in Fiji with its 30 nm pixel size)"
echo "demo/truth.h5         every ground-truth map, the drift, the particles"
echo "demo-maps/            valence.tif (Fiji), valence.png, drift.png, shifts.csv, summary.json, results.h5, ..."
