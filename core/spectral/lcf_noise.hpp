// First-order propagation of the measurement noise to an LCF valence (docs/method.md), for
// batches of pixels: the per-pixel loop of the valence pass, pulled out so that it can run on
// several pixels at once.
//
// For one pixel with valence gradient c (LinearCombinationFit::valence_gradient), edge step s
// and noise levels sigma_pre (pre-edge points) and sigma_fit (the others):
//   w_j = (sum_k c_k M_kj) / s,   variance = sum_j sigma_j^2 w_j^2,
// where M = A' N (K x n) maps the raw spectrum to the fitted parameters through normalization.
// The sums run in j order, each term computed as ((sigma_j sigma_j) w_j) w_j.
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "core/spectral/reference_fit.hpp"

namespace xanesmap {

/// What every pixel of a pass shares.
struct LcfNoiseModel {
  std::span<const double> noise_map;  // M, K x n, row-major
  std::size_t references = 0;         // K, at most kMaxLcfReferences
  std::size_t points = 0;             // n
  std::size_t pre_begin = 0,
              pre_end = 0;  // the pre-edge points [pre_begin, pre_end) carry sigma_pre
};

/// One pixel's inputs.
struct LcfNoisePixel {
  std::array<double, kMaxLcfReferences> gradient{};  // c; entries beyond K are not read
  double edge_step_od = 0.0;                         // s
  double pre_noise_od = 0.0;                         // sigma_pre
  double fit_noise_od = 0.0;                         // sigma_fit
};

/// The variance of one pixel's valence, term by term as described above.
double lcf_valence_variance(const LcfNoiseModel& model, const LcfNoisePixel& pixel);

/// lcf_valence_variance of every pixel into `variance` (same size as `pixels`). With AVX2, four
/// pixels at a time, one per lane: the same operations on each pixel's values in the same
/// order, so the same bits as the one-pixel function (tested). One pixel at a time the loop
/// waits on the sum's chain of additions and on a division per point.
void lcf_valence_variances(const LcfNoiseModel& model, std::span<const LcfNoisePixel> pixels,
                           std::span<double> variance);

}  // namespace xanesmap
