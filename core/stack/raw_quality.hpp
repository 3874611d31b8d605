// Checks of raw data for `xanesmap info`: what would make optical density wrong or undefined.
// Counts values (pixel x frame), so a hot pixel in every frame counts once per frame.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

namespace xanesmap {

struct ValueRange {
  double min = 0.0, max = 0.0, mean = 0.0;  // over finite values; all 0 when there are none
};

struct RawQuality {
  std::size_t image_values = 0;
  std::size_t images_saturated = 0;  // at or above the saturation level
  std::size_t frames_with_saturation = 0;
  std::size_t images_non_finite = 0;
  std::size_t images_not_above_dark = 0;  // I - D <= 0
  std::size_t flat_values = 0;
  std::size_t flats_saturated = 0;
  std::size_t flats_non_finite = 0;
  std::size_t flats_zero = 0;            // exactly 0: dead detector or missing flat
  std::size_t flats_not_above_dark = 0;  // F - D <= 0
  ValueRange images, flats, dark;
};

/// `images`, `flats`, `darks` are frame-major stacks of `pixels_per_frame` values (flats and
/// darks may be empty). The dark used for the comparisons is the mean of the dark frames.
RawQuality assess_raw_quality(std::span<const float> images, std::span<const float> flats,
                              std::span<const float> darks, std::size_t pixels_per_frame,
                              std::optional<double> saturation_level);

}  // namespace xanesmap
