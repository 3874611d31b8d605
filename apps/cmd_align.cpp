// `xanesmap align STACK --out aligned.h5`: register the energy frames and write the aligned
// optical-density stack, with the shifts (also as aligned_shifts.csv and a drift plot beside it).
#include <unistd.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "apps/cli_common.hpp"
#include "apps/config_file.hpp"
#include "core/base/error.hpp"
#include "core/pipeline.hpp"
#include "io/formats/aligned_stack.hpp"
#include "io/formats/shifts_table.hpp"
#include "io/outputs/map_outputs.hpp"
#include "io/outputs/text_output.hpp"

namespace xanesmap::cli {

namespace {

namespace fs = std::filesystem;

struct AlignArgs {
  StackArgs stack;
  std::string out;
  bool force = false;
  double saturation = 0.0;
  RegistrationOptions registration;
  std::string background = "plane";  // --background
  BeamNormalizationOptions beam;
  std::string unregistered = "stop";  // stop | exclude (UnregisteredFrames)
  std::string config_toml;            // the effective configuration, written as <stem>_config.toml
};

// Files written under a temporary name beside their destination and renamed on success.
struct StagedFile {
  fs::path destination, staging;
  explicit StagedFile(fs::path d) : destination(std::move(d)) {
    staging = destination.parent_path() /
              ("." + destination.filename().string() + ".partial-" + std::to_string(::getpid()));
  }
  ~StagedFile() {
    std::error_code ec;
    fs::remove(staging, ec);
  }
  void commit() const {
    std::error_code ec;
    fs::rename(staging, destination, ec);
    if (ec)
      throw OutputError("cannot move '" + staging.string() + "' to '" + destination.string() +
                        "': " + ec.message());
  }
};

int run_align(AlignArgs a, const GlobalOptions& global) {
  if (a.out.empty()) throw OptionError("--out", "give the output HDF5 file");
  MapPipelineOptions options;
  options.registration = a.registration;
  options.beam = a.beam;
  options.beam.model = parse_beam_model(a.background);
  options.unregistered = parse_unregistered(a.unregistered);
  if (a.saturation != 0.0) options.optical_density.saturation_counts = a.saturation;
  options.validate();
  const fs::path out = a.out;
  const fs::path stem = out.parent_path() / out.stem();
  StagedFile h5_file(out), csv_file(stem.string() + "_shifts.csv"),
      png_file(stem.string() + "_drift.png"), config_file(stem.string() + "_config.toml");
  for (const StagedFile* f : {&h5_file, &csv_file, &png_file, &config_file}) {
    std::error_code ec;
    if (fs::exists(f->destination, ec) && !a.force)
      throw OutputError("'" + f->destination.string() +
                        "' already exists; use --force to replace it");
  }
  const StackSource source = to_stack_source(a.stack);
  const ProgressSink progress = make_progress_sink(global);
  LoadedStack loaded = load_raw_stack(source, progress);
  const AlignedOpticalDensity aligned = [&] {
    try {
      return aligned_optical_density(std::move(loaded.raw), options,
                                     {progress, {}, nullptr});  // OD in place of the counts
    } catch (const InputError& e) {
      rethrow_with_context(e, "aligning '" + a.stack.stack + "'");  // the stages name no file
    }
  }();
  const auto& reg = aligned.registration;
  const auto& energies = aligned.frame_energies_ev;  // every input frame: the shifts' rows
  write_aligned_stack(h5_file.staging, aligned, loaded.description.pixel_size_nm,
                      {global.command_line, XANESMAP_VERSION, XANESMAP_GIT_COMMIT, a.config_toml});
  const auto rows = shift_rows(energies, reg);
  write_shifts_csv(csv_file.staging, rows, excluded_frames_comment(reg, energies));
  write_drift_plot_png(png_file.staging, rows, kFlaggedBelow,
                       "Sample drift (" + reg.reference_description + ")");
  write_text_file(config_file.staging, a.config_toml);
  // rename() replaces an existing file atomically; nothing is removed beforehand.
  for (const StagedFile* f : {&h5_file, &csv_file, &png_file, &config_file}) f->commit();
  double largest = 0.0;
  for (std::size_t i = 0; i < energies.size(); ++i)
    largest = std::max(largest, std::hypot(reg.dy_px[i], reg.dx_px[i]));
  std::cout << "aligned " << energies.size() << " frames to " << reg.reference_description
            << "; largest shift " << largest << " px; " << reg.flagged_count()
            << " frame(s) flagged, " << reg.excluded_count() << " left out of the stack; "
            << aligned.summary.pixels_by_flag[4] << " pixels left the field of view\n";
  std::cout << "wrote " << out.string() << ", " << csv_file.destination.string() << ", "
            << png_file.destination.string() << ", " << config_file.destination.string() << "\n";
  if (!aligned.beam.skipped_reason.empty())
    std::cerr << "xanesmap: warning: " << aligned.beam.skipped_reason << "\n";
  if (const std::string excluded = excluded_frames_text(reg, energies); !excluded.empty())
    std::cerr << "xanesmap: warning: left out of the aligned stack (--unregistered exclude), "
                 "their shift not confirmed: "
              << excluded << "\n";
  return 0;
}

}  // namespace

void register_align(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto a = std::make_shared<AlignArgs>();
  CLI::App* sub =
      app.add_subcommand("align", "Register the energy frames and write the aligned OD stack");
  add_stack_options(*sub, a->stack);
  sub->add_option("--out", a->out, "Output HDF5 file (with _shifts.csv and _drift.png beside it)")
      ->required();
  sub->add_option("--saturation", a->saturation,
                  "Raw counts at which a pixel is saturated (float data)");
  add_registration_options(*sub, a->registration);
  add_beam_options(*sub, a->background, a->beam);
  add_unregistered_option(*sub, a->unregistered);
  sub->add_flag("--force", a->force, "Replace existing outputs");
  sub->footer(examples_footer(
      {"xanesmap align demo/scan.h5 --out aligned.h5",
       "xanesmap align scan.h5 --reference energy:6600 --max-shift 30 --out aligned.h5",
       "xanesmap map scan.h5 --shifts aligned_shifts.csv --out maps"}));
  sub->callback([&action, &global, a, sub] {
    a->config_toml = effective_config(
        *sub,
        {{"out", "a reproduction writes new files: give --out"},
         {"force", "never inherited: replacing outputs takes --force on the command line"}},
        config_header("align", global.command_line, global.time_utc,
                      "xanesmap align --config STEM_config.toml --out NEW.h5"));
    action = [&global, a] { return run_align(*a, global); };
  });
}

}  // namespace xanesmap::cli
