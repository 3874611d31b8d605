// The watershed's fast steps (radix order, bucket-queue flood) and the parallel automatic
// threshold, each against the straightforward implementation it replaced (std::stable_sort,
// std::priority_queue, full copies with std::nth_element), on random maps with many ties.
// All comparisons are exact: the fast versions must make the same choices, not close ones.
#include "core/particles/detail/watershed.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <queue>
#include <vector>

#include "core/base/random.hpp"
#include "core/particles/detail/auto_threshold.hpp"

using namespace xanesmap;

namespace {

// A depth-like map: 0 (background) on about a third of the pixels, otherwise sqrt of a small
// integer (as an exact Euclidean distance transform gives), so that equal depths are common.
std::vector<float> random_depth(std::size_t h, std::size_t w, std::uint64_t seed) {
  Random random({seed, 17});
  std::vector<float> d(h * w);
  for (float& x : d) {
    const double u = random.uniform();
    x = u < 0.33 ? 0.0f : static_cast<float>(std::sqrt(std::floor(random.uniform(1.0, 40.0))));
  }
  return d;
}

std::vector<std::size_t> reference_order(const std::vector<float>& d) {
  std::vector<std::size_t> order;
  for (std::size_t p = 0; p < d.size(); ++p)
    if (d[p] > 0.0f) order.push_back(p);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return d[a] > d[b]; });
  return order;
}

// The priority-queue flood that flood_from_seeds replaced.
std::vector<int> reference_flood(const std::vector<float>& d, int h, int w,
                                 const std::vector<std::size_t>& seeds) {
  constexpr int dr[8] = {-1, -1, -1, 0, 0, 1, 1, 1}, dc[8] = {-1, 0, 1, -1, 1, -1, 0, 1};
  std::vector<int> label(d.size(), 0);
  std::vector<char> queued(d.size(), 0);
  struct Entry {
    float depth;
    std::uint64_t order;
    std::size_t pixel;
    int label;
    bool operator<(const Entry& o) const {
      return depth != o.depth ? depth < o.depth : order > o.order;
    }
  };
  std::priority_queue<Entry> queue;
  std::uint64_t counter = 0;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    if (queued[seeds[i]]) continue;
    queued[seeds[i]] = 1;
    queue.push({d[seeds[i]], counter++, seeds[i], static_cast<int>(i + 1)});
  }
  while (!queue.empty()) {
    const Entry e = queue.top();
    queue.pop();
    if (label[e.pixel] != 0) continue;
    label[e.pixel] = e.label;
    const int r = static_cast<int>(e.pixel) / w, c = static_cast<int>(e.pixel) % w;
    for (int k = 0; k < 8; ++k) {
      const int rr = r + dr[k], cc = c + dc[k];
      if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
      const auto q = static_cast<std::size_t>(rr * w + cc);
      if (d[q] > 0.0f && !queued[q]) queued[q] = 1, queue.push({d[q], counter++, q, e.label});
    }
  }
  return label;
}

// The automatic threshold as it was: every finite value gathered, medians by std::nth_element.
AutomaticThreshold reference_threshold(const std::vector<float>& map) {
  std::vector<double> values;
  for (const float x : map)
    if (std::isfinite(x)) values.push_back(x);
  if (values.empty()) return {};
  const auto [lo_it, hi_it] = std::minmax_element(values.begin(), values.end());
  const double lo = *lo_it, hi = *hi_it;
  if (!(hi > lo)) return {};
  constexpr std::size_t bins = 1024;
  const double width = (hi - lo) / double(bins);
  std::vector<double> hist(bins, 0.0);
  for (const double x : values)
    hist[std::min(bins - 1, static_cast<std::size_t>((x - lo) / width))] += 1.0;
  double total = 0.0, total_sum = 0.0;
  for (std::size_t k = 0; k < bins; ++k) total += hist[k], total_sum += hist[k] * double(k);
  double w0 = 0.0, sum0 = 0.0, best = -1.0;
  std::size_t best_k = 0;
  for (std::size_t k = 0; k + 1 < bins; ++k) {
    w0 += hist[k], sum0 += hist[k] * double(k);
    const double w1 = total - w0;
    if (w0 <= 0.0 || w1 <= 0.0) continue;
    const double dm = sum0 / w0 - (total_sum - sum0) / w1;
    if (w0 * w1 * dm * dm > best) best = w0 * w1 * dm * dm, best_k = k;
  }
  const double otsu = lo + double(best_k + 1) * width;
  std::vector<double> background;
  for (const double x : values)
    if (x < otsu) background.push_back(x);
  const auto middle = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  const double level = middle(background);
  for (double& x : background) x = std::abs(x - level);
  const double sigma = 1.4826 * middle(background);
  return {std::min(otsu, level + 4.0 * sigma + width), sigma, level};
}

}  // namespace

TEST_CASE("pixels_by_decreasing_depth is std::stable_sort's order", "[segmentation][watershed]") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const std::size_t h = 37 + 11 * seed, w = 53 + 7 * seed;
    const std::vector<float> d = random_depth(h, w, seed);
    CHECK(pixels_by_decreasing_depth(d.data(), d.size()) == reference_order(d));
  }
  const std::vector<float> none(100, 0.0f);
  CHECK(pixels_by_decreasing_depth(none.data(), none.size()).empty());
}

TEST_CASE("flood_from_seeds floods in the priority queue's order", "[segmentation][watershed]") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const int h = 40 + 9 * static_cast<int>(seed), w = 61 + 5 * static_cast<int>(seed);
    const std::vector<float> d = random_depth(std::size_t(h), std::size_t(w), seed);
    const std::vector<std::size_t> order = reference_order(d);
    // Seeds as segmentation makes them, and random ones (with a repeat) that race each other.
    const std::vector<std::size_t> seeds =
        watershed_seeds(d.data(), std::size_t(h), std::size_t(w), order, 1.0);
    CHECK(flood_from_seeds(d.data(), std::size_t(h), std::size_t(w), order, seeds) ==
          reference_flood(d, h, w, seeds));
    Random random({seed, 5});
    std::vector<std::size_t> racing;
    for (int i = 0; i < 25; ++i)
      racing.push_back(order[static_cast<std::size_t>(random.uniform() * double(order.size()))]);
    racing.push_back(racing.front());
    CHECK(flood_from_seeds(d.data(), std::size_t(h), std::size_t(w), order, racing) ==
          reference_flood(d, h, w, racing));
  }
}

TEST_CASE("automatic_threshold equals the gather-and-select version", "[segmentation][watershed]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const std::size_t h = 150 + 13 * seed, w = 170 + 3 * seed;
    Random random({seed, 9});
    std::vector<float> map(h * w);
    for (std::size_t i = 0; i < map.size(); ++i) {
      const std::size_t r = i / w, c = i % w;
      const double dr = double(r) - 0.5 * double(h), dc = double(c) - 0.4 * double(w);
      const double blob = dr * dr + dc * dc < 2500.0 ? 0.3 : 0.0;
      double x = blob + random.normal(0.0, 0.01);
      if (seed % 2 == 0) x = std::round(x * 200.0) / 200.0;  // quantized: many equal values
      map[i] = static_cast<float>(x);
    }
    for (std::size_t i = 0; i < map.size(); i += 97)
      map[i] = std::numeric_limits<float>::quiet_NaN();
    map[5] = std::numeric_limits<float>::infinity();
    const AutomaticThreshold fast = automatic_threshold(ImageView<const float>(map.data(), h, w));
    const AutomaticThreshold slow = reference_threshold(map);
    CHECK(fast.threshold == slow.threshold);
    CHECK(fast.background_level == slow.background_level);
    CHECK(fast.background_sigma == slow.background_sigma);
  }
  const std::vector<float> constant(64, 0.25f);
  CHECK(std::isinf(automatic_threshold(ImageView<const float>(constant.data(), 8, 8)).threshold));
}
