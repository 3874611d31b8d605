// RawStack: what a transmission measurement gives before optical density.
//
// `counts` holds the sample images (one per energy). `flats` holds either one flat field per
// energy or a single flat used for every energy. `dark` is the (averaged) dark field, or empty
// when there is none (dark = 0). All images share the stack's size; the constructor refuses
// anything else, and its messages say which image is wrong.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "core/energy_stack.hpp"
#include "core/image.hpp"

namespace xanesmap {

class RawStack {
 public:
  /// `saturation_counts`: raw value at or above which a detector pixel is saturated (e.g.
  /// 65535 for uint16 files); nullopt when unknown (float files).
  RawStack(EnergyStack counts, std::vector<Image<float>> flats, Image<float> dark,
           std::optional<double> saturation_counts);

  const EnergyStack& counts() const { return counts_; }
  bool per_energy_flats() const { return flats_.size() > 1 || counts_.frame_count() == 1; }
  /// The flat field for energy `e` (the single flat when there is only one).
  const Image<float>& flat_for(std::size_t e) const {
    return flats_.size() == 1 ? flats_[0] : flats_[e];
  }
  std::size_t flat_count() const { return flats_.size(); }
  bool has_dark() const { return !dark_.empty(); }
  const Image<float>& dark() const { return dark_; }
  std::optional<double> saturation_counts() const { return saturation_counts_; }
  /// Moves the counts out, leaving this RawStack without counts (no frames) but with its flats
  /// and dark: for a stage that reuses the counts' storage (optical density in place).
  EnergyStack take_counts() { return std::move(counts_); }

 private:
  EnergyStack counts_;
  std::vector<Image<float>> flats_;
  Image<float> dark_;
  std::optional<double> saturation_counts_;
};

/// Pixel-wise mean of `frames` (all the same size, at least one). A pixel for which any frame
/// is at or above `saturation_counts` is set to `saturation_counts`, so that later stages see
/// it as saturated instead of as a plausible lower average; a non-finite value propagates.
Image<float> average_frames(std::span<const Image<float>> frames,
                            std::optional<double> saturation_counts);

}  // namespace xanesmap
