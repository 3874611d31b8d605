# Guards --method edge: half-height edge energies and the valence calibrated from the references.
# shellcheck shell=bash disable=SC2086  # read by run_case.sh; the tolerances are split on purpose
map input/scan.h5 --method edge
check valence.tif     $EDGE_VALENCE_MAP
check edge_energy.tif $EDGE_ENERGY_MAP
check status.tif      $STATUS_MAP
