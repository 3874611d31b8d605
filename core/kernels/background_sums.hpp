// Registration's pass for a frame's constant background (core/registration/translation.cpp,
// prepare_constant): a sample of the frame's pixels for the median, then one pass over every
// row for the robust constant's sums. core/kernels/dispatch.hpp says how a version is chosen.
#pragma once

#include <cstddef>
#include <vector>

#include "core/base/image.hpp"
#include "core/kernels/dispatch.hpp"

namespace xanesmap::kernels {

/// The finite values among every `step`-th pixel of `image` (in row-major pixel order, pixel 0
/// first), as double, appended to `out` in that order. The samples lie a few cache lines apart
/// (every 64th pixel of a 2048 px frame): a cache hint for the one 32 samples on keeps the
/// misses overlapped.
void sample_finite_pixels(ImageView<const float> image, std::size_t step, std::vector<double>& out);

/// The sums of one row, over its finite pixels v (NaN and +-Inf excluded): their count, sum x and
/// sum x^2 with x = v - median, the count and sum x of those with v in [lo, hi], and max |v|.
struct BackgroundRowSums {
  double n = 0, s = 0, s2 = 0, n_band = 0, s_band = 0, max_abs = 0;
};

/// BackgroundRowSums of row p[0, w), and x = v - median written to q (0 for the pixels not
/// finite). In vector lanes (two doubles, or four with AVX2), summed in a fixed order at the end
/// of the row: the versions' q, counts and max_abs are equal, their sums equal up to the rounding
/// of a different order of additions (the registration's results depend on the instruction set
/// at that level). The pass does much arithmetic per byte read (~12 cycles per 16 bytes): each
/// version asks for the line 8 KB ahead (kernels::prefetch_ahead says why).
BackgroundRowSums background_row_sums(const float* p, std::size_t w, double median, double lo,
                                      double hi, float* q);

namespace plain {
void sample_finite_pixels(ImageView<const float> image, std::size_t step, std::vector<double>& out);
BackgroundRowSums background_row_sums(const float* p, std::size_t w, double median, double lo,
                                      double hi, float* q);
}  // namespace plain

namespace detail {
using BackgroundRowSumsFn = BackgroundRowSums (*)(const float*, std::size_t, double, double, double,
                                                  float*);
BackgroundRowSumsFn background_row_sums_for(Isa isa);
}  // namespace detail

}  // namespace xanesmap::kernels
