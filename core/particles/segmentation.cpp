#include "core/particles/segmentation.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <numeric>
#include <string>

#include "core/base/detail/opencv_headers.hpp"
#include "core/base/error.hpp"
#include "core/particles/detail/auto_threshold.hpp"
#include "core/particles/detail/watershed.hpp"

namespace xanesmap {

namespace {

void require_finite(const char* name, double v) {
  if (!std::isfinite(v)) throw OptionError(name, "must be finite");
}

constexpr int kDr[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
constexpr int kDc[8] = {-1, 0, 1, -1, 1, -1, 0, 1};

constexpr double kSmoothingSigmaPx = 1.0;
constexpr double kGrowSigma = 2.0;  // hysteresis: low threshold, robust sigmas above the background

}  // namespace

void SegmentationOptions::validate() const {
  require_finite("particle-threshold", threshold_od);
  if (threshold_od < 0.0) throw OptionError("particle-threshold", "must be >= 0 (0 = automatic)");
  require_finite("min-area-um2", min_area_um2);
  if (min_area_um2 < 0.0) throw OptionError("min-area-um2", "must be >= 0");
  require_finite("pixel-size-nm", pixel_size_nm);
  if (pixel_size_nm <= 0.0) throw OptionError("pixel-size-nm", "must be > 0");
  if (opening_radius_px < 0 || opening_radius_px > 100)
    throw OptionError("opening-radius-px",
                      "must be in 0-100 px, got " + std::to_string(opening_radius_px));
  require_finite("split-min-depth-px", split_min_depth_px);
  if (split_min_depth_px <= 0.0) throw OptionError("split-min-depth-px", "must be > 0");
}

Segmentation segment_particles(ImageView<const float> edge_jump_od,
                               const SegmentationOptions& options) {
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
    cv::GaussianBlur(smooth, smooth, cv::Size(7, 7), kSmoothingSigmaPx, kSmoothingSigmaPx,
                     cv::BORDER_REFLECT);
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c)
        if (float& x = smoothed(std::size_t(r), std::size_t(c)); std::isfinite(x))
          x = smooth.at<float>(r, c);
    automatic = automatic_threshold(smoothed.view());
  }
  out.threshold_od = options.threshold_od > 0.0 ? options.threshold_od : automatic.threshold;
  if (!std::isfinite(out.threshold_od)) return out;

  // Threshold (NaN compares false: background).
  cv::Mat mask(h, w, CV_8U, cv::Scalar(0));
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c)
      if (double(smoothed(std::size_t(r), std::size_t(c))) >= out.threshold_od)
        mask.at<std::uint8_t>(r, c) = 1;

  // Hysteresis (automatic threshold on a noisy map only): grow the objects into 8-connected
  // pixels above the background level + kGrowSigma robust sigmas (see the header).
  const double grow_to = automatic.background_level + kGrowSigma * automatic.background_sigma;
  if (options.threshold_od == 0.0 && automatic.background_sigma > 0.0 &&
      grow_to < out.threshold_od) {
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
  const int n_components =
      cv::connectedComponentsWithStats(mask, components, stats, centroids, 8, CV_32S);
  const double pixel_um2 = (options.pixel_size_nm * 1e-3) * (options.pixel_size_nm * 1e-3);
  std::vector<char> keep(static_cast<std::size_t>(n_components), 0);
  for (int i = 1; i < n_components; ++i)
    keep[static_cast<std::size_t>(i)] =
        double(stats.at<int>(i, cv::CC_STAT_AREA)) * pixel_um2 >= options.min_area_um2;
  std::vector<int> label(height * width, 0);
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      const int l = components.at<int>(r, c);
      if (l > 0 && keep[static_cast<std::size_t>(l)])
        label[std::size_t(r) * width + std::size_t(c)] = l;
      else
        mask.at<std::uint8_t>(r, c) = 0;
    }

  if (options.split_touching) {
    cv::Mat dist;
    cv::distanceTransform(mask, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE, CV_32F);
    const float* d = dist.ptr<float>(0);
    const std::vector<std::size_t> order = pixels_by_decreasing_depth(d, height * width);
    label = flood_from_seeds(d, height, width, order,
                             watershed_seeds(d, height, width, order, options.split_min_depth_px));
  }

  // Sequential ids in raster order of each particle's first pixel; statistics.
  std::vector<int> id_of;
  for (std::size_t p = 0; p < label.size(); ++p) {
    const int l = label[p];
    if (l == 0) continue;
    if (static_cast<std::size_t>(l) >= id_of.size())
      id_of.resize(static_cast<std::size_t>(l) + 1, 0);
    int& id = id_of[static_cast<std::size_t>(l)];
    if (id == 0) {
      if (out.particles.size() >= 65535)
        throw InputError("segmentation: more than 65535 particles in a " +
                         size_text(height, width) + " map");
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

ParticleRegions particle_regions(const Segmentation& segmentation, double pixel_size_nm,
                                 double surface_nm) {
  require_finite("pixel-size-nm", pixel_size_nm);
  if (pixel_size_nm <= 0.0) throw OptionError("pixel-size-nm", "must be > 0");
  require_finite("surface-nm", surface_nm);
  if (surface_nm < 0.0) throw OptionError("surface-nm", "must be >= 0");
  const auto& labels = segmentation.labels;
  const std::size_t height = labels.height(), width = labels.width();
  ParticleRegions out{Image<float>(height, width, 0.0f),
                      Image<std::uint8_t>(height, width, kRegionBackground)};

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
        b.r0 = std::min(b.r0, r), b.c0 = std::min(b.c0, c), b.r1 = std::max(b.r1, r),
        b.c1 = std::max(b.c1, c);
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
        if (labels(r0 + std::size_t(r), c0 + std::size_t(c)) == l)
          member.at<std::uint8_t>(r, c) = 1, ++members;
    const bool no_outline = members == static_cast<std::size_t>(bh) * static_cast<std::size_t>(bw);
    cv::Mat dist;
    if (!no_outline)
      cv::distanceTransform(member, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE, CV_32F);
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
