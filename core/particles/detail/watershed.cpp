#include "core/particles/detail/watershed.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <utility>

namespace xanesmap {

namespace {

constexpr int kDr[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
constexpr int kDc[8] = {-1, 0, 1, -1, 1, -1, 0, 1};

}  // namespace

std::vector<std::size_t> pixels_by_decreasing_depth(const float* depth, std::size_t pixels) {
  // Key: the complement of the bits of a positive float, so that ascending keys are descending
  // depths; LSD radix passes are stable, and the pixels enter in increasing index.
  std::vector<std::size_t> order;
  std::vector<std::uint32_t> keys;
  for (std::size_t p = 0; p < pixels; ++p)
    if (depth[p] > 0.0f) {
      order.push_back(p);
      keys.push_back(~std::bit_cast<std::uint32_t>(depth[p]));
    }
  const std::size_t n = order.size();
  std::vector<std::size_t> order_next(n);
  std::vector<std::uint32_t> keys_next(n);
  constexpr int kBits = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  for (int shift = 0; shift < 32; shift += kBits) {
    std::array<std::size_t, kBuckets> start{};
    for (const std::uint32_t k : keys) ++start[(k >> shift) & (kBuckets - 1)];
    if (std::find(start.begin(), start.end(), n) != start.end()) continue;  // one bucket: no-op
    std::size_t sum = 0;
    for (std::size_t& s : start) sum += std::exchange(s, sum);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = start[(keys[i] >> shift) & (kBuckets - 1)]++;
      keys_next[at] = keys[i];
      order_next[at] = order[i];
    }
    keys.swap(keys_next);
    order.swap(order_next);
  }
  return order;
}

std::vector<std::size_t> watershed_seeds(const float* d, std::size_t height, std::size_t width,
                                         const std::vector<std::size_t>& order,
                                         double min_dynamic) {
  const int h = static_cast<int>(height), w = static_cast<int>(width);
  const std::size_t n = height * width;
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> parent(n, kNone), peak(n, kNone);  // peak: valid at roots
  auto find = [&](std::size_t p) {
    while (parent[p] != p) p = parent[p] = parent[parent[p]];
    return p;
  };
  std::vector<std::size_t> seeds;
  std::vector<std::size_t> roots;
  for (const std::size_t p : order) {
    parent[p] = p, peak[p] = p;
    const int r = static_cast<int>(p / width), c = static_cast<int>(p % width);
    roots.clear();
    for (int k = 0; k < 8; ++k) {
      const int rr = r + kDr[k], cc = c + kDc[k];
      if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
      const std::size_t q = static_cast<std::size_t>(rr) * width + static_cast<std::size_t>(cc);
      if (parent[q] == kNone) continue;  // background or not yet reached
      const std::size_t root = find(q);
      if (std::find(roots.begin(), roots.end(), root) == roots.end()) roots.push_back(root);
    }
    if (roots.empty()) continue;  // a new maximum
    // The component with the highest peak (earliest in `order` on ties) absorbs the others.
    std::size_t winner = roots[0];
    for (const std::size_t root : roots)
      if (d[peak[root]] > d[peak[winner]]) winner = root;
    for (const std::size_t root : roots) {
      if (root == winner) continue;
      if (double(d[peak[root]]) - double(d[p]) >= min_dynamic) seeds.push_back(peak[root]);
      parent[root] = winner;
    }
    parent[p] = winner;
  }
  for (const std::size_t p : order)
    if (parent[p] == p) seeds.push_back(peak[p]);
  return seeds;
}

std::vector<int> flood_from_seeds(const float* d, std::size_t height, std::size_t width,
                                  const std::vector<std::size_t>& order,
                                  const std::vector<std::size_t>& seeds) {
  const int h = static_cast<int>(height), w = static_cast<int>(width);
  std::vector<int> label(height * width, 0);
  // Rank of each object pixel's depth (0 = deepest) and where each rank's pixels sit in
  // `order`: a pixel is queued at most once, so the FIFO of a rank never holds more entries
  // than the rank has pixels and the buckets share one array laid out as `order`.
  constexpr std::uint32_t kNotQueued = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> rank(height * width, kNotQueued);
  std::vector<std::size_t> head, tail;  // per rank: the FIFO is slots[head, tail)
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i == 0 || d[order[i]] != d[order[i - 1]]) head.push_back(i), tail.push_back(i);
    rank[order[i]] = static_cast<std::uint32_t>(head.size() - 1);
  }
  struct Slot {
    std::size_t pixel;
    int label;
  };
  std::vector<Slot> slots(order.size());
  std::vector<char> queued(height * width, 0);
  std::size_t top = head.size();  // every rank below `top` has an empty FIFO
  auto push = [&](std::size_t pixel, int l) {
    const std::uint32_t r = rank[pixel];
    queued[pixel] = 1;
    slots[tail[r]++] = {pixel, l};
    top = std::min<std::size_t>(top, r);
  };
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    if (queued[seeds[i]] || rank[seeds[i]] == kNotQueued) continue;  // seeded twice: first label
    push(seeds[i], static_cast<int>(i + 1));
  }
  while (true) {
    while (top < head.size() && head[top] == tail[top]) ++top;
    if (top == head.size()) break;
    const Slot e = slots[head[top]++];
    if (label[e.pixel] != 0) continue;
    label[e.pixel] = e.label;
    const int r = static_cast<int>(e.pixel / width), c = static_cast<int>(e.pixel % width);
    for (int k = 0; k < 8; ++k) {
      const int rr = r + kDr[k], cc = c + kDc[k];
      if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
      const std::size_t q = static_cast<std::size_t>(rr) * width + static_cast<std::size_t>(cc);
      if (d[q] > 0.0f && !queued[q]) push(q, e.label);
    }
  }
  return label;
}

}  // namespace xanesmap
