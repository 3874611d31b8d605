// The normalization fits' loops over frames (core/spectral/spectrum_normalizer.cpp,
// SpectrumNormalizer::fit_columns and apply): per column of a tile, weighted sums of the
// frames' values (the pre- and post-edge polynomial coefficients, by their pseudo-inverses),
// the pre-edge line's squared residuals, and the normalized spectrum. Per column every sum takes
// its terms in frame order, as SpectrumNormalizer::fit adds them for one spectrum, so every
// version (plain x86-64, AVX2) gives the same bits; core/kernels/dispatch.hpp says how one is
// chosen.
#pragma once

#include <cstddef>

#include "core/kernels/dispatch.hpp"

namespace xanesmap::kernels {

/// Columns [0, count) of a stack of frames stored one after the other: frame j's values start
/// at values + j * stride. `next`: how many columns after the tile the caller reads next
/// (requested into L2 while this tile is summed; 0: none).
struct FrameTile {
  const float* values = nullptr;
  std::size_t stride = 0, count = 0, next = 0;
  const float* frame(std::size_t j) const { return values + j * stride; }
};

/// For frames first + j, j in [0, frames): a0[c] += w0[j] v_j[c] and a1[c] += w1[j] v_j[c],
/// in j order. Four frames per pass over the accumulators (a quarter of their loads and stores;
/// on the bench's 2048 x 2048 x 100, fit_columns 0.064 -> 0.044 s), each accumulator still
/// taking its terms in frame order. The next tile's values of each frame are requested into L2
/// as the frame is read: the frames lie a whole image apart, in different pages, so each
/// tile's read of a frame is a short run the hardware prefetcher does not see coming (measured
/// on the bench: fit_columns 0.044 -> 0.035 s with 2 threads; a prefetch into L1 was slower).
void weighted_frame_sums2(const FrameTile& tile, std::size_t first, std::size_t frames,
                          const double* w0, const double* w1, double* a0, double* a1);

/// The same with three weights (a quadratic's coefficients from one read of each frame row),
/// one frame per pass.
void weighted_frame_sums3(const FrameTile& tile, std::size_t first, std::size_t frames,
                          const double* w0, const double* w1, const double* w2, double* a0,
                          double* a1, double* a2);

/// rss[c] += r * r with r = v_j[c] - (p0[c] + p1[c] x[j]), frames first + j in j order (the
/// pre-edge line's residuals), four frames per pass over the accumulators.
void line_residual_squares(const FrameTile& tile, std::size_t first, std::size_t frames,
                           const double* x, const double* p0, const double* p1, double* rss);

namespace detail {
using NormalizeRangeFn = void (*)(const double*, const double*, double*, std::size_t, std::size_t,
                                  double, double, double, double, double, double, bool);
NormalizeRangeFn normalize_range_for(Isa isa);
}  // namespace detail

/// SpectrumNormalizer::apply over points [begin, end): with pre = a + b x[i],
/// out[i] = (mu[i] - pre) * inv_step below e0 (flat false), and with flat the flattened value
/// ((mu[i] - pre) * inv_step) - ((post - pre) * inv_step - 1), post = p0 + x (p1 + x p2).
/// Called per spectrum: dispatched inline.
inline void normalize_range(const double* x, const double* mu, double* out, std::size_t begin,
                            std::size_t end, double a, double b, double p0, double p1, double p2,
                            double inv_step, bool flat) {
  static const detail::NormalizeRangeFn chosen = detail::normalize_range_for(active_isa());
  chosen(x, mu, out, begin, end, a, b, p0, p1, p2, inv_step, flat);
}

namespace plain {
void weighted_frame_sums2(const FrameTile& tile, std::size_t first, std::size_t frames,
                          const double* w0, const double* w1, double* a0, double* a1);
void weighted_frame_sums3(const FrameTile& tile, std::size_t first, std::size_t frames,
                          const double* w0, const double* w1, const double* w2, double* a0,
                          double* a1, double* a2);
void line_residual_squares(const FrameTile& tile, std::size_t first, std::size_t frames,
                           const double* x, const double* p0, const double* p1, double* rss);
void normalize_range(const double* x, const double* mu, double* out, std::size_t begin,
                     std::size_t end, double a, double b, double p0, double p1, double p2,
                     double inv_step, bool flat);
}  // namespace plain

namespace detail {
using FrameSums2Fn = void (*)(const FrameTile&, std::size_t, std::size_t, const double*,
                              const double*, double*, double*);
using FrameSums3Fn = void (*)(const FrameTile&, std::size_t, std::size_t, const double*,
                              const double*, const double*, double*, double*, double*);
using LineResidualsFn = void (*)(const FrameTile&, std::size_t, std::size_t, const double*,
                                 const double*, const double*, double*);
FrameSums2Fn weighted_frame_sums2_for(Isa isa);
FrameSums3Fn weighted_frame_sums3_for(Isa isa);
LineResidualsFn line_residual_squares_for(Isa isa);
}  // namespace detail

}  // namespace xanesmap::kernels
