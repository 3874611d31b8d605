# Guards the default run on a drifting stack: registration, LCF valence and sigma, mask, particles.
# shellcheck shell=bash disable=SC2086  # read by run_case.sh; the tolerances are split on purpose
map input/scan.h5
check valence.tif       $LCF_MAP
check valence_sigma.tif $SIGMA_MAP
check edge_jump.tif     $OD_MAP
check status.tif        $STATUS_MAP
check labels.tif        $LABEL_MAP
check shifts.csv        $SHIFTS_CSV
check particles.csv     $TABLE_CSV
