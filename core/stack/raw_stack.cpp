#include "core/stack/raw_stack.hpp"

#include <cmath>

#include "core/base/error.hpp"

namespace xanesmap {

namespace {
template <typename T>
void check_same_size(const Image<T>& image, const EnergyStack& stack, const std::string& what) {
  if (image.height() != stack.height() || image.width() != stack.width())
    throw InputError(what + " is " + size_text(image.height(), image.width()) +
                     " but the stack is " + size_text(stack.height(), stack.width()));
}
}  // namespace

RawStack::RawStack(EnergyStack counts, std::vector<Image<float>> flats, Image<float> dark,
                   std::optional<double> saturation_counts)
    : RawStack(std::move(counts), std::variant<FloatFlats, Uint16Flats>(std::move(flats)),
               std::move(dark), saturation_counts) {}

RawStack::RawStack(EnergyStack counts, std::vector<Image<std::uint16_t>> flats, Image<float> dark,
                   std::optional<double> saturation_counts)
    : RawStack(std::move(counts), std::variant<FloatFlats, Uint16Flats>(std::move(flats)),
               std::move(dark), saturation_counts) {}

RawStack::RawStack(EnergyStack counts, std::variant<FloatFlats, Uint16Flats> flats,
                   Image<float> dark, std::optional<double> saturation_counts)
    : counts_(std::move(counts)),
      flats_(std::move(flats)),
      dark_(std::move(dark)),
      saturation_counts_(saturation_counts) {
  std::visit(
      [this](const auto& list) {
        if (list.empty()) throw InputError("no flat field given");
        if (list.size() != 1 && list.size() != counts_.frame_count())
          throw InputError(std::to_string(list.size()) + " flat fields for " +
                           std::to_string(counts_.frame_count()) +
                           " energies: give one per energy, or one for all");
        for (std::size_t i = 0; i < list.size(); ++i)
          check_same_size(list[i], counts_, "flat field " + std::to_string(i));
      },
      flats_);
  if (!dark_.empty()) check_same_size(dark_, counts_, "dark field");
  if (saturation_counts_ && !(std::isfinite(*saturation_counts_) && *saturation_counts_ > 0))
    throw OptionError("saturation", "the saturation level must be a positive number");
}

std::size_t RawStack::flat_count() const {
  return std::visit([](const auto& list) { return list.size(); }, flats_);
}

RawStack::FlatView RawStack::flat(std::size_t e) const {
  return std::visit([&](const auto& list) { return FlatView(list[flat_index(e)].view()); }, flats_);
}

float RawStack::flat_value(std::size_t e, std::size_t row, std::size_t col) const {
  return std::visit(
      [&](const auto& list) { return static_cast<float>(list[flat_index(e)](row, col)); }, flats_);
}

std::size_t RawStack::flat_bytes() const {
  return std::visit(
      [](const auto& list) {
        std::size_t sum = 0;
        for (const auto& f : list) sum += f.size() * sizeof(f.data()[0]);
        return sum;
      },
      flats_);
}

std::size_t RawStack::bytes() const {
  return counts_.values().size() * sizeof(float) + flat_bytes() + dark_.size() * sizeof(float);
}

namespace {
template <typename T>
Image<float> average(std::span<const Image<T>> frames, std::optional<double> saturation_counts) {
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
      const auto v = static_cast<double>(f.data()[p]);
      sum += v;
      any_saturated |= v >= saturated;
    }
    mean.data()[p] = any_saturated ? static_cast<float>(saturated)
                                   : static_cast<float>(sum / static_cast<double>(frames.size()));
  }
  return mean;
}
}  // namespace

Image<float> average_frames(std::span<const Image<float>> frames,
                            std::optional<double> saturation_counts) {
  return average(frames, saturation_counts);
}

Image<float> average_frames(std::span<const Image<std::uint16_t>> frames,
                            std::optional<double> saturation_counts) {
  return average(frames, saturation_counts);
}

}  // namespace xanesmap
