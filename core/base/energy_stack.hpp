// EnergyStack: one float32 frame per X-ray energy, all frames the same size.
//
// Energies are in eV and strictly increasing; the constructor refuses anything else and says
// what is wrong. Frames are stored contiguously, frame-major: value (e, row, col) lives at
// data()[(e * height + row) * width + col]. Image conventions (axis order, pixel centres,
// NaN) are those of core/base/image.hpp.
//
// The same type carries raw counts (before optical density) and optical density (after):
// what the values mean is decided by the stage that produced them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/base/bulk_buffer.hpp"
#include "core/base/image.hpp"

namespace xanesmap {

/// Throws InputError unless `energies_ev` is non-empty, finite and strictly increasing. The
/// message names the first offending index and value (duplicate or decreasing).
void check_energies_strictly_increasing(std::span<const double> energies_ev);

class EnergyStack {
 public:
  EnergyStack() = default;
  /// Takes `values` (energies.size() * height * width floats, frame-major).
  EnergyStack(std::vector<double> energies_ev, std::size_t height, std::size_t width,
              FloatBuffer values);
  /// Copies `values` (energies.size() * height * width floats, frame-major).
  EnergyStack(std::vector<double> energies_ev, std::size_t height, std::size_t width,
              const std::vector<float>& values);
  /// One image per energy; every frame must have the size of the first.
  EnergyStack(std::vector<double> energies_ev, const std::vector<Image<float>>& frames);

  std::size_t frame_count() const { return energies_ev_.size(); }
  std::size_t height() const { return height_; }
  std::size_t width() const { return width_; }
  std::size_t pixels_per_frame() const { return height_ * width_; }
  const std::vector<double>& energies_ev() const { return energies_ev_; }
  double energy_ev(std::size_t e) const { return energies_ev_[e]; }

  ImageView<const float> frame(std::size_t e) const {
    return {values_.data() + e * pixels_per_frame(), height_, width_};
  }
  ImageView<float> frame(std::size_t e) {
    return {values_.data() + e * pixels_per_frame(), height_, width_};
  }
  /// Removes the frames whose entry in `remove` (one per frame) is non-zero, moving the others
  /// down in place: no second stack is allocated. InputError when `remove` has not one entry
  /// per frame or would remove every frame.
  void remove_frames(std::span<const std::uint8_t> remove);

  std::span<const float> values() const { return values_; }
  std::span<float> values() { return values_; }

 private:
  std::vector<double> energies_ev_;
  std::size_t height_ = 0;
  std::size_t width_ = 0;
  FloatBuffer values_;
};

}  // namespace xanesmap
