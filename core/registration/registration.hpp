// Registration of the energy frames of an optical-density stack: one translation per frame.
//
// Convention (shared with the simulator and core/registration/shift_apply.hpp): (dy_px, dx_px) is
// the displacement of a frame's content relative to the reference: frame(y, x) = ref(y - dy, x -
// dx); +dy means the content moved down. A frame is aligned by shifting it by (-dy, -dx).
//
// Strategy (robust to the contrast change across the edge and to noise):
// 1. Template: the reference frame (default: the post-edge frame nearest the middle of the
//    post-edge frames, where Mn contrast is strong), then the mean of all post-edge frames
//    aligned to it, which has far less noise than any single frame ("mean").
// 2. Direct estimates: every frame against the template.
// 3. Chain estimates: every frame against its neighbour in energy (similar contrast).
// 4. Joint least squares per axis over both kinds of measurement, weighted by their peak
//    sharpness; a frame's consistency residual is the distance between its direct estimate and
//    the joint solution. Frames with a residual above `outlier_px`, or without any valid
//    measurement (blank, saturated, peak at the search bound), are flagged: they keep the joint
//    estimate and the flag goes to shifts.csv and the summary, never silently (the pipeline then
//    stops, or leaves them out when asked: core/pipeline.hpp, UnregisteredFrames).
// Search bound: every translation (direct and chain) is searched within max_shift_px of zero;
// unset, a quarter of the frame's shorter side (default_max_shift_px). A drift of tens of px is
// then found directly against the template, and the chain links between neighbouring energies
// (which move far less than the whole scan) confirm each frame's estimate. The correlation
// surface covers shifts up to half the padded frame per axis, so the bound lies well inside it;
// at a quarter of the side three quarters of each axis still overlap.
// Each translation: cross-correlation refined by the matrix-multiply upsampled DFT
// (M. Guizar-Sicairos, S. T. Thurman & J. R. Fienup, Opt. Lett. 33, 156 (2008)),
// core/registration/translation.hpp.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/base/energy_stack.hpp"
#include "core/base/progress.hpp"
#include "core/registration/translation.hpp"

namespace xanesmap {

struct RegistrationOptions {
  std::string reference = "mean";  // mean | first | last | index:N | energy:E (eV)
  // Frames at or above this energy are "post-edge" for the template. Unset: the stack's own edge
  // (steepest rise of the frames' mean OD) + post_edge_offset_ev, for any element's edge.
  std::optional<double> post_edge_from_ev;  // eV, absolute
  double post_edge_offset_ev = 10.0;        // eV above the stack's edge
  // px: search bound of every translation; unset: default_max_shift_px(height, width).
  std::optional<double> max_shift_px;
  double outlier_px = 0.5;  // px: direct estimate farther than this from the joint one: flagged
  int upsample = 100;       // 1/upsample px precision
  CorrelationWeighting weighting = CorrelationWeighting::plain;
  // Correlation set-up, measured on simulated OD frames (docs/method.md): a robust constant
  // background, no window (a window fixed to the detector biases particles near the border
  // toward zero shift; OD backgrounds are ~0 after the subtraction, so the periodic boundary is
  // harmless), and a 1 px Gaussian low-pass against noise.
  double window_fraction = 0.0;   // Tukey taper of each image side (0 = none)
  double lowpass_sigma_px = 1.0;  // px, Gaussian low-pass of both images (0 = none)
  // Speed (core/registration/translation.hpp, "Fast path"): coarse peaks on the surface at b-px
  // spacing for large frames. 0 = automatic: the largest b of 1, 2, 4, 8 that keeps >= 256 px per
  // side (1 below 512 px); 1 = full resolution, the reference path.
  int coarse_binning = 0;              // 0 (auto) or 1..16
  bool exhaustive_refinement = false;  // evaluate the whole 1/upsample grid (the reference path)
  void validate() const;               // OptionError naming the option
};

struct RegistrationResult {
  std::vector<double> dy_px, dx_px;  // per frame, relative to the reference
  std::vector<double>
      quality;  // per frame, 0..1: 1 - residual / outlier_px (clamped), 0 if flagged
  std::vector<double> residual_px;    // per frame: |direct - joint|, NaN without a direct estimate
  std::vector<std::uint8_t> flagged;  // per frame: 1 = shift not confirmed
  std::size_t reference_index = 0;    // the frame the shifts are relative to
  std::string
      reference_description;  // e.g. "mean of 14 post-edge frames aligned to frame 103 (6650 eV)"
  double post_edge_from_ev =
      0.0;  // eV: the post-edge threshold used (NaN with a single reference frame)
  // px: the search bound used (options.max_shift_px or the frame's default); NaN when the shifts
  // were not estimated (given or none, core/pipeline.hpp).
  double max_shift_px = std::numeric_limits<double>::quiet_NaN();
  // Per frame: 1 = left out of the aligned stack and of everything spectral (set by the pipeline
  // for flagged frames with UnregisteredFrames::exclude; register_stack leaves all 0).
  std::vector<std::uint8_t> excluded;
  std::size_t flagged_count() const;
  std::size_t excluded_count() const;
};

/// The default search bound for frames of height x width px: a quarter of the shorter side
/// (at least 1 px).
double default_max_shift_px(std::size_t height, std::size_t width);

/// Throws InputError for a stack of fewer than two frames; OptionError for a reference out of
/// range or unparseable. Blank or saturated (all-NaN) frames are flagged, not errors.
RegistrationResult register_stack(const EnergyStack& od, const RegistrationOptions& options = {},
                                  const ProgressSink& progress = {});

}  // namespace xanesmap
