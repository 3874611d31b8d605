// `xanesmap map STACK --refs MANIFEST --out DIR`: calibrated Mn valence maps (docs/map-outputs.md).
#include "apps/cmd_map.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>

#include "apps/cli_common.hpp"
#include "apps/config_file.hpp"
#include "core/base/background_release.hpp"
#include "core/base/defaults.hpp"
#include "core/base/error.hpp"
#include "core/particles/particle_analysis.hpp"
#include "core/pipeline.hpp"
#include "io/formats/reference_manifest.hpp"
#include "io/formats/shifts_table.hpp"
#include "io/outputs/map_outputs.hpp"
#include "io/outputs/output_dir.hpp"

namespace xanesmap::cli {

namespace {

RelativeWindow window_option(const std::vector<double>& values, RelativeWindow fallback,
                             const char* name) {
  if (values.empty()) return fallback;
  if (values.size() != 2)
    throw OptionError(name, "give two energies, FROM and TO (eV relative to e0)");
  return {values[0], values[1]};
}

// A shifts.csv must have one row per frame, at the stack's energies.
void apply_shift_table(const std::vector<ShiftRow>& rows, const std::vector<double>& energies_ev,
                       const std::string& file, MapPipelineOptions& options) {
  if (rows.size() != energies_ev.size())
    throw InputError("shifts table '" + file + "' has " + std::to_string(rows.size()) +
                     " rows but the stack has " + std::to_string(energies_ev.size()) + " energies");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (std::abs(rows[i].energy_ev - energies_ev[i]) > 0.01) {
      char m[256];
      std::snprintf(m, sizeof m,
                    "shifts table '%s' row %zu is for %.3f eV but frame %zu is at %.3f eV",
                    file.c_str(), i + 1, rows[i].energy_ev, i, energies_ev[i]);
      throw InputError(m);
    }
    options.given_dy_px.push_back(rows[i].dy_px);
    options.given_dx_px.push_back(rows[i].dx_px);
    options.given_quality.push_back(rows[i].quality);
  }
}

std::vector<InputFile> stack_files(const StackSource& source, const StackDescription& d) {
  std::vector<InputFile> files;
  for (const auto& f : d.image_files) files.push_back(describe_input_file(f));
  for (const auto& extra : {source.flat, source.dark, source.energies})
    if (!extra.empty()) files.push_back(describe_input_file(extra));
  return files;
}

}  // namespace

int run_map(MapArgs a, const GlobalOptions& global, const StageObserver& observer) {
  if (a.out.empty()) throw OptionError("--out", "give the output folder");
  // Options first: nonsense fails before any file is read.
  ValenceMapOptions& v = a.options.valence;
  v.method = parse_valence_method(a.method);
  v.edge_definition = parse_edge_definition(a.edge);
  v.constraint = parse_lcf_constraint(a.constraint);
  v.normalization.pre_edge_ev =
      window_option(a.pre_edge, v.normalization.pre_edge_ev, "--pre-edge");
  v.normalization.post_edge_ev =
      window_option(a.post_edge, v.normalization.post_edge_ev, "--post-edge");
  v.fit_window_ev = window_option(a.fit_window, v.fit_window_ev, "--fit-window");
  v.normalization.post_edge_order = a.post_order;
  v.normalization.flatten = !a.no_flatten;
  if (!std::isnan(a.e0_ev)) v.e0_ev = a.e0_ev;
  if (a.saturation != 0.0) a.options.optical_density.saturation_counts = a.saturation;
  a.options.beam.model = parse_beam_model(a.background);
  if (a.pixel_size_nm != 0.0 && !(a.pixel_size_nm > 0.0 && std::isfinite(a.pixel_size_nm)))
    throw OptionError("--pixel-size-nm", "must be a positive size in nm");
  a.options.validate();
  a.options.particles.segmentation.split_touching = !a.no_split;
  if (!a.valence_bins.empty())
    a.options.particles.valence_bins = bins_option(a.valence_bins, "--valence-bins");
  if (!a.edge_bins.empty()) a.options.particles.edge_bins = bins_option(a.edge_bins, "--edge-bins");
  a.options.particles.validate();

  if (a.no_align && !a.shifts_file.empty())
    throw OptionError("--shifts", "cannot be combined with --no-align");
  // Options that would be silently ignored are refused.
  if (a.align_range_given && !a.options.valence.align_references)
    throw OptionError("--align-range", "only applies with --align-refs");
  if (a.registration_given && (a.no_align || !a.shifts_file.empty()))
    throw OptionError(a.no_align ? "--no-align" : "--shifts",
                      "registration options (--reference, --max-shift, --outlier-px, --upsample) "
                      "have no effect here");
  // Without registration no frame is flagged: the option would do nothing.
  if (a.unregistered_given && a.no_align)
    throw OptionError("--no-align", "--unregistered has no effect here (no frame is registered)");
  a.options.unregistered = parse_unregistered(a.unregistered);
  a.options.alignment = a.no_align              ? AlignmentMode::none
                        : a.shifts_file.empty() ? AlignmentMode::estimate
                                                : AlignmentMode::given;
  a.options.validate();
  const StackSource source = to_stack_source(a.stack);
  const ProgressSink progress = make_progress_sink(global);
  refuse_output_over_inputs(
      a.out, {a.stack.stack, a.stack.flat, a.stack.dark, a.stack.energies, a.refs, a.shifts_file});
  StagedOutputDir output(a.out, a.force);  // refuse an existing folder before the long work

  MapRunInfo info;
  info.version = XANESMAP_VERSION;
  info.git_commit = XANESMAP_GIT_COMMIT;
  info.command_line = global.command_line;
  info.time_utc = global.time_utc;
  info.config_toml = a.config_toml;
  info.options = a.options;
  info.particle_options = a.options.particles;
  info.manifest = a.refs;
  const ReferenceManifest manifest = read_reference_manifest(a.refs);
  std::vector<ReferenceSpectrum> references;
  for (auto& loaded : load_references(manifest)) {
    info.references.push_back(loaded.entry);
    info.reference_files.push_back(describe_input_file(loaded.entry.file));
    references.push_back({loaded.entry.name, loaded.entry.valence, std::move(loaded.spectrum)});
  }
  if (observer) observer({"reading", StagePhase::begin});
  LoadedStack loaded = load_raw_stack(source, progress);
  if (observer) observer({"reading", StagePhase::end});
  if (!a.shifts_file.empty()) {
    const auto rows = read_shifts_csv(a.shifts_file);
    apply_shift_table(rows, loaded.raw.counts().energies_ev(), a.shifts_file, a.options);
    info.stack_files.push_back(describe_input_file(a.shifts_file));
  }
  info.stack = loaded.description;
  {
    auto files = stack_files(source, loaded.description);
    files.insert(files.end(), info.stack_files.begin(), info.stack_files.end());
    info.stack_files = std::move(files);
  }
  if (a.pixel_size_nm > 0.0) {
    info.pixel_size_nm = a.pixel_size_nm, info.pixel_size_source = "option";
  } else if (loaded.description.pixel_size_nm) {
    info.pixel_size_nm = *loaded.description.pixel_size_nm, info.pixel_size_source = "file";
  } else {
    info.pixel_size_nm = kDefaultPixelSizeNm,
    info.pixel_size_source = "default (the file does not say)";
  }

  a.options.pixel_size_nm = info.pixel_size_nm;
  // The stages' input errors name no file: say which stack and references they are about.
  // The stack is released on a thread of its own while the particles are analysed and the
  // outputs written (it is gone before this function returns).
  BackgroundRelease stack_release;
  const MapPipelineResult result = [&] {
    try {
      // The stack becomes the OD in place.
      return run_map_pipeline(std::move(loaded.raw), references, a.options,
                              {progress, observer, &stack_release});
    } catch (const InputError& e) {
      rethrow_with_context(
          e, "mapping '" + a.stack.stack + "' with the references of '" + a.refs + "'");
    }
  }();
  const ParticleAnalysis& particles = result.particles;
  if (progress) progress({"write outputs", 0, 1});
  if (observer) observer({"writing", StagePhase::begin});
  write_map_outputs(output.staging(), info, result, particles);
  output.commit();
  if (observer) observer({"writing", StagePhase::end});
  if (progress) progress({"write outputs", 1, 1});

  const ValenceMaps& m = result.maps;
  for (const auto& w : m.warnings) std::cerr << "xanesmap: warning: " << w << "\n";
  if (!result.beam.skipped_reason.empty())
    std::cerr << "xanesmap: warning: " << result.beam.skipped_reason << "\n";
  const std::string excluded = excluded_frames_text(result.registration, result.energies_ev);
  if (!excluded.empty())
    std::cerr << "xanesmap: warning: left out of the maps (--unregistered exclude), their shift "
                 "not confirmed: "
              << excluded << "\n";
  char line[512];
  std::snprintf(
      line, sizeof line,
      "valence (%s): mean %.3f, median %.3f, std %.3f over %zu pixels; %zu pixels not "
      "measured (%zu no Mn, %zu invalid OD, %zu outside the view after alignment, %zu other); "
      "mean spectrum %.3f (R %.4f)\n",
      to_string(v.method).c_str(), m.statistics.mean, m.statistics.median, m.statistics.std,
      m.statistics.pixels, m.status.size() - m.statistics.pixels,
      m.status_counts[static_cast<std::size_t>(PixelStatus::no_mn)],
      m.status_counts[static_cast<std::size_t>(PixelStatus::invalid_od)],
      m.status_counts[static_cast<std::size_t>(PixelStatus::outside_view)],
      m.status.size() - m.statistics.pixels -
          m.status_counts[static_cast<std::size_t>(PixelStatus::no_mn)] -
          m.status_counts[static_cast<std::size_t>(PixelStatus::invalid_od)] -
          m.status_counts[static_cast<std::size_t>(PixelStatus::outside_view)],
      m.mean_spectrum.valence, m.mean_spectrum.rfactor);
  std::snprintf(line + std::strlen(line), sizeof line - std::strlen(line),
                "%zu particle(s); surface (outer %g nm) %.3f, core %.3f, surface - core %+.3f; %d "
                "valence population(s)\n",
                particles.particles.size(), particles.surface_nm, particles.surface.valence.mean,
                particles.core.valence.mean, particles.surface_minus_core,
                particles.populations.populations);
  if (!excluded.empty())
    std::cout << result.registration.excluded_count() << " of " << result.energies_ev.size()
              << " frame(s) excluded (shift not confirmed): " << excluded << "\n";
  std::cout << line << "wrote " << output.destination().string()
            << "/ (valence.tif, summary.json, results.h5, ...)\n";
  return 0;
}

void register_map(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto a = std::make_shared<MapArgs>();
  CLI::App* sub = app.add_subcommand("map", "Calibrated Mn valence maps from an energy stack");
  add_stack_options(*sub, a->stack);
  auto& v = a->options.valence;
  // The windows' and bins' defaults are the options structs' own, written into config.toml.
  a->pre_edge = {v.normalization.pre_edge_ev.from_ev, v.normalization.pre_edge_ev.to_ev};
  a->post_edge = {v.normalization.post_edge_ev.from_ev, v.normalization.post_edge_ev.to_ev};
  a->fit_window = {v.fit_window_ev.from_ev, v.fit_window_ev.to_ev};
  const HistogramBins& bins = a->options.particles.valence_bins;
  a->valence_bins = {bins.min, bins.max, static_cast<double>(bins.bin_count)};
  sub->add_option("--out", a->out, "Output folder (must not exist unless --force)")->required();
  sub->add_option("--refs", a->refs, "Reference manifest (TOML)")
      ->capture_default_str()
      ->type_name("PATH");
  sub->add_option("--pixel-size-nm", a->pixel_size_nm,
                  "Pixel size in nm (default: from the file, else 30)");
  sub->add_option("--method", a->method, "Valence in valence.tif: lcf or edge")
      ->capture_default_str();
  sub->add_option("--edge", a->edge,
                  "Edge-energy definition: half-height, derivative-max or white-line")
      ->capture_default_str();
  sub->add_option("--lcf-constraint", a->constraint,
                  "simplex (fractions >= 0, sum 1) or sum-to-one")
      ->capture_default_str();
  sub->add_option("--edge-smoothing", a->options.valence.edge.smoothing_half_window_ev,
                  "Half width of the local polynomial used to find edges, eV")
      ->capture_default_str();
  sub->add_option("--pre-edge", a->pre_edge, "Pre-edge window FROM TO, eV relative to e0")
      ->expected(2)
      ->capture_default_str();
  sub->add_option("--post-edge", a->post_edge, "Post-edge window FROM TO, eV relative to e0")
      ->expected(2)
      ->capture_default_str();
  sub->add_option("--post-order", a->post_order, "Post-edge polynomial order, 1 or 2")
      ->capture_default_str();
  sub->add_flag("--no-flatten", a->no_flatten, "Fit normalized, not flattened, spectra");
  sub->add_option("--fit-window", a->fit_window, "LCF window FROM TO, eV relative to e0")
      ->expected(2)
      ->capture_default_str();
  sub->add_option("--e0-ev", a->e0_ev,
                  "Edge energy the windows are placed around (default: the references' mean "
                  "derivative maximum)");
  sub->add_option("--min-edge-jump", v.min_edge_jump_od, "Mask: minimum edge jump, OD")
      ->capture_default_str();
  sub->add_option("--min-jump-to-noise", v.min_jump_to_noise,
                  "Mask: minimum edge jump / its standard error (from the pre-edge noise)")
      ->capture_default_str();
  sub->add_flag(
      "--align-refs", v.align_references,
      "Fit one energy offset of the references to the mean spectrum of the masked pixels");
  sub->add_option("--align-range", v.align_range_ev, "Search range of that offset, +- eV")
      ->capture_default_str();
  sub->add_option("--saturation", a->saturation,
                  "Raw counts at which a pixel is saturated (float data)");
  add_registration_options(*sub, a->options.registration);
  add_beam_options(*sub, a->background, a->options.beam);
  add_unregistered_option(*sub, a->unregistered);
  sub->add_flag("--no-align", a->no_align, "Do not register the energy frames");
  sub->add_option("--shifts", a->shifts_file,
                  "Use these shifts (a shifts.csv) instead of registering")
      ->type_name("PATH");
  auto& seg = a->options.particles.segmentation;
  sub->add_option("--particle-threshold", seg.threshold_od,
                  "Particles: edge-jump threshold in OD (0 = automatic: Otsu, then the background "
                  "noise floor)")
      ->capture_default_str();
  sub->add_option("--min-area-um2", seg.min_area_um2,
                  "Particles: drop objects smaller than this, um^2")
      ->capture_default_str();
  sub->add_flag("--no-split", a->no_split,
                "Particles: do not split touching particles (watershed)");
  sub->add_option("--surface-nm", a->options.particles.surface_nm,
                  "Surface shell depth below the particle outline, nm")
      ->capture_default_str();
  sub->add_option("--depth-bin-nm", a->options.particles.depth_bin_nm,
                  "Depth profile bin width, nm")
      ->capture_default_str();
  sub->add_option("--valence-bins", a->valence_bins, "Valence histogram FROM TO COUNT")
      ->expected(3)
      ->capture_default_str();
  sub->add_option("--edge-bins", a->edge_bins,
                  "Edge-energy histogram FROM TO COUNT, eV (default e0-10 e0+10 80)")
      ->expected(3);
  sub->add_flag("--weight-by-edge-jump", a->options.particles.weight_by_edge_jump,
                "Weight particle statistics and histograms by each pixel's edge jump (Mn amount)");
  sub->add_flag("--force", a->force, "Replace the output folder if it exists");
  sub->footer(examples_footer(
      {"xanesmap map demo/scan.h5 --out demo-maps",
       "xanesmap map scan.h5 --refs my-refs.toml --method edge --edge half-height --out maps",
       "xanesmap map raw.tif --energies e.txt --flat flat.tif --dark dark.tif --out maps",
       "xanesmap map scan.h5 --align-refs --fit-window -15 30 --out maps --force",
       "xanesmap map --config maps/config.toml --out maps-again   (options from a TOML file)"}));
  sub->callback([&action, &global, a, sub] {
    a->align_range_given = sub->count("--align-range") > 0;
    a->unregistered_given = sub->count("--unregistered") > 0;
    a->registration_given = sub->count("--reference") + sub->count("--max-shift") +
                                sub->count("--outlier-px") + sub->count("--upsample") >
                            0;
    // config.toml: what a reproduction must not inherit, and options that had no effect (which
    // a run refuses when they are given).
    NotApplied not_applied{
        {"out", "a reproduction writes into a new folder: give --out"},
        {"force", "never inherited: replacing outputs takes --force on the command line"}};
    if (a->no_align || !a->shifts_file.empty())
      for (const char* key : {"reference", "max-shift", "outlier-px", "upsample"})
        not_applied[key] = "registration was off (--no-align or --shifts)";
    if (a->no_align) not_applied["unregistered"] = "no frame is registered (--no-align)";
    if (!a->options.valence.align_references)
      not_applied["align-range"] = "only applies with --align-refs";
    a->config_toml =
        effective_config(*sub, not_applied,
                         config_header("map", global.command_line, global.time_utc,
                                       "xanesmap map --config DIR/config.toml --out NEW_DIR"));
    action = [&global, a] { return run_map(*a, global); };
  });
}

}  // namespace xanesmap::cli
