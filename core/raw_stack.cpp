#include "core/raw_stack.hpp"

#include <cmath>

#include "core/error.hpp"

namespace xanesmap {

namespace {
void check_same_size(const Image<float>& image, const EnergyStack& stack, const std::string& what) {
  if (image.height() != stack.height() || image.width() != stack.width())
    throw InputError(what + " is " + size_text(image.height(), image.width()) +
                     " but the stack is " + size_text(stack.height(), stack.width()));
}
}  // namespace

RawStack::RawStack(EnergyStack counts, std::vector<Image<float>> flats, Image<float> dark,
                   std::optional<double> saturation_counts)
    : counts_(std::move(counts)), flats_(std::move(flats)), dark_(std::move(dark)),
      saturation_counts_(saturation_counts) {
  if (flats_.empty()) throw InputError("no flat field given");
  if (flats_.size() != 1 && flats_.size() != counts_.frame_count())
    throw InputError(std::to_string(flats_.size()) + " flat fields for " +
                     std::to_string(counts_.frame_count()) +
                     " energies: give one per energy, or one for all");
  for (std::size_t i = 0; i < flats_.size(); ++i)
    check_same_size(flats_[i], counts_, "flat field " + std::to_string(i));
  if (!dark_.empty()) check_same_size(dark_, counts_, "dark field");
  if (saturation_counts_ && !(std::isfinite(*saturation_counts_) && *saturation_counts_ > 0))
    throw OptionError("saturation", "the saturation level must be a positive number");
}

Image<float> average_frames(std::span<const Image<float>> frames,
                            std::optional<double> saturation_counts) {
  if (frames.empty()) throw InputError("no frames to average");
  const std::size_t h = frames[0].height(), w = frames[0].width();
  for (std::size_t i = 1; i < frames.size(); ++i)
    if (frames[i].height() != h || frames[i].width() != w)
      throw InputError("frame " + std::to_string(i) + " is " +
                       size_text(frames[i].height(), frames[i].width()) + " but frame 0 is " +
                       size_text(h, w));
  Image<float> mean(h, w);
  const double saturated = saturation_counts.value_or(INFINITY);
  for (std::size_t p = 0; p < h * w; ++p) {
    double sum = 0.0;
    bool any_saturated = false;
    for (const auto& f : frames) {
      sum += f.data()[p];
      any_saturated |= f.data()[p] >= saturated;
    }
    mean.data()[p] = any_saturated ? static_cast<float>(saturated)
                                   : static_cast<float>(sum / static_cast<double>(frames.size()));
  }
  return mean;
}

}  // namespace xanesmap
