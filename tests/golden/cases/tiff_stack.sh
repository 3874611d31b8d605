# Guards the TIFF input: multi-page stack, energy list, flat per energy, averaged darks, --no-align.
# shellcheck shell=bash disable=SC2086  # read by run_case.sh; the tolerances are split on purpose
map input/tiff/raw.tif --energies input/tiff/energies.txt --flat input/tiff/flat.tif \
  --dark input/tiff/dark.tif --no-align
check valence.tif   $LCF_MAP
check edge_jump.tif $OD_MAP
check status.tif    $STATUS_MAP
