// Beam normalization: the incident flux of a sample frame and of its flat differ (top-up
// injections, monochromator and beam motion, typically ~1 %) and the illumination pattern moves a
// little between them, so every pixel's optical density carries a per-frame offset (and a smooth
// tilt) that has nothing to do with the sample. Where there is no sample, the OD should be the
// same in every frame; this stage measures it there and subtracts it.
//
// 1. Sample-free pixels: on the mean of the post-edge frames (where every particle absorbs most),
//    the background level is the mode of a histogram of the values and its noise the robust
//    spread of the values below the mode (particles only add OD, so the lower side is pure
//    background); pixels above level + 5 sigma (at least +0.005 OD) are sample, and the sample
//    mask is dilated by `margin_px` (blur, drift residuals, faint particle rims).
// 2. Per frame, a model of the OD of the sample-free pixels: a constant (`offset`, the default),
//    a plane or a quadratic surface in the pixel coordinates, fitted by least squares after
//    rejecting values beyond 4 robust sigma of the median (debris, dust, hot pixels), once more
//    on the residuals; the model is subtracted from every pixel of that frame.
// With the surface subtracted, the OD of an empty region is ~0 at every energy, and a
// pixel's spectrum loses the per-frame offsets that would otherwise bias its edge jump and
// valence (the bias grows as 1 / edge jump). The constant is exactly what a per-frame incident
// flux change I0_s / I0_f does to OD = -ln(I_s / I_f); plane and quadratic add the smooth
// mismatch of the illumination pattern.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/energy_stack.hpp"
#include "core/base/image.hpp"

namespace xanesmap {

enum class BeamModel { none, offset, plane, quadratic };
const char* to_string(BeamModel model);
/// "none", "offset", "plane" or "quadratic"; OptionError naming --background otherwise.
BeamModel parse_beam_model(const std::string& text);

struct BeamNormalizationOptions {
  BeamModel model = BeamModel::plane;
  double margin_px = 8.0;  // px: the sample mask is dilated by this much
  // Below this share of the field's valid pixels being sample-free, nothing is corrected and
  // the result says why (a field filled by the sample has no reference for the beam).
  double min_background_fraction = 0.02;
  void validate() const;  // OptionError naming the option
};

struct BeamNormalization {
  BeamModel model = BeamModel::none;  // the model applied (none when skipped)
  bool applied = false;
  std::string skipped_reason;         // when not applied although asked for
  std::size_t background_pixels = 0;  // sample-free pixels used
  double background_fraction = 0.0;   // of the valid pixels
  std::vector<double> offset_od;      // per frame: the subtracted surface's mean over the field
  std::vector<std::vector<double>> coefficients;  // per frame: model coefficients (see .cpp)
  Image<std::uint8_t> background;                 // 1 where a pixel was used as sample-free
};

/// Measures and subtracts the beam's per-frame OD surface in place, from the finite values only
/// (a pixel invalid in some frames still serves in the others; a frame without enough values is
/// left as it is). `post_edge_from_ev` selects the frames averaged for the sample mask (NaN: the
/// upper third of the stack).
BeamNormalization normalize_beam(EnergyStack& od, double post_edge_from_ev,
                                 const BeamNormalizationOptions& options);

}  // namespace xanesmap
