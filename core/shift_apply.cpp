// Sub-pixel shifts of frames; the contract and the border rules are in shift_apply.hpp.
//
// Keys' cubic convolution kernel (IEEE Trans. ASSP 29, 1153 (1981), eq. 15 with a = -0.5):
//   W(s) = (a + 2)|s|^3 - (a + 3)|s|^2 + 1        for |s| <= 1
//   W(s) = a|s|^3 - 5a|s|^2 + 8a|s| - 4a          for 1 < |s| < 2
//   W(s) = 0                                      otherwise.
// A sample at source coordinate s + t (s integer, 0 < t < 1) takes the pixels s - 1 .. s + 2 with
// weights W(1 + t), W(t), W(1 - t), W(2 - t), which sum to 1 for every t.
// Keys extrapolates a virtual pixel beyond the border; we do not (it would invent data where the
// field of view ends) and use linear interpolation in the last interval instead.
#include "core/shift_apply.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "core/cpu_features.hpp"
#include "core/error.hpp"

namespace xanesmap {
namespace {

constexpr double kKeysA = -0.5;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

double keys_kernel(double s) {
  s = std::abs(s);
  if (s <= 1.0) return ((kKeysA + 2.0) * s - (kKeysA + 3.0)) * s * s + 1.0;
  if (s < 2.0) return ((kKeysA * s - 5.0 * kKeysA) * s + 8.0 * kKeysA) * s - 4.0 * kKeysA;
  return 0.0;
}

/// The source pixels and weights that make output index i along one axis.
struct Taps {
  bool inside = false;      // false: the nearest pixels leave the frame (output NaN, outside)
  std::size_t first = 0;    // first source index of the support
  int count = 0;            // 1 (whole-pixel shift), 2 (linear) or 4 (cubic)
  std::array<double, 4> weight{};
  std::size_t nearest = 0;  // first of the 1 or 2 source pixels bracketing the sample point
  int nearest_count = 0;
};

/// Taps for every output index 0 .. n-1 of an axis of length n shifted by `shift` pixels
/// (output i samples the source at i + shift).
std::vector<Taps> axis_taps(std::size_t n, double shift) {
  std::vector<Taps> taps(n);
  double whole = std::floor(shift);
  double t = shift - whole;  // exact for |shift| < 2^52
  if (t >= 1.0) {            // shift = -tiny rounds t up to 1: that is the next whole pixel
    whole += 1.0;
    t = 0.0;
  }
  const auto length = static_cast<double>(n);
  if (whole <= -length - 2.0 || whole >= length + 2.0) return taps;  // all outside
  const auto offset = static_cast<std::ptrdiff_t>(whole);
  const auto size = static_cast<std::ptrdiff_t>(n);
  const std::array<double, 4> cubic{keys_kernel(1.0 + t), keys_kernel(t), keys_kernel(1.0 - t),
                                    keys_kernel(2.0 - t)};
  for (std::size_t i = 0; i < n; ++i) {
    const std::ptrdiff_t s = static_cast<std::ptrdiff_t>(i) + offset;  // source pixel at or before
    Taps& k = taps[i];
    if (t == 0.0) {
      if (s < 0 || s >= size) continue;
      k = {true, static_cast<std::size_t>(s), 1, {1.0, 0.0, 0.0, 0.0},
           static_cast<std::size_t>(s), 1};
    } else if (s >= 1 && s + 2 < size) {
      k = {true, static_cast<std::size_t>(s - 1), 4, cubic, static_cast<std::size_t>(s), 2};
    } else if (s >= 0 && s + 1 < size) {
      k = {true, static_cast<std::size_t>(s), 2, {1.0 - t, t, 0.0, 0.0},
           static_cast<std::size_t>(s), 2};
    }
  }
  return taps;
}

void check_finite(double dy_px, double dx_px, const std::string& what) {
  if (std::isfinite(dy_px) && std::isfinite(dx_px)) return;
  std::ostringstream m;
  m << what << ": shift (dy " << dy_px << ", dx " << dx_px << ") px is not finite";
  throw InputError(m.str());
}

// The three loops that take nearly all the time, each in a plain x86-64 and an AVX2 version
// chosen at run time (the build targets plain x86-64). Both do the same operations per element
// in the same order (no fused multiply-add, no reordered sums), so their results are identical.
#define XANESMAP_SHIFT_KERNELS(SUFFIX, ATTRIBUTE)                                                        \
  ATTRIBUTE void filter_cubic_##SUFFIX(const float* base, std::size_t begin, std::size_t end,           \
                                      const double* wc, double* dst) {                                  \
    for (std::size_t c = begin; c < end; ++c) {                                                         \
      const float* q = base + c;                                                                        \
      double along = 0.0;                                                                               \
      along += wc[0] * q[0];                                                                            \
      along += wc[1] * q[1];                                                                            \
      along += wc[2] * q[2];                                                                            \
      along += wc[3] * q[3];                                                                            \
      dst[c] = along;                                                                                   \
    }                                                                                                   \
  }                                                                                                     \
  ATTRIBUTE void accumulate_##SUFFIX(double* value, const double* row, double weight, std::size_t w) {  \
    for (std::size_t c = 0; c < w; ++c) value[c] += weight * row[c];                                   \
  }                                                                                                     \
  ATTRIBUTE void clamp_run_##SUFFIX(const double* value, const float* near0, const float* near1,        \
                                   std::size_t begin, std::size_t end, std::size_t offset,              \
                                   std::size_t second, bool two_rows, float* out_row) {                 \
    /* In float: rounding is monotonic and the bounds are floats, so clamping the rounded value */     \
    /* gives the rounded clamp. (y < x ? y : x) is std::min(x, y), NaN handling included. */           \
    const float inf = std::numeric_limits<float>::infinity();                                          \
    auto lo = [](float x, float y) { return y < x ? y : x; };                                          \
    auto hi = [](float x, float y) { return x < y ? y : x; };                                          \
    auto put = [&](std::size_t c, float low, float high) {                                             \
      const float v = static_cast<float>(value[c]);                                                    \
      out_row[c] = v != v ? kNaN : (v < low ? low : (high < v ? high : v));                            \
    };                                                                                                  \
    if (two_rows) {                                                                                     \
      for (std::size_t c = begin; c < end; ++c) {                                                       \
        const std::size_t k = c + offset;                                                               \
        const float a = near0[k], b = near0[k + second], d0 = near1[k], d1 = near1[k + second];        \
        put(c, lo(lo(lo(lo(inf, a), b), d0), d1), hi(hi(hi(hi(-inf, a), b), d0), d1));                   \
      }                                                                                                 \
    } else {                                                                                            \
      for (std::size_t c = begin; c < end; ++c) {                                                       \
        const std::size_t k = c + offset;                                                               \
        const float a = near0[k], b = near0[k + second];                                               \
        put(c, lo(lo(inf, a), b), hi(hi(-inf, a), b));                                                 \
      }                                                                                                 \
    }                                                                                                   \
  }
XANESMAP_SHIFT_KERNELS(generic, )
XANESMAP_SHIFT_KERNELS(avx2, __attribute__((target("avx2"))))
#undef XANESMAP_SHIFT_KERNELS

/// Writes the shifted frame into `out` and its outside flags into `outside` (same size as frame).
/// Separable: each source row is filtered along x once (in double, the same sums as a 4 x 4
/// kernel evaluated per pixel, so the values are identical), kept in a small ring while the
/// output rows that need it pass, then combined along y. Rows are processed in parallel blocks.
void shift_into(ImageView<const float> frame, double dy_px, double dx_px, ImageView<float> out,
                ImageView<std::uint8_t> outside, bool accumulate_outside = false) {
  const std::size_t h = frame.height(), w = frame.width();
  if (h == 0 || w == 0) return;
  if (dy_px == 0.0 && dx_px == 0.0) {  // bit-exact copy (keeps NaN payloads and -0.0)
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h), [&](const auto& range) {
      for (std::size_t r = range.begin(); r != range.end(); ++r) {
        std::copy(frame.row(r), frame.row(r) + w, out.row(r));
        if (!accumulate_outside) std::fill(outside.row(r), outside.row(r) + w, std::uint8_t{0});
      }
    });
    return;
  }
  const std::vector<Taps> rows = axis_taps(h, dy_px);
  const std::vector<Taps> cols = axis_taps(w, dx_px);
  // Columns whose taps are the full cubic with consecutive sources: a loop without branches.
  std::size_t cubic_begin = w, cubic_end = w;
  for (std::size_t c = 0; c < w; ++c)
    if (cols[c].inside && cols[c].count == 4) {
      if (cubic_begin == w) cubic_begin = c;
      cubic_end = c + 1;
    }
  const std::array<double, 4> wc = cubic_begin < w ? cols[cubic_begin].weight : std::array<double, 4>{};
  // The run of inside columns whose nearest pixels advance with the column, all with the same
  // count (the interior: every column but a few at the borders).
  std::size_t near_begin = w, near_end = w, near_offset = 0;
  int cols_near_count = 0;
  for (std::size_t c = 0; c < w; ++c) {
    const Taps& tx = cols[c];
    if (!tx.inside) continue;
    if (near_begin == w) {
      near_begin = c, near_end = c + 1, near_offset = tx.nearest, cols_near_count = tx.nearest_count;
    } else if (c == near_end && tx.nearest == near_offset + (c - near_begin) && tx.nearest_count == cols_near_count) {
      near_end = c + 1;
    }
  }
  const std::size_t first0 = cubic_begin < w ? cols[cubic_begin].first : 0;

  // Source row s filtered along x into `dst` (NaN where the column is outside).
  auto filter_row = [&](std::size_t s, double* dst) {
    const float* src = frame.row(s);
    for (std::size_t c = 0; c < cubic_begin; ++c) {
      const Taps& tx = cols[c];
      if (!tx.inside) continue;
      double along = 0.0;
      for (int j = 0; j < tx.count; ++j) along += tx.weight[j] * src[tx.first + static_cast<std::size_t>(j)];
      dst[c] = along;
    }
    const float* base = src + first0 - cubic_begin;
    (has_avx2() ? filter_cubic_avx2 : filter_cubic_generic)(base, cubic_begin, cubic_end, wc.data(), dst);
    for (std::size_t c = cubic_end; c < w; ++c) {
      const Taps& tx = cols[c];
      if (!tx.inside) continue;
      double along = 0.0;
      for (int j = 0; j < tx.count; ++j) along += tx.weight[j] * src[tx.first + static_cast<std::size_t>(j)];
      dst[c] = along;
    }
  };

  const std::size_t block = std::max<std::size_t>(16, h / 64);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h, block), [&](const auto& range) {
    constexpr std::size_t kRing = 5;  // an output row needs at most 4 consecutive source rows
    std::vector<double> ring(kRing * w);
    std::array<std::size_t, kRing> held;
    held.fill(static_cast<std::size_t>(-1));
    auto filtered = [&](std::size_t s) -> const double* {
      double* slot = ring.data() + (s % kRing) * w;
      if (held[s % kRing] != s) filter_row(s, slot), held[s % kRing] = s;
      return slot;
    };
    std::vector<double> value(w);
    for (std::size_t r = range.begin(); r != range.end(); ++r) {
      const Taps& ty = rows[r];
      float* out_row = out.row(r);
      std::uint8_t* outside_row = outside.row(r);
      if (!ty.inside) {
        std::fill(out_row, out_row + w, kNaN);
        std::fill(outside_row, outside_row + w, std::uint8_t{1});
        continue;
      }
      std::fill(value.begin(), value.end(), 0.0);
      for (int i = 0; i < ty.count; ++i) {
        const double* hrow = filtered(ty.first + static_cast<std::size_t>(i));
        const double wy = ty.weight[static_cast<std::size_t>(i)];
        (has_avx2() ? accumulate_avx2 : accumulate_generic)(value.data(), hrow, wy, w);
      }
      // Clamp to the range of the nearest (at most 2x2) pixels: no ringing at edges.
      const float* near0 = frame.row(ty.nearest);
      const float* near1 = ty.nearest_count > 1 ? frame.row(ty.nearest + 1) : near0;
      // Columns whose nearest pixels are c + near_offset (and the next one when there are
      // two): the same minimum and maximum, in the same order, without per-column lookups.
      const std::size_t second = cols_near_count == 2 ? 1 : 0;
      (has_avx2() ? clamp_run_avx2 : clamp_run_generic)(value.data(), near0, near1, near_begin, near_end,
                                                      near_offset - near_begin, second,
                                                      ty.nearest_count > 1, out_row);
      if (near_begin < near_end && !accumulate_outside)
        std::fill(outside_row + near_begin, outside_row + near_end, std::uint8_t{0});
      for (std::size_t c = 0; c < w; ++c) {
        if (c == near_begin) c = near_end;
        if (c >= w) break;
        const Taps& tx = cols[c];
        if (!tx.inside) {
          out_row[c] = kNaN;
          outside_row[c] = 1;
          continue;
        }
        if (!accumulate_outside) outside_row[c] = 0;
        const double v = value[c];
        if (std::isnan(v)) {
          out_row[c] = kNaN;
          continue;
        }
        double low = std::numeric_limits<double>::infinity(), high = -low;
        for (int i = 0; i < ty.nearest_count; ++i) {
          const float* nr = i == 0 ? near0 : near1;
          for (int j = 0; j < tx.nearest_count; ++j) {
            const double q = nr[tx.nearest + static_cast<std::size_t>(j)];
            low = std::min(low, q);
            high = std::max(high, q);
          }
        }
        out_row[c] = static_cast<float>(std::clamp(v, low, high));
      }
    }
  });
}

}  // namespace

ShiftedFrame shift_frame(ImageView<const float> frame, double dy_px, double dx_px) {
  check_finite(dy_px, dx_px, "shift_frame");
  ShiftedFrame result{Image<float>(frame.height(), frame.width()),
                      Image<std::uint8_t>(frame.height(), frame.width())};
  shift_into(frame, dy_px, dx_px, result.image.view(), result.outside.view());
  return result;
}

namespace {

void check_shift_lists(const EnergyStack& stack, std::span<const double> dy_px, std::span<const double> dx_px) {
  const std::size_t n = stack.frame_count();
  if (dy_px.size() != n || dx_px.size() != n)
    throw InputError("apply shifts: " + std::to_string(dy_px.size()) + " dy and " +
                     std::to_string(dx_px.size()) + " dx values for " + std::to_string(n) +
                     " frames (one of each per frame is needed)");
  for (std::size_t e = 0; e < n; ++e) {
    std::ostringstream what;
    what.precision(10);
    what << "apply shifts: frame " << e << " (" << stack.energy_ev(e) << " eV)";
    check_finite(dy_px[e], dx_px[e], what.str());
  }
}

}  // namespace

AlignedStack apply_shifts(EnergyStack&& stack, std::span<const double> dy_px, std::span<const double> dx_px,
                          const ProgressSink& progress) {
  check_shift_lists(stack, dy_px, dx_px);
  const std::size_t n = stack.frame_count();
  if (n == 0) return {};
  const std::size_t h = stack.height(), w = stack.width(), pixels = h * w;
  AlignedStack result{std::move(stack), Image<std::uint8_t>(h, w, 0)};
  Image<float> shifted(h, w);
  for (std::size_t e = 0; e < n; ++e) {
    ImageView<float> frame = result.stack.frame(e);
    // The outside flags are ORed straight into outside_any (writing 1 where a pixel is outside).
    shift_into(frame, dy_px[e], dx_px[e], shifted.view(), result.outside_any.view(), true);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, pixels, std::size_t{1} << 16), [&](const auto& range) {
      std::copy(shifted.data() + range.begin(), shifted.data() + range.end(), frame.data() + range.begin());
    });
    report(progress, "apply shifts", e + 1, n);
  }
  return result;
}

AlignedStack apply_shifts(const EnergyStack& stack, std::span<const double> dy_px,
                          std::span<const double> dx_px, const ProgressSink& progress) {
  check_shift_lists(stack, dy_px, dx_px);
  const std::size_t n = stack.frame_count();
  if (n == 0) return {};

  const std::size_t h = stack.height(), w = stack.width();
  AlignedStack result{EnergyStack(stack.energies_ev(), h, w, std::vector<float>(n * h * w)),
                      Image<std::uint8_t>(h, w, 0)};
  for (std::size_t e = 0; e < n; ++e) {
    // As the in-place path: the outside flags ORed straight into outside_any.
    shift_into(stack.frame(e), dy_px[e], dx_px[e], result.stack.frame(e), result.outside_any.view(), true);
    report(progress, "apply shifts", e + 1, n);
  }
  return result;
}

}  // namespace xanesmap
