#include "core/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/base/error.hpp"
#include "core/registration/shift_apply.hpp"

namespace xanesmap {

namespace {

// "saturated: 4096 pixels, not_finite: 12 pixels": how many pixels carry each flag.
std::string flag_counts(const std::array<std::size_t, kAllOdFlags.size()>& pixels_by_flag) {
  std::string text;
  for (std::size_t i = 0; i < kAllOdFlags.size(); ++i)
    if (pixels_by_flag[i])
      text += (text.empty() ? "" : ", ") + std::string(od_flag_name(kAllOdFlags[i])) + ": " +
              std::to_string(pixels_by_flag[i]) + " pixels";
  return text;
}

// "frames 50, 51, 52 (3 of 110) hold no valid value; ": frames without one finite OD value.
std::string empty_frames_text(const EnergyStack& od) {
  const std::size_t pixels = od.height() * od.width();
  std::vector<std::size_t> empty;
  for (std::size_t e = 0; e < od.frame_count(); ++e) {
    const float* frame = od.values().data() + e * pixels;
    bool any = false;
    for (std::size_t p = 0; p < pixels && !any; ++p) any = std::isfinite(frame[p]);
    if (!any) empty.push_back(e);
  }
  if (empty.empty()) return "";
  std::string text = "frames ";
  for (std::size_t i = 0; i < empty.size() && i < 8; ++i)
    text += (i ? ", " : "") + std::to_string(empty[i]);
  if (empty.size() > 8) text += ", ...";
  return text + " (" + std::to_string(empty.size()) + " of " + std::to_string(od.frame_count()) +
         ") hold no valid value; ";
}

}  // namespace

void MapPipelineOptions::validate() const {
  optical_density.validate();
  registration.validate();
  beam.validate();
  valence.validate();
  particles.validate();
  if (alignment == AlignmentMode::given && given_dy_px.size() != given_dx_px.size())
    throw OptionError("shifts", "dy and dx lists differ in length");
  if (!(pixel_size_nm > 0.0 && std::isfinite(pixel_size_nm)))
    throw OptionError("pixel-size-nm", "must be a positive size in nm");
  // Before the long work: measure_particles would refuse it only after the maps.
  if (particles.depth_bin_nm < pixel_size_nm / 10.0)
    throw OptionError("depth-bin-nm", "must be at least a tenth of the pixel size (" +
                                          std::to_string(pixel_size_nm / 10.0) + " nm)");
}

namespace {

/// Runs `work` between the begin and end events of `stage` (the end event only when it returns).
template <class Work>
auto run_stage(const PipelineHooks& hooks, std::string_view stage, Work&& work) {
  if (hooks.observer) hooks.observer({stage, StagePhase::begin});
  if constexpr (std::is_void_v<decltype(work())>) {
    work();
    if (hooks.observer) hooks.observer({stage, StagePhase::end});
  } else {
    auto result = work();
    if (hooks.observer) hooks.observer({stage, StagePhase::end});
    return result;
  }
}

AlignedOpticalDensity align(OpticalDensityResult od, const MapPipelineOptions& options,
                            const PipelineHooks& hooks);

}  // namespace

AlignedOpticalDensity aligned_optical_density(const RawStack& raw,
                                              const MapPipelineOptions& options,
                                              const PipelineHooks& hooks) {
  options.validate();
  return align(
      run_stage(
          hooks, kMapStages[0],
          [&] { return compute_optical_density(raw, options.optical_density, hooks.progress); }),
      options, hooks);
}

AlignedOpticalDensity aligned_optical_density(RawStack&& raw, const MapPipelineOptions& options,
                                              const PipelineHooks& hooks) {
  options.validate();
  return align(run_stage(hooks, kMapStages[0],
                         [&] {
                           return compute_optical_density(std::move(raw), options.optical_density,
                                                          hooks.progress);
                         }),
               options, hooks);
}

namespace {

// The registration stage: shifts estimated, given (checked against the stack) or none.
RegistrationResult registration_of(const EnergyStack& od, const MapPipelineOptions& options,
                                   const PipelineHooks& hooks) {
  const std::size_t n = od.frame_count();
  RegistrationResult reg;
  switch (options.alignment) {
    case AlignmentMode::estimate:
      reg = run_stage(hooks, kMapStages[2],
                      [&] { return register_stack(od, options.registration, hooks.progress); });
      break;
    case AlignmentMode::given:
      if (options.given_dy_px.size() != n)
        throw InputError("the shifts table has " + std::to_string(options.given_dy_px.size()) +
                         " rows but the stack has " + std::to_string(n) + " frames");
      reg.dy_px = options.given_dy_px, reg.dx_px = options.given_dx_px;
      reg.reference_description = "shifts given";
      if (options.given_quality.size() == n) {
        // Keep the table's verdicts: a frame it flagged (quality 0) stays flagged.
        reg.quality = options.given_quality;
        reg.residual_px.assign(n, std::numeric_limits<double>::quiet_NaN());
        reg.flagged.assign(n, 0);
        for (std::size_t i = 0; i < n; ++i) reg.flagged[i] = reg.quality[i] <= 0.0 ? 1 : 0;
      }
      break;
    case AlignmentMode::none:
      reg.dy_px.assign(n, 0.0), reg.dx_px.assign(n, 0.0);
      reg.reference_description = "not aligned";
      break;
  }
  if (reg.quality.empty()) {
    reg.quality.assign(n, 1.0), reg.residual_px.assign(n, 0.0), reg.flagged.assign(n, 0);
  }
  return reg;
}

// "frame 3 (6540 eV), frame 9 (6560 eV)": the flagged frames, at most 12 named.
std::string frames_text(const RegistrationResult& reg, const std::vector<double>& energies_ev) {
  std::ostringstream text;
  std::size_t named = 0;
  for (std::size_t i = 0; i < reg.flagged.size(); ++i) {
    if (!reg.flagged[i]) continue;
    if (named++ == 12) {
      text << ", ...";
      break;
    }
    text << (named > 1 ? ", " : "") << "frame " << i << " (" << energies_ev[i] << " eV)";
  }
  return text.str();
}

// Frames whose shift is not confirmed. `stop`: an InputError naming them and the options that
// help. `exclude`: they leave the OD stack (so no spectral stage sees them) and are marked in
// reg.excluded; a pixel's flags are the OR over frames, so pixels flagged only in excluded frames
// (every OD flag makes that frame's value NaN) are cleared: their kept values are all finite.
void settle_unregistered(OpticalDensityResult& od, RegistrationResult& reg,
                         const MapPipelineOptions& options) {
  const std::size_t n = od.od.frame_count(), flagged = reg.flagged_count();
  reg.excluded.assign(n, 0);
  if (flagged == 0) return;
  const std::string frames = frames_text(reg, od.od.energies_ev());
  const bool given = options.alignment == AlignmentMode::given;
  std::ostringstream m;
  if (given)
    m << "the shifts table marks " << flagged << " of " << n
      << " frames as not registered (quality 0): " << frames;
  else
    m << "registration could not confirm the shift of " << flagged << " of " << n
      << " frames: " << frames << " (" << reg.reference_description << "; search bound "
      << reg.max_shift_px << " px)";
  if (const std::string empty = empty_frames_text(od.od); !empty.empty())  // the likely cause
    m << "; " << empty.substr(0, empty.size() - 2) << " (" << flag_counts(od.pixels_by_flag) << ")";
  if (given)
    m << ". Give a table with confirmed shifts, register instead (without --shifts), or use "
         "--unregistered exclude (leave these frames out and go on)";
  else
    m << ". A blank or featureless frame, a drift beyond the search bound, or a frame that "
         "disagrees with its neighbours. Options that help: --max-shift PX (a larger bound), "
         "--reference (another template, e.g. energy:E), --outlier-px PX (a looser consistency "
         "check), or --unregistered exclude (leave these frames out and go on)";
  if (options.unregistered == UnregisteredFrames::stop) throw InputError(m.str());
  if (flagged == n) throw InputError(m.str() + "; every frame would be left out");
  reg.excluded = reg.flagged;
  od.od.remove_frames(reg.excluded);
  const std::size_t pixels = od.od.pixels_per_frame();
  const std::span<const float> values = std::as_const(od.od).values();
  for (std::size_t p = 0; p < pixels; ++p) {
    if (!od.flags.data()[p]) continue;
    bool finite = true;
    for (std::size_t e = 0; e < od.od.frame_count() && finite; ++e)
      finite = std::isfinite(values[e * pixels + p]);
    if (finite) od.flags.data()[p] = 0;
  }
}

AlignedOpticalDensity align(OpticalDensityResult od, const MapPipelineOptions& options,
                            const PipelineHooks& hooks) {
  // A stack without a single valid value (all-zero flats, saturated everywhere, all NaN) is not
  // data with some bad pixels: nothing downstream could do anything with it.
  if (std::all_of(od.invalid_per_energy.begin(), od.invalid_per_energy.end(),
                  [&](std::size_t invalid) { return invalid >= od.flags.size(); }))
    throw InputError("optical density is undefined at every pixel and energy (" +
                     flag_counts(od.pixels_by_flag) + ")");
  // The beam's surface is fixed to the detector: measured and removed before the frames move.
  BeamNormalization beam = run_stage(hooks, kMapStages[1], [&] {
    return normalize_beam(od.od, std::numeric_limits<double>::quiet_NaN(), options.beam);
  });
  RegistrationResult reg = registration_of(od.od, options, hooks);
  std::vector<double> frame_energies_ev = od.od.energies_ev();
  settle_unregistered(od, reg, options);
  AlignedOpticalDensity out{std::move(od.od), std::move(od.flags), {},
                            std::move(reg),   std::move(beam),     std::move(frame_energies_ev)};
  if (options.alignment != AlignmentMode::none)
    run_stage(hooks, kMapStages[3], [&] {
      std::vector<double> dy_px, dx_px;  // of the frames kept
      for (std::size_t i = 0; i < out.registration.dy_px.size(); ++i)
        if (!out.registration.excluded[i])
          dy_px.push_back(out.registration.dy_px[i]), dx_px.push_back(out.registration.dx_px[i]);
      AlignedStack aligned = apply_shifts(std::move(out.od), dy_px, dx_px, hooks.progress);
      flag_aligned_pixels(aligned, out.flags);
      out.od = std::move(aligned.stack);
    });
  out.summary = summarize_od_flags(out.flags);
  return out;
}

}  // namespace

void flag_aligned_pixels(const AlignedStack& aligned, Image<std::uint8_t>& flags) {
  const std::uint8_t* outside = aligned.outside_any.data();
  const std::uint8_t* not_finite = aligned.not_finite_any.data();
  for (std::size_t p = 0; p < flags.size(); ++p)
    flags.data()[p] |= static_cast<std::uint8_t>(outside[p] ? od_outside_view
                                                            : (not_finite[p] ? od_not_finite : 0));
}

OpticalDensitySummary summarize_od_flags(const Image<std::uint8_t>& flags) {
  OpticalDensitySummary summary;
  for (const std::uint8_t f : flags.pixels()) {
    if (!f) continue;
    ++summary.invalid_pixels;
    for (std::size_t i = 0; i < kAllOdFlags.size(); ++i)
      if (f & kAllOdFlags[i]) ++summary.pixels_by_flag[i];
  }
  return summary;
}

namespace {

MapPipelineResult maps_of(AlignedOpticalDensity aligned,
                          const std::vector<ReferenceSpectrum>& references,
                          const MapPipelineOptions& options, const PipelineHooks& hooks) {
  if (aligned.summary.invalid_pixels >= aligned.flags.size())
    throw InputError(
        "every pixel's optical density is undefined at one energy or more, so no pixel can be "
        "mapped: " +
        empty_frames_text(aligned.od) +
        "pixels per flag: " + flag_counts(aligned.summary.pixels_by_flag));
  MapPipelineResult result;
  result.energies_ev = aligned.frame_energies_ev;
  result.optical_density = aligned.summary;
  result.alignment = options.alignment;
  result.registration = std::move(aligned.registration);
  result.beam = std::move(aligned.beam);
  // compute_valence_maps' three steps, each a stage of its own.
  const ValenceModel model = run_stage(hooks, kMapStages[4], [&] {
    return ValenceModel(aligned.od, aligned.flags.view(), references, options.valence);
  });
  ValencePixelMaps pixels = run_stage(hooks, kMapStages[5], [&] {
    return fit_valence_pixels(model, aligned.od, aligned.flags.view(), hooks.progress);
  });
  result.maps = run_stage(hooks, kMapStages[6],
                          [&] { return summarize_valence_maps(model, std::move(pixels)); });
  // The stack is not needed past this point: released meanwhile on a thread of its own, or here.
  if (hooks.stack_release) hooks.stack_release->release(std::move(aligned.od));
  aligned.od = {};
  SegmentationOptions segmentation = options.particles.segmentation;
  segmentation.pixel_size_nm = options.pixel_size_nm;
  Segmentation particles = run_stage(hooks, kMapStages[7], [&] {
    report(hooks.progress, "particles", 0, 1);
    return segment_particles(result.maps.edge_jump_od.view(), segmentation);
  });
  result.particles = run_stage(hooks, kMapStages[8], [&] {
    ParticleAnalysis analysis = measure_particles(result.maps, std::move(particles),
                                                  options.pixel_size_nm, options.particles);
    report(hooks.progress, "particles", 1, 1);
    return analysis;
  });
  return result;
}

}  // namespace

MapPipelineResult run_map_pipeline(const RawStack& raw,
                                   const std::vector<ReferenceSpectrum>& references,
                                   const MapPipelineOptions& options, const PipelineHooks& hooks) {
  return maps_of(aligned_optical_density(raw, options, hooks), references, options, hooks);
}

MapPipelineResult run_map_pipeline(RawStack&& raw, const std::vector<ReferenceSpectrum>& references,
                                   const MapPipelineOptions& options, const PipelineHooks& hooks) {
  return maps_of(aligned_optical_density(std::move(raw), options, hooks), references, options,
                 hooks);
}

}  // namespace xanesmap
