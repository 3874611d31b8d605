#include "core/kernels/frame_sums.hpp"

#include "core/kernels/prefetch.hpp"

namespace xanesmap::kernels {

namespace {

// Each loop is written once, as an always-inlined body, and compiled into a plain x86-64 and an
// AVX2 function (the build targets plain x86-64): the compiler vectorizes the inlined body for
// the function's target. The same operations per element in the same order (no fused
// multiply-add), so the sums are identical.

// Two weighted sums from one read of the row.
[[gnu::always_inline]] inline void row_sums2(const float* row, double w0, double w1, double* p0,
                                             double* p1, std::size_t count) {
  for (std::size_t c = 0; c < count; ++c) {
    const double v = row[c];
    p0[c] += w0 * v;
    p1[c] += w1 * v;
  }
}

// row_sums2 of four frame rows in one pass over the accumulators: each accumulator still takes
// its terms in frame order, so the sums are those of four row_sums2 calls.
[[gnu::always_inline]] inline void row_sums2x4(const float* const* rows, const double* w0,
                                               const double* w1, double* p0, double* p1,
                                               std::size_t count) {
  const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
  for (std::size_t c = 0; c < count; ++c) {
    const double v0 = r0[c], v1 = r1[c], v2 = r2[c], v3 = r3[c];
    p0[c] = (((p0[c] + w0[0] * v0) + w0[1] * v1) + w0[2] * v2) + w0[3] * v3;
    p1[c] = (((p1[c] + w1[0] * v0) + w1[1] * v1) + w1[2] * v2) + w1[3] * v3;
  }
}

// The three coefficients of a quadratic from one read of the row.
[[gnu::always_inline]] inline void row_sums3(const float* row, double w0, double w1, double w2,
                                             double* q0, double* q1, double* q2,
                                             std::size_t count) {
  for (std::size_t c = 0; c < count; ++c) {
    const double v = row[c];
    q0[c] += w0 * v;
    q1[c] += w1 * v;
    q2[c] += w2 * v;
  }
}

[[gnu::always_inline]] inline void rss_row(const float* row, double x, const double* p0,
                                           const double* p1, double* rss, std::size_t count) {
  for (std::size_t c = 0; c < count; ++c) {
    const double r = row[c] - (p0[c] + p1[c] * x);
    rss[c] += r * r;
  }
}

// rss_row of four frame rows in one pass, the squares added in frame order.
[[gnu::always_inline]] inline void rss_row_x4(const float* const* rows, const double* x,
                                              const double* p0, const double* p1, double* rss,
                                              std::size_t count) {
  const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
  for (std::size_t c = 0; c < count; ++c) {
    const double a = p0[c], b = p1[c];
    const double d0 = r0[c] - (a + b * x[0]), d1 = r1[c] - (a + b * x[1]);
    const double d2 = r2[c] - (a + b * x[2]), d3 = r3[c] - (a + b * x[3]);
    rss[c] = (((rss[c] + d0 * d0) + d1 * d1) + d2 * d2) + d3 * d3;
  }
}

// The next tile's values of frame j, into L2.
inline void prefetch_next(const FrameTile& tile, std::size_t j) {
  if (tile.next > 0) prefetch_to_l2(tile.frame(j) + tile.count, tile.next);
}

[[gnu::always_inline]] inline void sums2_body(const FrameTile& tile, std::size_t first,
                                              std::size_t frames, const double* w0,
                                              const double* w1, double* a0, double* a1) {
  std::size_t j = 0;
  for (; j + 4 <= frames; j += 4) {
    const float* rows[4];
    for (std::size_t f = 0; f < 4; ++f)
      prefetch_next(tile, first + j + f), rows[f] = tile.frame(first + j + f);
    row_sums2x4(rows, w0 + j, w1 + j, a0, a1, tile.count);
  }
  for (; j < frames; ++j) {
    prefetch_next(tile, first + j);
    row_sums2(tile.frame(first + j), w0[j], w1[j], a0, a1, tile.count);
  }
}

[[gnu::always_inline]] inline void sums3_body(const FrameTile& tile, std::size_t first,
                                              std::size_t frames, const double* w0,
                                              const double* w1, const double* w2, double* a0,
                                              double* a1, double* a2) {
  for (std::size_t j = 0; j < frames; ++j) {
    prefetch_next(tile, first + j);
    row_sums3(tile.frame(first + j), w0[j], w1[j], w2[j], a0, a1, a2, tile.count);
  }
}

// No hints: the tile's frames are still cached from the sums.
[[gnu::always_inline]] inline void residuals_body(const FrameTile& tile, std::size_t first,
                                                  std::size_t frames, const double* x,
                                                  const double* p0, const double* p1, double* rss) {
  std::size_t j = 0;
  for (; j + 4 <= frames; j += 4) {
    const float* rows[4];
    for (std::size_t f = 0; f < 4; ++f) rows[f] = tile.frame(first + j + f);
    rss_row_x4(rows, x + j, p0, p1, rss, tile.count);
  }
  for (; j < frames; ++j) rss_row(tile.frame(first + j), x[j], p0, p1, rss, tile.count);
}

[[gnu::always_inline]] inline void normalize_body(const double* x, const double* mu, double* out,
                                                  std::size_t begin, std::size_t end, double a,
                                                  double b, double p0, double p1, double p2,
                                                  double inv_step, bool flat) {
  if (!flat) {
    for (std::size_t i = begin; i < end; ++i) out[i] = (mu[i] - (a + b * x[i])) * inv_step;
    return;
  }
  for (std::size_t i = begin; i < end; ++i) {
    const double xi = x[i];
    const double pre = a + b * xi;
    const double value = (mu[i] - pre) * inv_step;
    const double post = p0 + xi * (p1 + xi * p2);
    out[i] = value - ((post - pre) * inv_step - 1.0);
  }
}

__attribute__((target("avx2"))) void sums2_avx2(const FrameTile& tile, std::size_t first,
                                                std::size_t frames, const double* w0,
                                                const double* w1, double* a0, double* a1) {
  sums2_body(tile, first, frames, w0, w1, a0, a1);
}
__attribute__((target("avx2"))) void sums3_avx2(const FrameTile& tile, std::size_t first,
                                                std::size_t frames, const double* w0,
                                                const double* w1, const double* w2, double* a0,
                                                double* a1, double* a2) {
  sums3_body(tile, first, frames, w0, w1, w2, a0, a1, a2);
}
__attribute__((target("avx2"))) void residuals_avx2(const FrameTile& tile, std::size_t first,
                                                    std::size_t frames, const double* x,
                                                    const double* p0, const double* p1,
                                                    double* rss) {
  residuals_body(tile, first, frames, x, p0, p1, rss);
}
__attribute__((target("avx2"))) void normalize_avx2(const double* x, const double* mu, double* out,
                                                    std::size_t begin, std::size_t end, double a,
                                                    double b, double p0, double p1, double p2,
                                                    double inv_step, bool flat) {
  normalize_body(x, mu, out, begin, end, a, b, p0, p1, p2, inv_step, flat);
}

}  // namespace

namespace plain {
void weighted_frame_sums2(const FrameTile& tile, std::size_t first, std::size_t frames,
                          const double* w0, const double* w1, double* a0, double* a1) {
  sums2_body(tile, first, frames, w0, w1, a0, a1);
}
void weighted_frame_sums3(const FrameTile& tile, std::size_t first, std::size_t frames,
                          const double* w0, const double* w1, const double* w2, double* a0,
                          double* a1, double* a2) {
  sums3_body(tile, first, frames, w0, w1, w2, a0, a1, a2);
}
void line_residual_squares(const FrameTile& tile, std::size_t first, std::size_t frames,
                           const double* x, const double* p0, const double* p1, double* rss) {
  residuals_body(tile, first, frames, x, p0, p1, rss);
}
void normalize_range(const double* x, const double* mu, double* out, std::size_t begin,
                     std::size_t end, double a, double b, double p0, double p1, double p2,
                     double inv_step, bool flat) {
  normalize_body(x, mu, out, begin, end, a, b, p0, p1, p2, inv_step, flat);
}
}  // namespace plain

namespace detail {
FrameSums2Fn weighted_frame_sums2_for(Isa isa) {
  return choose<FrameSums2Fn>(isa, plain::weighted_frame_sums2, sums2_avx2);
}
FrameSums3Fn weighted_frame_sums3_for(Isa isa) {
  return choose<FrameSums3Fn>(isa, plain::weighted_frame_sums3, sums3_avx2);
}
LineResidualsFn line_residual_squares_for(Isa isa) {
  return choose<LineResidualsFn>(isa, plain::line_residual_squares, residuals_avx2);
}
NormalizeRangeFn normalize_range_for(Isa isa) {
  return choose<NormalizeRangeFn>(isa, plain::normalize_range, normalize_avx2);
}
}  // namespace detail

void weighted_frame_sums2(const FrameTile& tile, std::size_t first, std::size_t frames,
                          const double* w0, const double* w1, double* a0, double* a1) {
  static const detail::FrameSums2Fn chosen = detail::weighted_frame_sums2_for(active_isa());
  chosen(tile, first, frames, w0, w1, a0, a1);
}

void weighted_frame_sums3(const FrameTile& tile, std::size_t first, std::size_t frames,
                          const double* w0, const double* w1, const double* w2, double* a0,
                          double* a1, double* a2) {
  static const detail::FrameSums3Fn chosen = detail::weighted_frame_sums3_for(active_isa());
  chosen(tile, first, frames, w0, w1, w2, a0, a1, a2);
}

void line_residual_squares(const FrameTile& tile, std::size_t first, std::size_t frames,
                           const double* x, const double* p0, const double* p1, double* rss) {
  static const detail::LineResidualsFn chosen = detail::line_residual_squares_for(active_isa());
  chosen(tile, first, frames, x, p0, p1, rss);
}

}  // namespace xanesmap::kernels
