// The order of the stages, and nothing else: raw counts -> optical density
// -> beam normalization (the per-frame OD of the sample-free field subtracted) -> registration
// of the energy frames (estimate, or shifts given) -> shifts applied -> valence maps -> particles
// (segmentation, then their statistics). The only file that knows that order: `xanesmap map`
// reads, runs this, writes; `xanesmap align` runs its first four stages; the benchmark runs
// it and times the stages from their events (StageObserver).
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "core/base/background_release.hpp"
#include "core/base/defaults.hpp"
#include "core/base/progress.hpp"
#include "core/particles/particle_analysis.hpp"
#include "core/registration/registration.hpp"
#include "core/registration/shift_apply.hpp"
#include "core/spectral/valence_map.hpp"
#include "core/spectral/valence_model.hpp"
#include "core/spectral/valence_pixels.hpp"
#include "core/spectral/valence_summary.hpp"
#include "core/stack/beam_normalization.hpp"
#include "core/stack/optical_density.hpp"
#include "core/stack/raw_stack.hpp"

namespace xanesmap {

/// The stages whose begin and end a StageObserver sees, in the order they run. With alignment
/// `given` or `none`, registration is skipped (no event); with `none`, shift_apply too.
/// The valence maps take three: the model (references on the stack's grid, calibration, noise
/// model), the per-pixel fits, and their summary (core/spectral/valence_map.hpp).
inline constexpr std::array<std::string_view, 9> kMapStages{
    "optical_density", "beam_normalization", "registration", "shift_apply",        "valence_model",
    "pixel_fits",      "valence_summary",    "segmentation", "particle_statistics"};

enum class AlignmentMode { estimate, given, none };

/// What the pipeline does with frames whose shift is not confirmed (RegistrationResult::flagged:
/// registration found no usable peak within the search bound, e.g. a blank frame, or the frame
/// disagrees with its neighbours; with shifts given, a table row of quality 0). Such a frame
/// holds a wrong shift as often as not, and its spectrum values would enter every pixel's fit.
enum class UnregisteredFrames {
  stop,     // InputError naming the frames (index, energy) and the options that help (default)
  exclude,  // leave them out of the aligned stack, hence out of everything spectral; marked in
            // RegistrationResult::excluded, counted and named in the outputs
};

struct MapPipelineOptions {
  OpticalDensityOptions optical_density;
  AlignmentMode alignment = AlignmentMode::estimate;  // register the frames (default)
  RegistrationOptions registration;                   // for `estimate`
  std::vector<double> given_dy_px, given_dx_px;       // for `given`: one per frame
  std::vector<double> given_quality;                  // for `given`: quality column (0 = flagged)
  BeamNormalizationOptions beam;  // the beam's per-frame OD surface, measured off the sample
  UnregisteredFrames unregistered = UnregisteredFrames::stop;  // frames whose shift is unconfirmed
  ValenceMapOptions valence;
  ParticleAnalysisOptions particles;           // segmentation's pixel size is pixel_size_nm
  double pixel_size_nm = kDefaultPixelSizeNm;  // nm: particle areas, surface depth, depth bins
  void validate() const;                       // OptionError naming the option
};

/// What a caller may attach to a run: progress for a display, stage events for a clock, and a
/// BackgroundRelease that takes the aligned OD stack once the maps exist (the particle stages
/// then run while it is given back to the kernel: core/base/background_release.hpp).
struct PipelineHooks {
  ProgressSink progress;
  StageObserver observer;
  BackgroundRelease* stack_release = nullptr;
};

struct OpticalDensitySummary {
  std::size_t invalid_pixels = 0;                                // including those outside the view
  std::array<std::size_t, kAllOdFlags.size()> pixels_by_flag{};  // kAllOdFlags order
};

struct MapPipelineResult {
  std::vector<double> energies_ev;  // the stack's energies, every frame (registration's rows)
  OpticalDensitySummary optical_density;
  AlignmentMode alignment = AlignmentMode::estimate;
  RegistrationResult
      registration;        // shifts applied (zeros with `none`); flags only with `estimate`
  BeamNormalization beam;  // per-frame OD surface subtracted before registration
  ValenceMaps maps;
  ParticleAnalysis particles;  // on maps.edge_jump_od, at options.pixel_size_nm
};

/// OD, then beam normalization, registration and shift application: the aligned OD stack and its
/// per-pixel flags
/// (od_outside_view where a pixel left the field of view). Shared by `map` and `align`.
/// Throws InputError when not one OD value of the stack can be computed (all-zero flats, a stack
/// saturated or NaN everywhere); some invalid pixels or frames are data, flagged per pixel.
/// Frames whose shift is not confirmed: InputError naming them (UnregisteredFrames::stop), or
/// left out of `od` (exclude; `flags` then describe the frames kept).
struct AlignedOpticalDensity {
  EnergyStack od;  // the frames kept (all but registration.excluded)
  Image<std::uint8_t> flags;
  OpticalDensitySummary summary;
  RegistrationResult registration;        // one entry per input frame
  BeamNormalization beam;                 // per input frame
  std::vector<double> frame_energies_ev;  // every input frame's energy (registration's rows)
};
AlignedOpticalDensity aligned_optical_density(const RawStack& raw,
                                              const MapPipelineOptions& options,
                                              const PipelineHooks& hooks = {});
/// The same, consuming the raw stack: OD is written over the counts, so the run holds one
/// stack (plus the raw flats until OD is done) instead of three. Identical results.
AlignedOpticalDensity aligned_optical_density(RawStack&& raw, const MapPipelineOptions& options,
                                              const PipelineHooks& hooks = {});

/// After apply_shifts: sets od_outside_view where the pixel left the field of view in any frame
/// (`aligned.outside_any`), otherwise od_not_finite where an aligned value is not finite in some
/// frame (`aligned.not_finite_any`: interpolation spreads an invalid value to its neighbours).
void flag_aligned_pixels(const AlignedStack& aligned, Image<std::uint8_t>& flags);
/// Pixels with any flag, and per flag.
OpticalDensitySummary summarize_od_flags(const Image<std::uint8_t>& flags);

/// Every stage, raw counts to particle statistics. Throws InputError, besides the stages' own
/// errors, when every pixel's OD is undefined at one energy or more (e.g. whole frames
/// saturated): no pixel could be mapped. Options are validated before any work.
MapPipelineResult run_map_pipeline(const RawStack& raw,
                                   const std::vector<ReferenceSpectrum>& references,
                                   const MapPipelineOptions& options,
                                   const PipelineHooks& hooks = {});
/// The same, consuming the raw stack (see aligned_optical_density): for callers that do not need
/// the raw stack afterwards, e.g. `xanesmap map` (std::move(loaded.raw)).
MapPipelineResult run_map_pipeline(RawStack&& raw, const std::vector<ReferenceSpectrum>& references,
                                   const MapPipelineOptions& options,
                                   const PipelineHooks& hooks = {});

}  // namespace xanesmap
