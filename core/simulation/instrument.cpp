#include "core/simulation/instrument.hpp"

#include <cmath>

#include "core/base/error.hpp"
#include "core/base/random.hpp"

namespace xanesmap::sim {

namespace {
constexpr float kDeadBandTransmission = 0.01f;  // a dead band still leaks ~1 % of the counts
}

void InstrumentOptions::validate(std::size_t height, std::size_t) const {
  if (!(flux_jitter >= 0.0 && flux_jitter <= 0.2))
    throw OptionError("flux-jitter", "must be a relative change between 0 and 0.2");
  if (!(flat_mismatch >= 0.0 && flat_mismatch <= 0.2))
    throw OptionError("flat-mismatch", "must be a relative change between 0 and 0.2");
  if (dead_band_px > height / 4)
    throw OptionError("dead-band-px", "must be at most a quarter of the image height");
  if (!(dim_region_fraction >= 0.0 && dim_region_fraction <= 0.5))
    throw OptionError("dim-region", "must be a fraction of the side between 0 and 0.5");
  if (!(dim_factor > 0.0 && dim_factor <= 1.0))
    throw OptionError("dim-factor", "must be a count ratio in (0, 1]");
}

double FrameBeam::mismatch(std::size_t r, std::size_t c, std::size_t h, std::size_t w) const {
  const double y =
      (static_cast<double>(r) - 0.5 * static_cast<double>(h - 1)) / static_cast<double>(h);
  const double x =
      (static_cast<double>(c) - 0.5 * static_cast<double>(w - 1)) / static_cast<double>(w);
  return 1.0 + slope_y * y + slope_x * x;
}

std::vector<FrameBeam> frame_beams(const InstrumentOptions& o, std::size_t frames, bool noise,
                                   std::uint64_t seed) {
  std::vector<FrameBeam> beams(frames);
  if (!noise) return beams;
  Random rng{seed, 0xF1D2ull};
  for (FrameBeam& b : beams) {
    b.sample_flux = 1.0 + o.flux_jitter * rng.normal();
    b.flat_flux = 1.0 + o.flux_jitter * rng.normal();
    b.slope_y = o.flat_mismatch * rng.normal();
    b.slope_x = o.flat_mismatch * rng.normal();
  }
  return beams;
}

Image<std::uint8_t> defect_mask(const InstrumentOptions& o, std::size_t h, std::size_t w) {
  Image<std::uint8_t> mask(h, w, 0);
  for (std::size_t r = h - o.dead_band_px; r < h; ++r)
    for (std::size_t c = 0; c < w; ++c) mask(r, c) = 1;
  const auto dim_h = static_cast<std::size_t>(o.dim_region_fraction * static_cast<double>(h));
  const auto dim_w = static_cast<std::size_t>(o.dim_region_fraction * static_cast<double>(w));
  for (std::size_t r = 0; r < dim_h; ++r)
    for (std::size_t c = 0; c < dim_w; ++c) mask(r, c) = 2;
  return mask;
}

void apply_detector_defects(const InstrumentOptions& o, Image<float>& illumination) {
  const Image<std::uint8_t> mask = defect_mask(o, illumination.height(), illumination.width());
  for (std::size_t p = 0; p < mask.size(); ++p) {
    if (mask.data()[p] == 1) illumination.data()[p] *= kDeadBandTransmission;
    if (mask.data()[p] == 2) illumination.data()[p] *= static_cast<float>(o.dim_factor);
  }
}

std::vector<double> frame_scales(const InstrumentOptions& o,
                                 const std::vector<double>& energies_ev) {
  std::vector<double> scales(energies_ev.size(), 1.0);
  if (o.magnification && !energies_ev.empty())
    for (std::size_t e = 0; e < energies_ev.size(); ++e)
      scales[e] = energies_ev.front() / energies_ev[e];
  return scales;
}

}  // namespace xanesmap::sim
