#include "core/kernels/background_sums.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/kernels/prefetch.hpp"

namespace xanesmap::kernels {

namespace {

// background_row_sums in WIDTH-double vector lanes (D: WIDTH doubles, F: WIDTH floats), written
// once and compiled into a plain x86-64 (2 lanes) and an AVX2 (4 lanes) function. Each lane
// sums its own columns; the lanes are added in lane order after the row, then the columns left
// over one by one.
using Doubles2 = double __attribute__((vector_size(16)));
using Floats2 = float __attribute__((vector_size(8)));
using Doubles4 = double __attribute__((vector_size(32)));
using Floats4 = float __attribute__((vector_size(16)));

template <class D, class F, int WIDTH>
[[gnu::always_inline]] inline BackgroundRowSums row_sums_body(const float* p, std::size_t w,
                                                              double median, double lo, double hi,
                                                              float* q) {
  const D zero = {}, one = zero + 1.0, med = zero + median, low = zero + lo, high = zero + hi;
  D n = zero, s = zero, s2 = zero, bn = zero, bs = zero, mx = zero;
  std::size_t c = 0;
  for (; c + WIDTH <= w; c += WIDTH) {
    if (c % 16 == 0) prefetch_ahead(p + c);
    F vf;
    std::memcpy(&vf, p + c, sizeof vf);
    const D v = __builtin_convertvector(vf, D);
    const auto finite = (v - v) == zero;  // false for NaN and +-Inf
    const D x = finite ? v - med : zero;
    const auto band = finite & (v >= low) & (v <= high);
    n += finite ? one : zero;
    s += x;
    s2 += x * x;
    bn += band ? one : zero;
    bs += band ? x : zero;
    const D a = finite ? (v < zero ? -v : v) : zero;
    mx = mx < a ? a : mx;
    const F xf = __builtin_convertvector(x, F);
    std::memcpy(q + c, &xf, sizeof xf);
  }
  BackgroundRowSums t;
  for (int lane = 0; lane < WIDTH; ++lane) {
    t.n += n[lane], t.s += s[lane], t.s2 += s2[lane], t.n_band += bn[lane], t.s_band += bs[lane];
    t.max_abs = std::max(t.max_abs, mx[lane]);
  }
  for (; c < w; ++c) {
    const double v = p[c];
    const bool finite = v - v == 0.0;
    const double x = finite ? v - median : 0.0;
    const bool in_band = finite && v >= lo && v <= hi;
    t.n += finite ? 1.0 : 0.0, t.s += x, t.s2 += x * x;
    t.n_band += in_band ? 1.0 : 0.0, t.s_band += in_band ? x : 0.0;
    t.max_abs = std::max(t.max_abs, finite ? std::abs(v) : 0.0);
    q[c] = static_cast<float>(x);
  }
  return t;
}

__attribute__((target("avx2"))) BackgroundRowSums row_sums_avx2(const float* p, std::size_t w,
                                                                double median, double lo, double hi,
                                                                float* q) {
  return row_sums_body<Doubles4, Floats4, 4>(p, w, median, lo, hi, q);
}

template <bool kHints>
void sample_body(ImageView<const float> image, std::size_t step, std::vector<double>& out) {
  const std::size_t w = image.width(), n_pixels = image.height() * w;
  constexpr std::size_t kAheadSamples = 32;
  for (std::size_t index = 0; index < n_pixels; index += step) {
    if constexpr (kHints)
      if (const std::size_t next = index + kAheadSamples * step; next < n_pixels)
        prefetch_ahead(&image(next / w, next % w), 0);
    const float v = image(index / w, index % w);
    if (std::isfinite(v)) out.push_back(v);
  }
}

}  // namespace

namespace plain {
void sample_finite_pixels(ImageView<const float> image, std::size_t step,
                          std::vector<double>& out) {
  sample_body<false>(image, step, out);
}
BackgroundRowSums background_row_sums(const float* p, std::size_t w, double median, double lo,
                                      double hi, float* q) {
  return row_sums_body<Doubles2, Floats2, 2>(p, w, median, lo, hi, q);
}
}  // namespace plain

namespace detail {
BackgroundRowSumsFn background_row_sums_for(Isa isa) {
  return choose<BackgroundRowSumsFn>(isa, plain::background_row_sums, row_sums_avx2);
}
}  // namespace detail

void sample_finite_pixels(ImageView<const float> image, std::size_t step,
                          std::vector<double>& out) {
  sample_body<true>(image, step, out);
}

BackgroundRowSums background_row_sums(const float* p, std::size_t w, double median, double lo,
                                      double hi, float* q) {
  static const detail::BackgroundRowSumsFn chosen = detail::background_row_sums_for(active_isa());
  return chosen(p, w, median, lo, hi, q);
}

}  // namespace xanesmap::kernels
