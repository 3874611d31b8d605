# shellcheck shell=bash disable=SC2034  # sourced by run_case.sh; the case files use them
# The golden_compare tolerances the case files name, one set per kind of output (sourced by
# run_case.sh). They allow for floating-point differences between compilers, CPUs and library
# builds, not for a change of the algorithm: that needs new references (update.sh).
#
# What they rest on (measured on the committed input, x86-64 with AVX-512, GCC 12, Debian's
# FFTW 3.3 / OpenCV 4.6 / Eigen 3.4; tests/golden/README.md):
# - Other paths on this machine: XANESMAP_NO_AVX2=1, XANESMAP_NO_AVX512=1, both, OpenCV's AVX,
#   AVX2 and FMA3 dispatch disabled (OPENCV_CPU_DISABLE), and --threads 1, 3 and 8 all give maps,
#   labels and particles.csv bit-identical to the references. Only shifts.csv moves: without AVX2
#   73 of its 136 numbers differ, by at most 1e-15 (registration's FFT-side sums). A clang 14
#   release build gives every checked file bit-identical, shifts.csv included.
# - Stress: the registered shifts given back with --shifts, each perturbed by +-1e-12 px, +-1e-9 px
#   and +-1e-6 px. 1e-12 px (1000 x the measured path difference) leaves every map bit-identical;
#   1e-6 px moves the OD of edge pixels by about a float32 rounding step, the size of difference a
#   libm or FFT build of another platform can make, and gives the largest changes below. No
#   status or label changed in any run. Each threshold lies at least 2x (most 10x or more) above
#   what the 1e-6 px stress gave, and far below a change anyone would read in a map.

# Categorical maps (status.tif codes, labels.tif particle ids): exact. A flip needs a pixel within
# ~1e-7 (relative) of a mask, fit or segmentation threshold; none flipped under any stress.
STATUS_MAP="--fail-threshold 0 --fail-fraction 0"
LABEL_MAP="--fail-threshold 0 --fail-fraction 0"

# LCF valence (valence units). Stress: at most 6.7e-6 (simplex, 3072 px) and 4.5e-5 (sum-to-one
# with --align-refs); no pixel above 1e-4. 6 px (0.2 %) may fail, for pixels whose fit sits where
# a fraction meets its bound; none may move by 0.01, a tenth of the valence step maps are read at.
LCF_MAP="--fail-threshold 1e-4 --fail-fraction 0.002 --hard-max 0.01"
# LCF fractions (0..1; sum-to-one lets them leave it). Stress: at most 1.5e-4 at 2 px, 5 px above
# 1e-5 (fraction_MnO2, sum-to-one): the threshold is 2x that maximum, the rest as LCF_MAP.
FRACTION_MAP="--fail-threshold 3e-4 --fail-fraction 0.002 --hard-max 0.01"
# LCF valence sigma (valence units; 0.07-0.3 typical, up to ~50 at ill-conditioned pixels). It
# jumps where a simplex fraction reaches 0 (the covariance loses a dimension): stress moved one
# pixel by 2.6e-3, 6 by more than 1e-5. 15 px (0.5 %) may fail; none by more than 1.
SIGMA_MAP="--fail-threshold 1e-4 --fail-fraction 0.005 --hard-max 1"
# Edge jump (OD; the mask starts at 0.02 OD). Stress: at most 1.4e-7 (a few float32 steps at
# 0.3 OD). None may move by 1e-4 OD, 0.5 % of the mask threshold.
OD_MAP="--fail-threshold 1e-6 --fail-fraction 0.002 --hard-max 1e-4"
# Edge energy (eV, float32 around 6550 eV, whose step is 4.9e-4 eV). Stress: 4 px moved by one
# step. Threshold 2 steps; none may move by 0.05 eV (the edge-energy histogram's bins are 0.25 eV).
EDGE_ENERGY_MAP="--fail-threshold 1e-3 --fail-fraction 0.002 --hard-max 0.05"
# Valence from the edge calibration (valence units; 0.2-0.6 valence per eV of edge energy).
# Stress: at most 1.4e-5, 1 px above 1e-5: as LCF_MAP.
EDGE_VALENCE_MAP="$LCF_MAP"

# shifts.csv (px; quality 0..1). Measured path difference 1e-15; maps do not move for 1e-12 px
# and stay inside the map tolerances above for 1e-6 px, which is therefore the tolerance.
SHIFTS_CSV="--abs-tol 1e-6"
# particles.csv (pixel counts, um, px, valence, eV). Stress: valence means by 1.7e-7, the mean
# edge energy by 1.5e-5 eV at 6548 eV; counts unchanged. 1e-6 + 1e-6 x |reference| holds counts
# exact (below 1e6 px), valences to ~5e-6 and edge energies to ~7e-3 eV.
TABLE_CSV="--abs-tol 1e-6 --rel-tol 1e-6"
