#include "core/stack/raw_quality.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace xanesmap {

namespace {
struct RangeAccumulator {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0.0;
  std::size_t count = 0;
  void add(double v) { min = std::min(min, v), max = std::max(max, v), sum += v, ++count; }
  ValueRange range() const {
    return count ? ValueRange{min, max, sum / static_cast<double>(count)} : ValueRange{};
  }
};
}  // namespace

RawQuality assess_raw_quality(std::span<const float> images, std::span<const float> flats,
                              std::span<const float> darks, std::size_t pixels,
                              std::optional<double> saturation_level) {
  RawQuality q;
  const double saturation = saturation_level.value_or(std::numeric_limits<double>::infinity());
  std::vector<double> dark(pixels, 0.0);
  RangeAccumulator dark_range;
  if (pixels && !darks.empty()) {
    const std::size_t frames = darks.size() / pixels;
    for (std::size_t i = 0; i < darks.size(); ++i) {
      if (std::isfinite(darks[i])) dark_range.add(darks[i]);
      dark[i % pixels] += darks[i] / static_cast<double>(frames);
    }
  }
  q.dark = dark_range.range();

  RangeAccumulator image_range;
  q.image_values = images.size();
  for (std::size_t frame = 0; pixels && frame * pixels < images.size(); ++frame) {
    bool saturated_frame = false;
    for (std::size_t p = 0; p < pixels; ++p) {
      const double v = images[frame * pixels + p];
      if (!std::isfinite(v)) {
        ++q.images_non_finite;
        continue;
      }
      image_range.add(v);
      if (v >= saturation) ++q.images_saturated, saturated_frame = true;
      if (v - dark[p] <= 0.0) ++q.images_not_above_dark;
    }
    q.frames_with_saturation += saturated_frame;
  }
  q.images = image_range.range();

  RangeAccumulator flat_range;
  q.flat_values = flats.size();
  for (std::size_t i = 0; pixels && i < flats.size(); ++i) {
    const double v = flats[i];
    if (!std::isfinite(v)) {
      ++q.flats_non_finite;
      continue;
    }
    flat_range.add(v);
    if (v >= saturation) ++q.flats_saturated;
    if (v == 0.0) ++q.flats_zero;
    if (v - dark[i % pixels] <= 0.0) ++q.flats_not_above_dark;
  }
  q.flats = flat_range.range();
  return q;
}

}  // namespace xanesmap
