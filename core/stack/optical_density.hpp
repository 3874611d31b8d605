// Optical density from raw counts, flat and dark fields (Beer-Lambert law):
//
//   OD(E, p) = -ln( (I(E, p) - D(p)) / (F(E, p) - D(p)) )
//
// with I the sample counts, F the flat field for that energy (or the single flat; float32 or
// uint16 as the RawStack holds it, with the same values to the bit), D the dark field (0 when
// there is none). A value that cannot be computed honestly is NaN in the OD stack
// and flagged in a per-pixel status map, never clipped:
//   - the sample is not above the dark (I - D <= 0): no transmitted signal;
//   - the flat is not above the dark (F - D <= 0): no illumination reference;
//   - the raw sample or flat value is at or above the saturation level;
//   - a raw value is NaN or Inf.
// The status map ORs the flags of a pixel over all energies: 0 means valid at every energy.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/energy_stack.hpp"
#include "core/base/progress.hpp"
#include "core/stack/raw_stack.hpp"

namespace xanesmap {

enum OdFlag : std::uint8_t {
  od_sample_not_above_dark = 1,
  od_flat_not_above_dark = 2,
  od_saturated = 4,
  od_not_finite = 8,
  od_outside_view = 16,  // set by registration: the pixel left the field of view in some frame
};
inline constexpr std::array<OdFlag, 5> kAllOdFlags{od_sample_not_above_dark, od_flat_not_above_dark,
                                                   od_saturated, od_not_finite, od_outside_view};
/// "sample_not_above_dark", ... (the names used in summaries and docs).
const char* od_flag_name(OdFlag flag);

struct OpticalDensityOptions {
  std::optional<double> saturation_counts;  // raw counts; overrides the stack's level when set
  void validate() const;                    // throws OptionError("saturation", ...)
};

struct OpticalDensityResult {
  EnergyStack od;                  // NaN where a value could not be computed
  Image<std::uint8_t> flags;       // OR of OdFlag over all energies, per pixel
  std::size_t invalid_pixels = 0;  // pixels with any flag
  std::array<std::size_t, kAllOdFlags.size()> pixels_by_flag{};  // pixels having kAllOdFlags[i]
  std::vector<std::size_t> invalid_per_energy;                   // NaN values in each frame
};

OpticalDensityResult compute_optical_density(const RawStack& raw,
                                             const OpticalDensityOptions& options = {},
                                             const ProgressSink& progress = {});

/// The same, consuming the raw stack: the OD is written over the counts (no second stack), and
/// the flats are freed on return. The values are those of the overload above.
OpticalDensityResult compute_optical_density(RawStack&& raw,
                                             const OpticalDensityOptions& options = {},
                                             const ProgressSink& progress = {});

/// -ln(x) in float for x > 0, to within 2 ulp of the correctly rounded value (the polynomial of
/// S. L. Moshier's Cephes logf, relative error below 1e-7 on [sqrt(1/2), sqrt(2))), written
/// without branches or calls so that loops over pixels vectorize. Only for normal, finite x
/// (FLT_MIN <= x <= FLT_MAX); callers handle the others. Public for its test.
float minus_log(float x);

}  // namespace xanesmap
