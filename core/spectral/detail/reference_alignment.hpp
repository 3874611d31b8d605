// One energy offset for all references (ValenceMapOptions::align_references): references
// measured at another beamline or calibrated against another foil can sit a few eV off the
// stack's energy scale, which the LCF and the edge calibration read as a valence error. The
// offset is fitted to the mean OD spectrum of the pixels in the Mn mask, where the noise of the
// single pixels averages out (core/spectral/valence_model.hpp, step 5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/base/energy_stack.hpp"
#include "core/base/image.hpp"
#include "core/spectral/spectrum_normalizer.hpp"

namespace xanesmap::detail {

/// The mean OD spectrum, on the normalizer's grid (stack frames [grid_first, grid_first +
/// grid_points)), of the pixels with od_flags == 0 whose edge step passes the Mn mask: step > 0,
/// >= min_edge_jump_od and >= min_jump_to_noise times its standard error. `pixels` receives
/// their number (the spectrum is all zeros when there are none).
std::vector<double> masked_mean_od(const EnergyStack& od, ImageView<const std::uint8_t> od_flags,
                                   std::size_t grid_first, std::size_t grid_points,
                                   const SpectrumNormalizer& normalizer, double min_edge_jump_od,
                                   double min_jump_to_noise, std::size_t& pixels);

struct ReferenceOffset {
  double offset_ev = 0.0;
  bool interior = false;  // false: the best offset is the first or last one that could be fitted
};

/// The offset d in [-range_ev, range_ev] that minimizes rfactor_at(d): scanned in 0.1 eV steps,
/// refined by the vertex of a parabola through the best three when they are consecutive steps.
/// rfactor_at returns nothing for an offset that is no candidate (the shifted references stop
/// covering the grid, or the fit fails). Throws InputError when no offset is a candidate.
ReferenceOffset fit_reference_offset(
    double range_ev, const std::function<std::optional<double>(double)>& rfactor_at);

}  // namespace xanesmap::detail
