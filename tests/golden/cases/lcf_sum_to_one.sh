# Guards the LCF variants: fractions summing to one (may go negative), --align-refs, --no-flatten.
# shellcheck shell=bash disable=SC2086  # read by run_case.sh; the tolerances are split on purpose
map input/scan.h5 --lcf-constraint sum-to-one --align-refs --no-flatten
check valence.tif       $LCF_MAP
check fraction_MnO2.tif $FRACTION_MAP
check status.tif        $STATUS_MAP
