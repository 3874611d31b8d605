#include "core/kernels/shift_taps.hpp"

#include <cmath>

#include "core/kernels/prefetch.hpp"

namespace xanesmap::kernels {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kMax = std::numeric_limits<float>::max();

// Each loop is written once, as an always-inlined body, and compiled into a plain x86-64 and an
// AVX2 function (the build targets plain x86-64): the compiler vectorizes the inlined body for
// the function's target. The same operations per element in the same order (no fused
// multiply-add), so the results are identical. __restrict: the rows never overlap, which lets
// the loops vectorize without run-time overlap checks.

[[gnu::always_inline]] inline void cubic_body(const float* __restrict src, std::size_t n,
                                              const float* wc, float* __restrict dst,
                                              float* __restrict low, float* __restrict high) {
  const float w0 = wc[0], w1 = wc[1], w2 = wc[2], w3 = wc[3];
  for (std::size_t c = 0; c < n; ++c) {
    const float a = src[c], b = src[c + 1], d = src[c + 2], e = src[c + 3];
    dst[c] = ((w0 * a + w1 * b) + w2 * d) + w3 * e;
    low[c] = min_ignoring_nan(min_ignoring_nan(kInf, b), d);
    high[c] = max_ignoring_nan(max_ignoring_nan(-kInf, b), d);
  }
}

[[gnu::always_inline]] inline void copy_body(const float* __restrict src, std::size_t n,
                                             float* __restrict dst, float* __restrict low,
                                             float* __restrict high) {
  for (std::size_t c = 0; c < n; ++c) {
    const float a = src[c];
    dst[c] = a;
    low[c] = min_ignoring_nan(kInf, a);
    high[c] = max_ignoring_nan(-kInf, a);
  }
}

[[gnu::always_inline]] inline void combine_body(const float* const* f, int count, const float* wy,
                                                const float* low0, const float* low1,
                                                const float* high0, const float* high1,
                                                std::size_t n, float* __restrict out,
                                                std::uint8_t* __restrict marks) {
  const float w0 = wy[0], w1 = wy[1], w2 = wy[2], w3 = wy[3];
  const float* __restrict f0 = f[0];
  const float* __restrict f1 = f[1];
  const float* __restrict f2 = f[2];
  const float* __restrict f3 = f[3];
  auto put = [&](std::size_t c, float v, float lo, float hi) {
    const float x = v < lo ? lo : (hi < v ? hi : v);  // NaN v stays NaN
    out[c] = x;
    marks[c] |= static_cast<std::uint8_t>(!(std::abs(x) <= kMax));
  };
  if (count == 4) {
    for (std::size_t c = 0; c < n; ++c)
      put(c, ((w0 * f0[c] + w1 * f1[c]) + w2 * f2[c]) + w3 * f3[c],
          min_ignoring_nan(low0[c], low1[c]), max_ignoring_nan(high0[c], high1[c]));
  } else if (count == 2) {
    for (std::size_t c = 0; c < n; ++c)
      put(c, w0 * f0[c] + w1 * f1[c], min_ignoring_nan(low0[c], low1[c]),
          max_ignoring_nan(high0[c], high1[c]));
  } else {
    for (std::size_t c = 0; c < n; ++c) put(c, w0 * f0[c], low0[c], high0[c]);
  }
}

[[gnu::always_inline]] inline void mark_body(const float* __restrict values, std::size_t n,
                                             std::uint8_t* __restrict marks) {
  for (std::size_t i = 0; i < n; ++i)
    marks[i] |= static_cast<std::uint8_t>(!(std::abs(values[i]) <= kMax));
}

__attribute__((target("avx2"))) void cubic_avx2(const float* __restrict src, std::size_t n,
                                                const float* wc, float* __restrict dst,
                                                float* __restrict low, float* __restrict high) {
  cubic_body(src, n, wc, dst, low, high);
}
__attribute__((target("avx2"))) void copy_avx2(const float* __restrict src, std::size_t n,
                                               float* __restrict dst, float* __restrict low,
                                               float* __restrict high) {
  copy_body(src, n, dst, low, high);
}
__attribute__((target("avx2"))) void combine_avx2(const float* const* f, int count, const float* wy,
                                                  const float* low0, const float* low1,
                                                  const float* high0, const float* high1,
                                                  std::size_t n, float* __restrict out,
                                                  std::uint8_t* __restrict marks) {
  combine_body(f, count, wy, low0, low1, high0, high1, n, out, marks);
}
__attribute__((target("avx2"))) void mark_avx2(const float* __restrict values, std::size_t n,
                                               std::uint8_t* __restrict marks) {
  mark_body(values, n, marks);
}

}  // namespace

namespace plain {
void cubic_row(const float* __restrict src, std::size_t n, const float* weights,
               float* __restrict dst, float* __restrict low, float* __restrict high) {
  cubic_body(src, n, weights, dst, low, high);
}
void copy_row(const float* __restrict src, std::size_t n, float* __restrict dst,
              float* __restrict low, float* __restrict high) {
  copy_body(src, n, dst, low, high);
}
void combine_rows(const float* const* f, int count, const float* wy, const float* low0,
                  const float* low1, const float* high0, const float* high1, std::size_t n,
                  float* __restrict out, std::uint8_t* __restrict marks) {
  combine_body(f, count, wy, low0, low1, high0, high1, n, out, marks);
}
void mark_not_finite(const float* __restrict values, std::size_t n,
                     std::uint8_t* __restrict marks) {
  mark_body(values, n, marks);
}
}  // namespace plain

namespace detail {
CubicRowFn cubic_row_for(Isa isa) { return choose<CubicRowFn>(isa, plain::cubic_row, cubic_avx2); }
CopyRowFn copy_row_for(Isa isa) { return choose<CopyRowFn>(isa, plain::copy_row, copy_avx2); }
CombineRowsFn combine_rows_for(Isa isa) {
  return choose<CombineRowsFn>(isa, plain::combine_rows, combine_avx2);
}
MarkNotFiniteFn mark_not_finite_for(Isa isa) {
  return choose<MarkNotFiniteFn>(isa, plain::mark_not_finite, mark_avx2);
}
}  // namespace detail

void cubic_row(const float* src, std::size_t n, const float* weights, float* dst, float* low,
               float* high, std::span<const float> upcoming) {
  static const detail::CubicRowFn chosen = detail::cubic_row_for(active_isa());
  prefetch_to_l2(upcoming.data(), upcoming.size());
  chosen(src, n, weights, dst, low, high);
}

void copy_row(const float* src, std::size_t n, float* dst, float* low, float* high,
              std::span<const float> upcoming) {
  static const detail::CopyRowFn chosen = detail::copy_row_for(active_isa());
  prefetch_to_l2(upcoming.data(), upcoming.size());
  chosen(src, n, dst, low, high);
}

void combine_rows(const float* const* f, int count, const float* wy, const float* low0,
                  const float* low1, const float* high0, const float* high1, std::size_t n,
                  float* out, std::uint8_t* marks) {
  static const detail::CombineRowsFn chosen = detail::combine_rows_for(active_isa());
  chosen(f, count, wy, low0, low1, high0, high1, n, out, marks);
}

void mark_not_finite(const float* values, std::size_t n, std::uint8_t* marks) {
  static const detail::MarkNotFiniteFn chosen = detail::mark_not_finite_for(active_isa());
  chosen(values, n, marks);
}

}  // namespace xanesmap::kernels
