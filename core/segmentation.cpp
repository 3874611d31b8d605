#include "core/segmentation.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <numeric>
#include <queue>
#include <string>

#include "core/error.hpp"
#include "io/opencv_headers.hpp"

namespace xanesmap {

namespace {

void require_finite(const char* name, double v) {
  if (!std::isfinite(v)) throw OptionError(name, "must be finite");
}

constexpr int kDr[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
constexpr int kDc[8] = {-1, 0, 1, -1, 1, -1, 0, 1};

// The automatic threshold (see the header): Otsu's split of a histogram of the finite values,
// then the background class's median + 4 robust standard deviations (1.4826 x MAD) + one bin,
// if that is lower. threshold = +inf when there are no finite values or they are all equal.
struct AutomaticThreshold {
  double threshold = std::numeric_limits<double>::infinity();
  double background_sigma = 0.0;
  double background_level = 0.0;  // the background class's median
};
// The value std::nth_element puts at x.size() / 2 (x not empty), without sorting all of x: a
// histogram of 4096 bins finds the bin that holds that rank (bins are monotonic in the value, so
// every value of a lower bin is at most every value of a higher one), then a selection within
// that bin. The same value, in a few linear passes instead of a selection over millions.
double middle_element(const std::vector<double>& x) {
  const std::size_t k = x.size() / 2;
  const auto [min_it, max_it] = std::minmax_element(x.begin(), x.end());
  const double lo = *min_it, hi = *max_it;
  if (!(hi > lo)) return lo;
  constexpr std::size_t kBins = 4096;
  const double width = (hi - lo) / double(kBins);
  auto bin = [&](double v) { return std::min(kBins - 1, static_cast<std::size_t>((v - lo) / width)); };
  std::vector<std::size_t> count(kBins, 0);
  for (const double v : x) ++count[bin(v)];
  std::size_t b = 0, before = 0;
  while (before + count[b] <= k) before += count[b++];
  std::vector<double> in_bin;
  in_bin.reserve(count[b]);
  for (const double v : x)
    if (bin(v) == b) in_bin.push_back(v);
  const auto mid = in_bin.begin() + static_cast<std::ptrdiff_t>(k - before);
  std::nth_element(in_bin.begin(), mid, in_bin.end());
  return *mid;
}

AutomaticThreshold automatic_threshold(ImageView<const float> v) {
  constexpr std::size_t kBins = 1024;
  std::vector<double> values;
  values.reserve(v.height() * v.width());
  for (std::size_t r = 0; r < v.height(); ++r)
    for (std::size_t c = 0; c < v.width(); ++c)
      if (const float x = v(r, c); std::isfinite(x)) values.push_back(x);
  if (values.empty()) return {};
  const auto [min_it, max_it] = std::minmax_element(values.begin(), values.end());
  const double lo = *min_it, hi = *max_it;
  if (!(hi > lo)) return {};
  const double bin_width = (hi - lo) / double(kBins);
  std::vector<double> hist(kBins, 0.0);
  for (const double x : values) hist[std::min(kBins - 1, static_cast<std::size_t>((x - lo) / bin_width))] += 1.0;
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
  // The background class: its median and robust spread.
  std::vector<double> background;
  for (const double x : values)
    if (x < otsu) background.push_back(x);
  const double level = middle_element(background);
  for (double& x : background) x = std::abs(x - level);
  const double sigma = 1.4826 * middle_element(background);
  return {std::min(otsu, level + 4.0 * sigma + bin_width), sigma, level};
}

constexpr double kSmoothingSigmaPx = 1.0;
constexpr double kGrowSigma = 2.0;  // hysteresis: low threshold, robust sigmas above the background

// Seeds: one pixel per distance-transform maximum whose dynamic is >= min_dynamic, plus the
// highest maximum of every object (see the header). Union-find over the pixels taken in
// decreasing distance.
std::vector<std::size_t> watershed_seeds(const cv::Mat& dist, const std::vector<std::size_t>& order,
                                         double min_dynamic) {
  const int h = dist.rows, w = dist.cols;
  const std::size_t n = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> parent(n, kNone), peak(n, kNone);  // peak: valid at roots
  const float* d = dist.ptr<float>(0);
  auto find = [&](std::size_t p) {
    while (parent[p] != p) p = parent[p] = parent[parent[p]];
    return p;
  };
  std::vector<std::size_t> seeds;
  std::vector<std::size_t> roots;
  for (const std::size_t p : order) {
    parent[p] = p, peak[p] = p;
    const int r = static_cast<int>(p / static_cast<std::size_t>(w)), c = static_cast<int>(p % static_cast<std::size_t>(w));
    roots.clear();
    for (int k = 0; k < 8; ++k) {
      const int rr = r + kDr[k], cc = c + kDc[k];
      if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
      const std::size_t q = static_cast<std::size_t>(rr) * static_cast<std::size_t>(w) + static_cast<std::size_t>(cc);
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

// Floods the objects of `dist` (> 0) from the seeds, deepest pixels first (ties: first come,
// first served). Returns a label per pixel, 1..seeds.size(), 0 outside the objects.
// A pixel is queued once, by the first neighbour that reaches it: every later entry for it would
// have the same depth and a later place in the order, so it would pop after the first and find
// the pixel labelled (the labels are those of queueing it every time, with an eighth of the work).
std::vector<int> flood(const cv::Mat& dist, const std::vector<std::size_t>& seeds) {
  const int h = dist.rows, w = dist.cols;
  const float* d = dist.ptr<float>(0);
  std::vector<int> label(static_cast<std::size_t>(h) * static_cast<std::size_t>(w), 0);
  std::vector<char> queued(label.size(), 0);
  struct Entry {
    float depth;
    std::uint64_t order;
    std::size_t pixel;
    int label;
    bool operator<(const Entry& o) const {  // priority_queue pops the largest
      return depth != o.depth ? depth < o.depth : order > o.order;
    }
  };
  std::priority_queue<Entry> queue;
  std::uint64_t counter = 0;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    if (queued[seeds[i]]) continue;  // (a pixel seeded twice keeps its first label, as before)
    queued[seeds[i]] = 1;
    queue.push({d[seeds[i]], counter++, seeds[i], static_cast<int>(i + 1)});
  }
  while (!queue.empty()) {
    const Entry e = queue.top();
    queue.pop();
    if (label[e.pixel] != 0) continue;
    label[e.pixel] = e.label;
    const int r = static_cast<int>(e.pixel / static_cast<std::size_t>(w)), c = static_cast<int>(e.pixel % static_cast<std::size_t>(w));
    for (int k = 0; k < 8; ++k) {
      const int rr = r + kDr[k], cc = c + kDc[k];
      if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
      const std::size_t q = static_cast<std::size_t>(rr) * static_cast<std::size_t>(w) + static_cast<std::size_t>(cc);
      if (d[q] > 0.0f && !queued[q]) queued[q] = 1, queue.push({d[q], counter++, q, e.label});
    }
  }
  return label;
}

}  // namespace

void SegmentationOptions::validate() const {
  require_finite("threshold_od", threshold_od);
  if (threshold_od < 0.0) throw OptionError("threshold_od", "must be >= 0 (0 = automatic)");
  require_finite("min_area_um2", min_area_um2);
  if (min_area_um2 < 0.0) throw OptionError("min_area_um2", "must be >= 0");
  require_finite("pixel_size_nm", pixel_size_nm);
  if (pixel_size_nm <= 0.0) throw OptionError("pixel_size_nm", "must be > 0");
  if (opening_radius_px < 0 || opening_radius_px > 100)
    throw OptionError("opening_radius_px", "must be in 0-100 px, got " + std::to_string(opening_radius_px));
  require_finite("split_min_depth_px", split_min_depth_px);
  if (split_min_depth_px <= 0.0) throw OptionError("split_min_depth_px", "must be > 0");
}

Segmentation segment_particles(ImageView<const float> edge_jump_od, const SegmentationOptions& options) {
  options.validate();
  const std::size_t height = edge_jump_od.height(), width = edge_jump_od.width();
  Segmentation out;
  out.labels = Image<std::uint16_t>(height, width, 0);
  if (height == 0 || width == 0) return out;
  const int h = static_cast<int>(height), w = static_cast<int>(width);

  // A noisy map (background robust sigma > 0) is smoothed first (Gaussian, sigma 1 px; NaN
  // pixels count as 0 and stay NaN); a noise-free one is used as it is.
  AutomaticThreshold automatic = automatic_threshold(edge_jump_od);
  Image<float> smoothed(edge_jump_od);
  if (automatic.background_sigma > 0.0) {
    cv::Mat smooth(h, w, CV_32F);
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c) {
        const float x = smoothed(std::size_t(r), std::size_t(c));
        smooth.at<float>(r, c) = std::isfinite(x) ? x : 0.0f;
      }
    cv::GaussianBlur(smooth, smooth, cv::Size(7, 7), kSmoothingSigmaPx, kSmoothingSigmaPx, cv::BORDER_REFLECT);
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c)
        if (float& x = smoothed(std::size_t(r), std::size_t(c)); std::isfinite(x)) x = smooth.at<float>(r, c);
    automatic = automatic_threshold(smoothed.view());
  }
  out.threshold_od = options.threshold_od > 0.0 ? options.threshold_od : automatic.threshold;
  if (!std::isfinite(out.threshold_od)) return out;

  // Threshold (NaN compares false: background).
  cv::Mat mask(h, w, CV_8U, cv::Scalar(0));
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c)
      if (double(smoothed(std::size_t(r), std::size_t(c))) >= out.threshold_od) mask.at<std::uint8_t>(r, c) = 1;

  // Hysteresis (automatic threshold on a noisy map only): grow the objects into 8-connected
  // pixels above the background level + kGrowSigma robust sigmas (see the header).
  const double grow_to = automatic.background_level + kGrowSigma * automatic.background_sigma;
  if (options.threshold_od == 0.0 && automatic.background_sigma > 0.0 && grow_to < out.threshold_od) {
    std::vector<std::pair<int, int>> queue;
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c)
        if (mask.at<std::uint8_t>(r, c)) queue.emplace_back(r, c);
    while (!queue.empty()) {
      const auto [r, c] = queue.back();
      queue.pop_back();
      for (int k = 0; k < 8; ++k) {
        const int rr = r + kDr[k], cc = c + kDc[k];
        if (rr < 0 || cc < 0 || rr >= h || cc >= w || mask.at<std::uint8_t>(rr, cc)) continue;
        if (double(smoothed(std::size_t(rr), std::size_t(cc))) >= grow_to) {
          mask.at<std::uint8_t>(rr, cc) = 1;
          queue.emplace_back(rr, cc);
        }
      }
    }
  }

  // Opening removes specks and spurs; closing fills notches and pinholes.
  if (options.opening_radius_px > 0) {
    const int k = 2 * options.opening_radius_px + 1;
    const cv::Mat disc = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(k, k));
    cv::morphologyEx(mask, mask, cv::MORPH_OPEN, disc);
    cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, disc);
  }

  // Holes: background not 4-connected to the image border (through a 1 px frame of background).
  {
    cv::Mat padded;
    cv::copyMakeBorder(mask, padded, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
    cv::floodFill(padded, cv::Point(0, 0), cv::Scalar(2), nullptr, cv::Scalar(0), cv::Scalar(0), 4);
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c)
        if (padded.at<std::uint8_t>(r + 1, c + 1) == 0) mask.at<std::uint8_t>(r, c) = 1;
  }

  // Objects (8-connected); small ones dropped.
  cv::Mat components, stats, centroids;
  const int n_components = cv::connectedComponentsWithStats(mask, components, stats, centroids, 8, CV_32S);
  const double pixel_um2 = (options.pixel_size_nm * 1e-3) * (options.pixel_size_nm * 1e-3);
  std::vector<char> keep(static_cast<std::size_t>(n_components), 0);
  for (int i = 1; i < n_components; ++i)
    keep[static_cast<std::size_t>(i)] = double(stats.at<int>(i, cv::CC_STAT_AREA)) * pixel_um2 >= options.min_area_um2;
  std::vector<int> label(height * width, 0);
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      const int l = components.at<int>(r, c);
      if (l > 0 && keep[static_cast<std::size_t>(l)]) label[std::size_t(r) * width + std::size_t(c)] = l;
      else mask.at<std::uint8_t>(r, c) = 0;
    }

  if (options.split_touching) {
    cv::Mat dist;
    cv::distanceTransform(mask, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE, CV_32F);
    const float* d = dist.ptr<float>(0);
    std::vector<std::size_t> order;
    for (std::size_t p = 0; p < height * width; ++p)
      if (d[p] > 0.0f) order.push_back(p);
    std::stable_sort(order.begin(), order.end(), [d](std::size_t a, std::size_t b) { return d[a] > d[b]; });
    label = flood(dist, watershed_seeds(dist, order, options.split_min_depth_px));
  }

  // Sequential ids in raster order of each particle's first pixel; statistics.
  std::vector<int> id_of;
  for (std::size_t p = 0; p < label.size(); ++p) {
    const int l = label[p];
    if (l == 0) continue;
    if (static_cast<std::size_t>(l) >= id_of.size()) id_of.resize(static_cast<std::size_t>(l) + 1, 0);
    int& id = id_of[static_cast<std::size_t>(l)];
    if (id == 0) {
      if (out.particles.size() >= 65535)
        throw InputError("segmentation: more than 65535 particles in a " + size_text(height, width) + " map");
      out.particles.push_back({});
      id = static_cast<int>(out.particles.size());
      out.particles.back().id = id;
    }
    const std::size_t r = p / width, c = p % width;
    out.labels(r, c) = static_cast<std::uint16_t>(id);
    ParticleInfo& info = out.particles[static_cast<std::size_t>(id - 1)];
    ++info.pixels;
    info.centroid_row += double(r), info.centroid_col += double(c);
    if (r == 0 || c == 0 || r + 1 == height || c + 1 == width) info.touches_border = true;
  }
  for (ParticleInfo& info : out.particles) {
    const double n = double(info.pixels);
    info.centroid_row /= n, info.centroid_col /= n;
    info.area_um2 = n * pixel_um2;
    info.equivalent_diameter_um = 2.0 * std::sqrt(info.area_um2 / std::numbers::pi);
  }
  return out;
}

ParticleRegions particle_regions(const Segmentation& segmentation, double pixel_size_nm, double surface_nm) {
  require_finite("pixel_size_nm", pixel_size_nm);
  if (pixel_size_nm <= 0.0) throw OptionError("pixel_size_nm", "must be > 0");
  require_finite("surface_nm", surface_nm);
  if (surface_nm < 0.0) throw OptionError("surface_nm", "must be >= 0");
  const auto& labels = segmentation.labels;
  const std::size_t height = labels.height(), width = labels.width();
  ParticleRegions out{Image<float>(height, width, 0.0f), Image<std::uint8_t>(height, width, kRegionBackground)};

  // Bounding box of every label present.
  struct Box {
    std::size_t r0 = std::numeric_limits<std::size_t>::max(), c0 = r0, r1 = 0, c1 = 0;
  };
  std::vector<Box> boxes;
  for (std::size_t r = 0; r < height; ++r)
    for (std::size_t c = 0; c < width; ++c)
      if (const std::uint16_t l = labels(r, c); l != 0) {
        if (l >= boxes.size()) boxes.resize(std::size_t(l) + 1);
        Box& b = boxes[l];
        b.r0 = std::min(b.r0, r), b.c0 = std::min(b.c0, c), b.r1 = std::max(b.r1, r), b.c1 = std::max(b.c1, c);
      }

  // Per particle: the exact Euclidean distance transform of its own mask on its box grown by
  // 1 px (clipped to the image). The frame of that box is outside the particle, and the
  // nearest non-member of any member lies inside the box (projecting a point onto the box
  // brings it no farther from a point inside), so the distances are those over the image.
  for (std::size_t l = 1; l < boxes.size(); ++l) {
    const Box& b = boxes[l];
    if (b.r0 > b.r1) continue;
    const std::size_t r0 = b.r0 > 0 ? b.r0 - 1 : 0, c0 = b.c0 > 0 ? b.c0 - 1 : 0;
    const std::size_t r1 = std::min(height - 1, b.r1 + 1), c1 = std::min(width - 1, b.c1 + 1);
    const int bh = static_cast<int>(r1 - r0 + 1), bw = static_cast<int>(c1 - c0 + 1);
    cv::Mat member(bh, bw, CV_8U, cv::Scalar(0));
    std::size_t members = 0;
    for (int r = 0; r < bh; ++r)
      for (int c = 0; c < bw; ++c)
        if (labels(r0 + std::size_t(r), c0 + std::size_t(c)) == l) member.at<std::uint8_t>(r, c) = 1, ++members;
    const bool no_outline = members == static_cast<std::size_t>(bh) * static_cast<std::size_t>(bw);
    cv::Mat dist;
    if (!no_outline) cv::distanceTransform(member, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE, CV_32F);
    for (int r = 0; r < bh; ++r)
      for (int c = 0; c < bw; ++c) {
        if (!member.at<std::uint8_t>(r, c)) continue;
        const double depth = no_outline ? std::numeric_limits<double>::infinity()
                                        : double(dist.at<float>(r, c)) * pixel_size_nm;
        const std::size_t rr = r0 + std::size_t(r), cc = c0 + std::size_t(c);
        const float stored = static_cast<float>(depth);  // classify what is stored
        out.depth_nm(rr, cc) = stored;
        out.regions(rr, cc) = double(stored) <= surface_nm ? kRegionSurface : kRegionCore;
      }
  }
  return out;
}

}  // namespace xanesmap
