# Guards --shifts: a given shifts table (input/shifts.csv) is applied as given, not re-registered.
# shellcheck shell=bash disable=SC2086  # read by run_case.sh; the tolerances are split on purpose
map input/scan.h5 --shifts input/shifts.csv
check valence.tif $LCF_MAP
check status.tif  $STATUS_MAP
check shifts.csv  $SHIFTS_CSV
