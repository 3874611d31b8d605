#include "core/particles/detail/auto_threshold.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace xanesmap {

namespace {

using Rows = tbb::blocked_range<std::size_t>;
constexpr std::size_t kRowGrain = 32;

// Count, minimum and maximum of the values value(x) that are not NaN (NaN = not in the set).
struct Range {
  std::size_t count = 0;
  double lo = std::numeric_limits<double>::infinity(),
         hi = -std::numeric_limits<double>::infinity();
};

template <typename Value>
Range value_range(ImageView<const float> v, Value value) {
  return tbb::parallel_reduce(
      Rows(0, v.height(), kRowGrain), Range{},
      [&](const Rows& rows, Range r) {
        for (std::size_t row = rows.begin(); row != rows.end(); ++row) {
          const float* in = v.row(row);
          for (std::size_t c = 0; c < v.width(); ++c)
            if (const double x = value(in[c]); !std::isnan(x))
              ++r.count, r.lo = std::min(r.lo, x), r.hi = std::max(r.hi, x);
        }
        return r;
      },
      [](Range a, const Range& b) {
        return Range{a.count + b.count, std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
      });
}

// Counts of the values in `bins` bins of [lo, hi]: bin(x) = min(bins - 1, floor((x - lo) / width)).
template <typename Value>
std::vector<std::size_t> value_histogram(ImageView<const float> v, Value value, double lo,
                                         double width, std::size_t bins) {
  const auto bin = [=](double x) {
    return std::min(bins - 1, static_cast<std::size_t>((x - lo) / width));
  };
  return tbb::parallel_reduce(
      Rows(0, v.height(), kRowGrain), std::vector<std::size_t>(),
      [&](const Rows& rows, std::vector<std::size_t> h) {
        h.resize(bins, 0);
        for (std::size_t row = rows.begin(); row != rows.end(); ++row) {
          const float* in = v.row(row);
          for (std::size_t c = 0; c < v.width(); ++c)
            if (const double x = value(in[c]); !std::isnan(x)) ++h[bin(x)];
        }
        return h;
      },
      [](std::vector<std::size_t> a, const std::vector<std::size_t>& b) {
        if (a.empty()) return b;
        for (std::size_t i = 0; i < b.size(); ++i) a[i] += b[i];
        return a;
      });
}

// The element of rank count / 2 (0-based; what std::nth_element puts at size / 2) of the values
// value(x) that are not NaN (at least one), without gathering them all: a 4096-bin histogram
// finds the bin that holds that rank (bins are monotonic in the value), then a selection among
// that bin's values only.
template <typename Value>
double middle_element(ImageView<const float> v, Value value) {
  const Range r = value_range(v, value);
  if (!(r.hi > r.lo)) return r.lo;
  const std::size_t k = r.count / 2;
  constexpr std::size_t kBins = 4096;
  const double width = (r.hi - r.lo) / double(kBins);
  const std::vector<std::size_t> count = value_histogram(v, value, r.lo, width, kBins);
  std::size_t b = 0, before = 0;
  while (before + count[b] <= k) before += count[b++];
  const auto in_bin = [&, lo = r.lo](double x) {
    return !std::isnan(x) && std::min(kBins - 1, static_cast<std::size_t>((x - lo) / width)) == b;
  };
  std::vector<double> chosen = tbb::parallel_reduce(
      Rows(0, v.height(), kRowGrain), std::vector<double>(),
      [&](const Rows& rows, std::vector<double> out) {
        for (std::size_t row = rows.begin(); row != rows.end(); ++row) {
          const float* in = v.row(row);
          for (std::size_t c = 0; c < v.width(); ++c)
            if (const double x = value(in[c]); in_bin(x)) out.push_back(x);
        }
        return out;
      },
      [](std::vector<double> a,
         const std::vector<double>& more) {  // any order: a selection follows
        a.insert(a.end(), more.begin(), more.end());
        return a;
      });
  const auto mid = chosen.begin() + static_cast<std::ptrdiff_t>(k - before);
  std::nth_element(chosen.begin(), mid, chosen.end());
  return *mid;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

AutomaticThreshold automatic_threshold(ImageView<const float> v) {
  constexpr std::size_t kBins = 1024;
  const auto finite = [](float x) { return std::isfinite(x) ? double(x) : kNaN; };
  const Range all = value_range(v, finite);
  if (all.count == 0 || !(all.hi > all.lo)) return {};
  const double lo = all.lo, hi = all.hi;
  const double bin_width = (hi - lo) / double(kBins);
  const std::vector<std::size_t> counts = value_histogram(v, finite, lo, bin_width, kBins);
  std::vector<double> hist(counts.begin(), counts.end());  // exact: counts < 2^53
  // Otsu: bin indices as the class values; maximize the between-class variance w0 w1 (m0 - m1)^2.
  double total = 0.0, total_sum = 0.0;
  for (std::size_t k = 0; k < kBins; ++k) total += hist[k], total_sum += hist[k] * double(k);
  double w0 = 0.0, sum0 = 0.0, best = -1.0;
  std::size_t best_k = 0;
  for (std::size_t k = 0; k + 1 < kBins; ++k) {
    w0 += hist[k], sum0 += hist[k] * double(k);
    const double w1 = total - w0;
    if (w0 <= 0.0 || w1 <= 0.0) continue;
    const double d = sum0 / w0 - (total_sum - sum0) / w1;
    const double between = w0 * w1 * d * d;
    if (between > best) best = between, best_k = k;
  }
  const double otsu = lo + double(best_k + 1) * bin_width;
  // The background class (never empty: the minimum is below Otsu's threshold): median and
  // robust spread.
  const auto background = [otsu](float x) {
    return std::isfinite(x) && double(x) < otsu ? double(x) : kNaN;
  };
  const double level = middle_element(v, background);
  const auto deviation = [otsu, level](float x) {
    return std::isfinite(x) && double(x) < otsu ? std::abs(double(x) - level) : kNaN;
  };
  const double sigma = 1.4826 * middle_element(v, deviation);
  return {std::min(otsu, level + 4.0 * sigma + bin_width), sigma, level};
}

}  // namespace xanesmap
