// From an optical-density stack to Mn valence maps: per-pixel normalization, Mn mask, edge
// energy with a reference calibration, and constrained linear-combination fitting (LCF).
//
// Every pixel ends with a status (PixelStatus). A pixel that cannot be measured keeps NaN in
// the value maps and its status says why; it is counted, never replaced by a "safe" value.
//
// All spectra, the pixels' and the references', go through the same SpectrumNormalizer on the
// stack's energies, with windows around one e0 (options or the references' mean derivative
// maximum). The references are interpolated onto the stack's energies inside the analysis range
// (pre-edge window start to post-edge window end) and must cover it.
//
// This header holds the options and the result; the work is done in three steps, each in its
// own file: the set-up shared by all pixels (valence_model.hpp), the per-pixel fits
// (valence_pixels.hpp) and the summary (valence_summary.hpp). compute_valence_maps runs them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/energy_stack.hpp"
#include "core/base/image.hpp"
#include "core/base/progress.hpp"
#include "core/base/spectrum.hpp"
#include "core/spectral/edge_calibration.hpp"
#include "core/spectral/edge_energy.hpp"
#include "core/spectral/normalization.hpp"
#include "core/spectral/reference_fit.hpp"

namespace xanesmap {

struct ReferenceSpectrum {
  std::string name;
  double valence = 0.0;
  Spectrum mu;  // raw mu(E) on its own grid, any energy shift already applied
};

enum class ValenceMethod { lcf, edge };
std::string to_string(ValenceMethod m);                    // "lcf", "edge"
ValenceMethod parse_valence_method(const std::string& s);  // OptionError otherwise

enum class PixelStatus : std::uint8_t {
  ok = 0,          // valence measured
  no_mn = 1,       // edge jump below the mask thresholds: no (or too little) Mn
  invalid_od = 2,  // optical density undefined at some energy (see the OD flags)
  no_edge = 3,     // edge method: no edge found in the search range
  fit_failed = 4,  // LCF: no feasible, well-conditioned solution
  edge_extrapolated =
      5,             // edge method: edge energy outside the references' range (value extrapolated)
  outside_view = 6,  // registration moved the pixel out of the field of view in some frame
};
inline constexpr std::array<PixelStatus, 7> kAllPixelStatuses{
    PixelStatus::ok,          PixelStatus::no_mn,      PixelStatus::invalid_od,
    PixelStatus::no_edge,     PixelStatus::fit_failed, PixelStatus::edge_extrapolated,
    PixelStatus::outside_view};
const char* status_name(PixelStatus s);  // "ok", "no_mn", ...

/// Edge options for noisy pixel spectra: a 2 eV smoothing half width. Measured on the default
/// simulated preset (256 x 256, 20000 counts), the half-height valence has bias/RMSE
/// +0.055/0.26 at 1 eV, +0.031/0.22 at 2 eV, +0.006/0.19 at 3 eV (docs/method.md).
inline EdgeEnergyOptions pixel_edge_options() {
  EdgeEnergyOptions o;
  o.smoothing_half_window_ev = 2.0;
  return o;
}

struct ValenceMapOptions {
  ValenceMethod method = ValenceMethod::lcf;  // what valence.tif holds
  NormalizationOptions normalization;         // windows relative to e0, order, flatten
  std::optional<double> e0_ev;  // eV, the pass's one e0; default: references' mean derivative max
  double min_edge_jump_od = 0.02;  // OD: mask threshold on the edge jump
  double min_jump_to_noise = 4.0;  // edge jump / its standard error (from the pre-edge noise)
  EdgeDefinition edge_definition = EdgeDefinition::half_height;  // for edge_energy and valence_edge
  EdgeEnergyOptions edge = pixel_edge_options();      // search range relative to e0, smoothing
  RelativeWindow fit_window_ev{-20.0, 40.0};          // LCF window relative to e0, eV
  LcfConstraint constraint = LcfConstraint::simplex;  // LCF constraint
  bool free_amplitude = true;                         // LCF scale s (absorbs edge-step error)
  bool align_references = false;                      // fit one global reference energy offset
  double align_range_ev = 5.0;                        // +- range of that offset, eV
  void validate() const;                              // throws OptionError naming the option
};

/// One reference's edge energies by every definition, on the stack's grid (what calibrates the
/// pixels) and on its own measured grid with its own e0 (to compare with published values).
struct CalibrationRow {
  std::string name;
  double valence = 0.0;
  std::array<double, 3> stack_grid_ev{};   // half-height, derivative max, white line
  std::array<double, 3> native_grid_ev{};  // same order
};

struct MeanSpectrum {
  std::vector<double> energy_ev;   // the analysis grid
  std::vector<double> od;          // mean OD of the pixels with status ok
  std::vector<double> normalized;  // normalized like every pixel
  std::vector<double> fit;         // LCF model on the fit window (NaN outside)
  std::vector<double> fractions;   // LCF fractions, one per reference
  double valence = 0.0, rfactor = 0.0, edge_ev = 0.0;
  std::size_t pixels = 0;
};

struct ValenceStatistics {
  double mean = 0.0, median = 0.0, std = 0.0;  // over pixels with status ok (NaN if none)
  std::size_t pixels = 0;
};

struct ValenceMaps {
  Image<float> valence;         // chosen method; NaN where status is not ok/edge_extrapolated
  Image<float> valence_edge;    // from the edge-energy calibration
  Image<float> valence_lcf;     // from LCF
  Image<float> valence_sigma;   // 1 sigma of `valence`
  Image<float> edge_energy_ev;  // by options.edge_definition
  Image<float> edge_jump_od;    // post(e0) - pre(e0), every pixel with valid OD
  Image<float> rfactor;         // LCF R-factor
  Image<std::uint8_t> mask;     // 1: passes the Mn mask
  Image<std::uint8_t> status;   // PixelStatus of the chosen method
  std::vector<Image<float>> fractions;  // LCF fraction per reference
  std::vector<std::string> reference_names;
  std::vector<double> reference_valences;
  std::array<std::size_t, kAllPixelStatuses.size()> status_counts{};
  std::size_t edge_not_found = 0, edge_outside_calibration = 0, lcf_failed = 0;  // in the mask
  ValenceStatistics statistics;
  std::vector<CalibrationRow> calibration;
  MeanSpectrum mean_spectrum;
  double e0_ev = 0.0;
  double reference_offset_ev = 0.0;  // applied to the references (align_references)
  AbsoluteWindow pre_edge_used_ev, post_edge_used_ev, fit_window_used_ev;  // as applied (clipped)
  std::vector<std::string> warnings;
};

/// Valence maps of an OD stack: the three steps in order, each public so that a caller (the
/// pipeline) can run them one by one:
///   ValenceModel model(od, od_flags, references, options);        //
///   core/spectral/valence_model.hpp ValencePixelMaps pixels = fit_valence_pixels(model, od,
///   od_flags, progress);  // valence_pixels.hpp ValenceMaps maps = summarize_valence_maps(model,
///   std::move(pixels));         // valence_summary.hpp
/// `od_flags`: per-pixel OD flags (core/stack/optical_density.hpp); non-zero means invalid_od.
/// Throws InputError for references that do not cover the analysis range, fewer than two
/// distinct valences, windows without enough energies, a non-monotonic edge calibration, or a
/// mask that keeps no pixel.
ValenceMaps compute_valence_maps(const EnergyStack& od, ImageView<const std::uint8_t> od_flags,
                                 const std::vector<ReferenceSpectrum>& references,
                                 const ValenceMapOptions& options,
                                 const ProgressSink& progress = {});

}  // namespace xanesmap
