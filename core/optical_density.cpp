#include "core/optical_density.hpp"

#include <cmath>
#include <limits>

#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

#include "core/error.hpp"

namespace xanesmap {

const char* od_flag_name(OdFlag flag) {
  switch (flag) {
    case od_sample_not_above_dark: return "sample_not_above_dark";
    case od_flat_not_above_dark: return "flat_not_above_dark";
    case od_saturated: return "saturated";
    case od_not_finite: return "not_finite";
    case od_outside_view: return "outside_view";
  }
  return "unknown";
}

void OpticalDensityOptions::validate() const {
  if (saturation_counts && !(std::isfinite(*saturation_counts) && *saturation_counts > 0))
    throw OptionError("saturation", "must be a positive number of counts");
}

namespace {
// Flags of one value; 0 when OD can be computed.
inline std::uint8_t classify(float sample, float flat, float dark, float saturation) {
  if (!std::isfinite(sample) || !std::isfinite(flat) || !std::isfinite(dark)) return od_not_finite;
  std::uint8_t f = 0;
  if (sample >= saturation || flat >= saturation) f |= od_saturated;
  if (sample - dark <= 0.0f) f |= od_sample_not_above_dark;
  if (flat - dark <= 0.0f) f |= od_flat_not_above_dark;
  return f;
}
}  // namespace

OpticalDensityResult compute_optical_density(const RawStack& raw,
                                             const OpticalDensityOptions& options,
                                             const ProgressSink& progress) {
  options.validate();
  const EnergyStack& counts = raw.counts();
  const std::size_t n = counts.frame_count(), h = counts.height(), w = counts.width();
  const auto saturation_level = options.saturation_counts ? options.saturation_counts
                                                          : raw.saturation_counts();
  const float saturation = saturation_level ? static_cast<float>(*saturation_level)
                                            : std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();

  std::vector<float> od(n * h * w);
  Image<std::uint8_t> flags(h, w, 0);
  std::vector<std::size_t> invalid_per_energy(n, 0);
  for (std::size_t e = 0; e < n; ++e) {
    const ImageView<const float> sample = counts.frame(e);
    const float* flat = raw.flat_for(e).data();
    const float* dark = raw.has_dark() ? raw.dark().data() : nullptr;
    float* out = od.data() + e * h * w;
    // Rows are independent; each row's flags are written by one task only.
    invalid_per_energy[e] = tbb::parallel_reduce(
        tbb::blocked_range<std::size_t>(0, h), std::size_t{0},
        [&](const tbb::blocked_range<std::size_t>& rows, std::size_t invalid) {
          for (std::size_t r = rows.begin(); r != rows.end(); ++r) {
            for (std::size_t c = 0; c < w; ++c) {
              const std::size_t p = r * w + c;
              const float d = dark ? dark[p] : 0.0f;
              const std::uint8_t f = classify(sample(r, c), flat[p], d, saturation);
              if (f) {
                out[p] = nan;
                flags.data()[p] |= f;
                ++invalid;
              } else {
                out[p] = -std::log((sample(r, c) - d) / (flat[p] - d));
              }
            }
          }
          return invalid;
        },
        std::plus<>());
    report(progress, "optical density", e + 1, n);
  }

  OpticalDensityResult result{EnergyStack(counts.energies_ev(), h, w, std::move(od)),
                              std::move(flags), 0, {}, std::move(invalid_per_energy)};
  for (const std::uint8_t f : result.flags.pixels()) {
    if (!f) continue;
    ++result.invalid_pixels;
    for (std::size_t i = 0; i < kAllOdFlags.size(); ++i)
      if (f & kAllOdFlags[i]) ++result.pixels_by_flag[i];
  }
  return result;
}

}  // namespace xanesmap
