// RawStack: what a transmission measurement gives before optical density.
//
// `counts` holds the sample images (one per energy) as float32: optical density is computed in
// place over them. The flats are either one flat field per energy or a single flat used for
// every energy, kept in the type they were recorded in: uint16 when the detector wrote uint16
// (per-energy flats of a uint16 file, the simulator's flats), float32 otherwise (float files,
// averaged flats, which are not integers). uint16 -> float conversion is exact, so a stage sees
// the same values either way; only the memory differs (2 instead of 4 bytes per value). `dark`
// is the (averaged) dark field, or empty when there is none (dark = 0). All images share the
// stack's size; the constructors refuse anything else, and their messages say which image is
// wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "core/base/energy_stack.hpp"
#include "core/base/image.hpp"

namespace xanesmap {

class RawStack {
 public:
  /// One flat field in the type it is stored in (see flat()).
  using FlatView = std::variant<ImageView<const float>, ImageView<const std::uint16_t>>;

  /// `saturation_counts`: raw value at or above which a detector pixel is saturated (e.g.
  /// 65535 for uint16 files); nullopt when unknown (float files).
  RawStack(EnergyStack counts, std::vector<Image<float>> flats, Image<float> dark,
           std::optional<double> saturation_counts);
  /// The same with the flats as the detector recorded them (same checks, same messages).
  RawStack(EnergyStack counts, std::vector<Image<std::uint16_t>> flats, Image<float> dark,
           std::optional<double> saturation_counts);

  const EnergyStack& counts() const { return counts_; }
  bool per_energy_flats() const { return flat_count() > 1 || counts_.frame_count() == 1; }
  std::size_t flat_count() const;
  /// True when the flats are stored as uint16, false for float32.
  bool flats_are_uint16() const { return std::holds_alternative<Uint16Flats>(flats_); }
  /// The flat field for energy `e` (the single flat when there is only one), in its stored type:
  /// stages visit it (std::visit) to run one kernel per type.
  FlatView flat(std::size_t e) const;
  /// Flat value at (row, col) for energy `e`, as float (exact for uint16): for tests and
  /// diagnostics, not for loops over pixels.
  float flat_value(std::size_t e, std::size_t row, std::size_t col) const;
  bool has_dark() const { return !dark_.empty(); }
  const Image<float>& dark() const { return dark_; }
  std::optional<double> saturation_counts() const { return saturation_counts_; }
  /// Bytes of pixel data held: counts, flats and dark, each with its element size.
  std::size_t bytes() const;
  /// Bytes of the flats alone (2 or 4 per value).
  std::size_t flat_bytes() const;
  /// Moves the counts out, leaving this RawStack without counts (no frames) but with its flats
  /// and dark: for a stage that reuses the counts' storage (optical density in place).
  EnergyStack take_counts() { return std::move(counts_); }

 private:
  using FloatFlats = std::vector<Image<float>>;
  using Uint16Flats = std::vector<Image<std::uint16_t>>;
  RawStack(EnergyStack counts, std::variant<FloatFlats, Uint16Flats> flats, Image<float> dark,
           std::optional<double> saturation_counts);
  std::size_t flat_index(std::size_t e) const { return flat_count() == 1 ? 0 : e; }

  EnergyStack counts_;
  std::variant<FloatFlats, Uint16Flats> flats_;
  Image<float> dark_;
  std::optional<double> saturation_counts_;
};

/// Pixel-wise mean of `frames` (all the same size, at least one), as float. A pixel for which
/// any frame is at or above `saturation_counts` is set to `saturation_counts`, so that later
/// stages see it as saturated instead of as a plausible lower average; a non-finite value
/// propagates. The uint16 overload gives the same values as the float one on the same frames
/// converted to float (the sum is taken in double either way).
Image<float> average_frames(std::span<const Image<float>> frames,
                            std::optional<double> saturation_counts);
Image<float> average_frames(std::span<const Image<std::uint16_t>> frames,
                            std::optional<double> saturation_counts);

}  // namespace xanesmap
