#include "core/base/energy_stack.hpp"

#include <cmath>
#include <cstring>
#include <sstream>

#include "core/base/error.hpp"

namespace xanesmap {

void check_energies_strictly_increasing(std::span<const double> energies_ev) {
  if (energies_ev.empty()) throw InputError("no energies given");
  for (std::size_t i = 0; i < energies_ev.size(); ++i) {
    if (!std::isfinite(energies_ev[i])) {
      std::ostringstream m;
      m << "energy " << i << " is not a finite number (" << energies_ev[i] << ")";
      throw InputError(m.str());
    }
    if (i == 0) continue;
    if (energies_ev[i] == energies_ev[i - 1]) {
      std::ostringstream m;
      m.precision(10);
      m << "energies " << i - 1 << " and " << i << " are duplicates (" << energies_ev[i]
        << " eV); energies must be strictly increasing";
      throw InputError(m.str());
    }
    if (energies_ev[i] < energies_ev[i - 1]) {
      std::ostringstream m;
      m.precision(10);
      m << "energies are not increasing: energy " << i << " (" << energies_ev[i]
        << " eV) is below energy " << i - 1 << " (" << energies_ev[i - 1]
        << " eV); energies must be strictly increasing";
      throw InputError(m.str());
    }
  }
}

EnergyStack::EnergyStack(std::vector<double> energies_ev, std::size_t height, std::size_t width,
                         FloatBuffer values)
    : energies_ev_(std::move(energies_ev)),
      height_(height),
      width_(width),
      values_(std::move(values)) {
  check_energies_strictly_increasing(energies_ev_);
  if (height_ == 0 || width_ == 0)
    throw InputError("frames are " + size_text(height_, width_) + ": an image needs pixels");
  const std::size_t expected = energies_ev_.size() * height_ * width_;
  if (values_.size() != expected) {
    std::ostringstream m;
    m << energies_ev_.size() << " energies of " << size_text(height_, width_) << " need "
      << expected << " values, but " << values_.size() << " were given";
    throw InputError(m.str());
  }
}

EnergyStack::EnergyStack(std::vector<double> energies_ev, std::size_t height, std::size_t width,
                         const std::vector<float>& values)
    : EnergyStack(std::move(energies_ev), height, width,
                  FloatBuffer(values.begin(), values.end())) {}

namespace {
FloatBuffer concatenate(const std::vector<Image<float>>& frames, std::size_t energies) {
  if (frames.size() != energies)
    throw InputError(std::to_string(energies) + " energies but " + std::to_string(frames.size()) +
                     " frames");
  if (frames.empty()) return {};
  const std::size_t h = frames[0].height(), w = frames[0].width();
  FloatBuffer values(frames.size() * h * w);
  for (std::size_t e = 0; e < frames.size(); ++e) {
    if (frames[e].height() != h || frames[e].width() != w)
      throw InputError("frame " + std::to_string(e) + " is " +
                       size_text(frames[e].height(), frames[e].width()) + " but frame 0 is " +
                       size_text(h, w));
    std::memcpy(values.data() + e * h * w, frames[e].data(), h * w * sizeof(float));
  }
  return values;
}
}  // namespace

EnergyStack::EnergyStack(std::vector<double> energies_ev, const std::vector<Image<float>>& frames)
    : EnergyStack(energies_ev, frames.empty() ? 0 : frames[0].height(),
                  frames.empty() ? 0 : frames[0].width(), concatenate(frames, energies_ev.size())) {
}

void EnergyStack::remove_frames(std::span<const std::uint8_t> remove) {
  if (remove.size() != frame_count())
    throw InputError("removing frames: " + std::to_string(remove.size()) + " entries for " +
                     std::to_string(frame_count()) + " frames");
  const std::size_t pixels = pixels_per_frame();
  std::vector<double> kept_energies;
  for (std::size_t e = 0; e < frame_count(); ++e) {
    if (remove[e]) continue;
    // Frames only move down (to a lower or the same index), so no frame is overwritten before
    // it is moved; memmove because source and destination may be the same frame.
    std::memmove(values_.data() + kept_energies.size() * pixels, values_.data() + e * pixels,
                 pixels * sizeof(float));
    kept_energies.push_back(energies_ev_[e]);
  }
  if (kept_energies.empty()) throw InputError("removing frames: every frame would be removed");
  values_.resize(kept_energies.size() * pixels);  // shrinks without reallocating
  energies_ev_ = std::move(kept_energies);
}

}  // namespace xanesmap
