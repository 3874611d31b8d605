// Separable cubic convolution over rows; the method and its references are at the top of
// core/registration/shift_apply.cpp, the contract in core/registration/detail/shift_rows.hpp.
#include "core/registration/detail/shift_rows.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "core/kernels/shift_taps.hpp"

namespace xanesmap {
namespace {

constexpr double kKeysA = -0.5;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

double keys_kernel(double s) {
  s = std::abs(s);
  if (s <= 1.0) return ((kKeysA + 2.0) * s - (kKeysA + 3.0)) * s * s + 1.0;
  if (s < 2.0) return ((kKeysA * s - 5.0 * kKeysA) * s + 8.0 * kKeysA) * s - 4.0 * kKeysA;
  return 0.0;
}

using kernels::max_ignoring_nan;
using kernels::min_ignoring_nan;

}  // namespace

AxisPlan axis_plan(std::size_t n, double shift_px) {
  AxisPlan plan;
  plan.taps.resize(n);
  double whole = std::floor(shift_px);
  double t = shift_px - whole;  // exact for |shift| < 2^52
  if (t >= 1.0) {               // shift = -tiny rounds t up to 1: that is the next whole pixel
    whole += 1.0;
    t = 0.0;
  }
  plan.fractional = t > 0.0;
  const auto length = static_cast<double>(n);
  if (whole <= -length - 2.0 || whole >= length + 2.0) {  // all outside
    plan.whole =
        whole < 0 ? -static_cast<std::ptrdiff_t>(n) - 2 : static_cast<std::ptrdiff_t>(n) + 2;
    return plan;
  }
  plan.whole = static_cast<std::ptrdiff_t>(whole);
  const auto size = static_cast<std::ptrdiff_t>(n);
  const std::array<float, 4> cubic{
      static_cast<float>(keys_kernel(1.0 + t)), static_cast<float>(keys_kernel(t)),
      static_cast<float>(keys_kernel(1.0 - t)), static_cast<float>(keys_kernel(2.0 - t))};
  const auto lin0 = static_cast<float>(1.0 - t), lin1 = static_cast<float>(t);
  bool in_run = false;
  for (std::size_t i = 0; i < n; ++i) {
    const std::ptrdiff_t s =
        static_cast<std::ptrdiff_t>(i) + plan.whole;  // source pixel at or before
    AxisTaps& k = plan.taps[i];
    bool full = false;
    if (!plan.fractional) {
      if (s < 0 || s >= size) continue;
      k = {true,
           static_cast<std::size_t>(s),
           1,
           {1.0f, 0.0f, 0.0f, 0.0f},
           static_cast<std::size_t>(s),
           1};
      full = true;
    } else if (s >= 1 && s + 2 < size) {
      k = {true, static_cast<std::size_t>(s - 1), 4, cubic, static_cast<std::size_t>(s), 2};
      full = true;
    } else if (s >= 0 && s + 1 < size) {
      k = {true,
           static_cast<std::size_t>(s),
           2,
           {lin0, lin1, 0.0f, 0.0f},
           static_cast<std::size_t>(s),
           2};
    }
    // The full-kernel outputs are one contiguous run (s grows with i; the borders are at its ends).
    if (full && !in_run) plan.run_begin = i, in_run = true;
    if (full) plan.run_end = i + 1;
  }
  return plan;
}

RowRing::RowRing(std::size_t width)
    : width_(width),
      filtered_(kSlots * width),
      low_(kSlots * width),
      high_(kSlots * width),
      marks_(width) {
  held.fill(static_cast<std::size_t>(-1));
}

namespace {

/// Source row `src` filtered along x into ring slot `slot`, with the nearest pixels' bounds;
/// `upcoming`: the row the pass will load kAhead rows later, requested now (see shift_rows).
void load_row(const float* src, std::span<const float> upcoming, const AxisPlan& cols,
              RowRing& ring, std::size_t slot) {
  float* dst = ring.filtered(slot);
  float* low = ring.low(slot);
  float* high = ring.high(slot);
  const std::size_t w = cols.taps.size();
  auto one_column = [&](std::size_t c) {
    const AxisTaps& tx = cols.taps[c];
    if (!tx.inside) {
      dst[c] = kNaN, low[c] = kInf, high[c] = -kInf;
      return;
    }
    float along = tx.weight[0] * src[tx.first];
    for (int j = 1; j < tx.count; ++j)
      along += tx.weight[static_cast<std::size_t>(j)] * src[tx.first + static_cast<std::size_t>(j)];
    float l = kInf, u = -kInf;
    for (int j = 0; j < tx.nearest_count; ++j) {
      const float q = src[tx.nearest + static_cast<std::size_t>(j)];
      l = min_ignoring_nan(l, q), u = max_ignoring_nan(u, q);
    }
    dst[c] = along, low[c] = l, high[c] = u;
  };
  for (std::size_t c = 0; c < cols.run_begin; ++c) one_column(c);
  if (cols.run_begin < cols.run_end) {
    const std::size_t b = cols.run_begin, n = cols.run_end - b;
    const float* first = src + cols.taps[b].first;
    if (cols.fractional)
      kernels::cubic_row(first, n, cols.taps[b].weight.data(), dst + b, low + b, high + b,
                         upcoming);
    else
      kernels::copy_row(first, n, dst + b, low + b, high + b, upcoming);
  }
  for (std::size_t c = std::max(cols.run_begin, cols.run_end); c < w; ++c) one_column(c);
}

}  // namespace

void shift_rows(ImageView<const float> source, ImageView<float> target, const AxisPlan& rows,
                const AxisPlan& cols, std::size_t row_begin, std::size_t row_end, RowOrder order,
                RowRing& ring, ImageView<std::uint8_t> not_finite, std::size_t target_first_row) {
  const std::size_t w = source.width();
  ring.held.fill(static_cast<std::size_t>(-1));
  // The ring slot holding source row s, loading it on a miss. An output row's support is at most
  // 4 consecutive rows (distinct slots), and supports move monotonically with the output row, so
  // a row evicted is never needed again.
  // Loading row s also requests the row kAhead rows further on, in the order of the pass, into
  // L2 (kernels::cubic_row says why); 2, 4 and 8 rows ahead were alike within the noise.
  constexpr std::size_t kAhead = 4;
  const std::size_t h = source.height();
  auto slot_of = [&](std::size_t s) {
    const std::size_t k = s % RowRing::kSlots;
    if (ring.held[k] != s) {
      std::span<const float> upcoming;
      if (order == RowOrder::ascending ? s + kAhead < h : s >= kAhead)
        upcoming = {source.row(order == RowOrder::ascending ? s + kAhead : s - kAhead), w};
      load_row(source.row(s), upcoming, cols, ring, k), ring.held[k] = s;
    }
    return k;
  };
  for (std::size_t i = 0; i < row_end - row_begin; ++i) {
    const std::size_t r = order == RowOrder::ascending ? row_begin + i : row_end - 1 - i;
    float* out = target.row(r - target_first_row);
    std::uint8_t* marks = not_finite.data() ? not_finite.row(r) : ring.marks();
    const AxisTaps& ty = rows.taps[r];
    if (!ty.inside) {
      std::fill(out, out + w, kNaN);
      std::fill(marks, marks + w, std::uint8_t{1});
      continue;
    }
    const float* f[4] = {nullptr, nullptr, nullptr, nullptr};
    for (int j = 0; j < ty.count; ++j)
      f[j] = ring.filtered(slot_of(ty.first + static_cast<std::size_t>(j)));
    for (int j = ty.count; j < 4; ++j) f[j] = f[0];  // unused (weight slots 0), kept valid
    const std::size_t n0 = slot_of(ty.nearest),
                      n1 = ty.nearest_count > 1 ? slot_of(ty.nearest + 1) : n0;
    kernels::combine_rows(f, ty.count, ty.weight.data(), ring.low(n0), ring.low(n1), ring.high(n0),
                          ring.high(n1), w, out, marks);
  }
}

void mark_not_finite(const float* values, std::size_t n, std::uint8_t* marks) {
  kernels::mark_not_finite(values, n, marks);
}

}  // namespace xanesmap
