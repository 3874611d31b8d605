#include "apps/cli_common.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

namespace xanesmap::cli {

namespace {
struct ProgressState {
  std::string stage;
  std::chrono::steady_clock::time_point start, last_event = std::chrono::steady_clock::now();
  int last_decile = -1;
};
}  // namespace

ProgressSink make_progress_sink(const GlobalOptions& global) {
  if (global.quiet) return {};
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  auto state = std::make_shared<ProgressState>();
  return [state, terminal](const ProgressEvent& event) {
    const auto now = std::chrono::steady_clock::now();
    // Stages report after their first unit of work, so a new stage is taken to have started
    // when the previous event arrived (stages run back to back).
    if (event.stage != state->stage) {
      state->start = state->last_event, state->last_decile = -1;
      state->stage = std::string(event.stage);
    }
    state->last_event = now;
    const double fraction =
        event.total ? static_cast<double>(event.done) / static_cast<double>(event.total) : 1.0;
    const double elapsed = std::chrono::duration<double>(now - state->start).count();
    const double left = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
    if (terminal) {
      constexpr int width = 30;
      const int filled = static_cast<int>(fraction * width);
      std::fprintf(stderr, "\r%-16s [%s%s] %zu/%zu  %.0f s left ", state->stage.c_str(),
                   std::string(static_cast<std::size_t>(filled), '#').c_str(),
                   std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), event.done,
                   event.total, left);
      if (event.done >= event.total) std::fprintf(stderr, "\n");
      std::fflush(stderr);
      return;
    }
    const int decile = static_cast<int>(fraction * 10.0);
    if (decile == state->last_decile) return;
    state->last_decile = decile;
    std::fprintf(stderr, "%s: %zu/%zu (%.0f %%), %.1f s elapsed\n", state->stage.c_str(),
                 event.done, event.total, 100.0 * fraction, elapsed);
  };
}

std::string examples_footer(std::initializer_list<const char*> lines) {
  std::string footer = "\nExamples:\n";
  for (const char* l : lines) footer += std::string("  ") + l + "\n";
  return footer;
}

void add_beam_options(CLI::App& sub, std::string& model, BeamNormalizationOptions& options) {
  sub.add_option(
         "--background", model,
         "Beam normalization: the per-frame OD of the sample-free field subtracted as none, "
         "offset, plane or quadratic")
      ->capture_default_str();
  sub.add_option("--background-margin-px", options.margin_px,
                 "Beam normalization: sample-free pixels lie this far from any particle, px")
      ->capture_default_str();
}

}  // namespace xanesmap::cli

#include "core/base/error.hpp"

namespace xanesmap::cli {

void add_stack_options(CLI::App& sub, StackArgs& args) {
  // Type name PATH: the help says so, and written configurations hold them as absolute paths.
  sub.add_option("stack", args.stack,
                 "Energy stack: FXI-layout HDF5 file, multi-page TIFF, or folder of TIFFs")
      ->required()
      ->type_name("PATH");
  sub.add_option("--energies", args.energies, "Energy list for TIFF stacks (eV, one per line)")
      ->type_name("PATH");
  sub.add_option("--flat", args.flat, "Flat field TIFF (one page, or one per energy)")
      ->type_name("PATH");
  sub.add_option("--dark", args.dark, "Dark field TIFF (pages are averaged)")->type_name("PATH");
  sub.add_option("--energy-unit", args.energy_unit,
                 "Unit of the energies: auto (by magnitude), ev or kev")
      ->capture_default_str();
  sub.add_option("--flat-mode", args.flat_mode,
                 "auto (one per energy when counts match, else averaged), per-energy or average")
      ->capture_default_str();
  sub.add_option("--images-dataset", args.datasets.images, "HDF5 path of the images")
      ->capture_default_str();
  sub.add_option("--flats-dataset", args.datasets.flats, "HDF5 path of the flat fields")
      ->capture_default_str();
  sub.add_option("--darks-dataset", args.datasets.darks, "HDF5 path of the dark fields")
      ->capture_default_str();
  sub.add_option("--energies-dataset", args.datasets.energies, "HDF5 path of the energies")
      ->capture_default_str();
}

HistogramBins bins_option(const std::vector<double>& values, const char* option) {
  if (values.size() != 3 || !(values[2] >= 1.0) || values[2] != std::floor(values[2]) ||
      values[2] > 1e6)
    throw OptionError(option, "give FROM TO COUNT (COUNT a whole number of bins, 1 to 1000000)");
  HistogramBins b{values[0], values[1], static_cast<std::size_t>(values[2])};
  try {
    b.validate();
  } catch (const OptionError& e) {
    throw OptionError(option, e.detail());
  }
  return b;
}

StackSource to_stack_source(const StackArgs& args) {
  StackSource s;
  s.stack = args.stack;
  s.energies = args.energies;
  s.flat = args.flat;
  s.dark = args.dark;
  s.datasets = args.datasets;
  if (args.energy_unit == "auto")
    s.energy_unit = EnergyUnitChoice::automatic;
  else if (args.energy_unit == "ev")
    s.energy_unit = EnergyUnitChoice::ev;
  else if (args.energy_unit == "kev")
    s.energy_unit = EnergyUnitChoice::kev;
  else
    throw OptionError("--energy-unit", "'" + args.energy_unit + "' is not auto, ev or kev");
  if (args.flat_mode == "auto")
    s.flat_mode = FlatMode::automatic;
  else if (args.flat_mode == "per-energy")
    s.flat_mode = FlatMode::per_energy;
  else if (args.flat_mode == "average")
    s.flat_mode = FlatMode::average;
  else
    throw OptionError("--flat-mode", "'" + args.flat_mode + "' is not auto, per-energy or average");
  return s;
}

void add_registration_options(CLI::App& sub, RegistrationOptions& options) {
  sub.add_option("--reference", options.reference,
                 "Registration reference: mean (of the aligned post-edge frames), first, last, "
                 "index:N, energy:E")
      ->capture_default_str();
  sub.add_option("--max-shift", options.max_shift_px,
                 "Largest drift searched, px (default: a quarter of the frame's shorter side)");
  sub.add_option("--outlier-px", options.outlier_px,
                 "A frame whose direct and chained shifts differ by more than this is flagged, px")
      ->capture_default_str();
  sub.add_option("--upsample", options.upsample, "Registration precision 1/N px")
      ->capture_default_str();
}

void add_unregistered_option(CLI::App& sub, std::string& value) {
  sub.add_option("--unregistered", value,
                 "Frames whose shift registration cannot confirm: stop (an error naming them) or "
                 "exclude (leave them out of the aligned stack and the maps, and go on)")
      ->capture_default_str();
}

std::string excluded_frames_text(const RegistrationResult& reg,
                                 const std::vector<double>& energies_ev) {
  std::string text;
  for (std::size_t i = 0; i < reg.excluded.size(); ++i) {
    if (!reg.excluded[i]) continue;
    char frame[64];
    std::snprintf(frame, sizeof frame, "frame %zu (%g eV)", i, energies_ev[i]);
    text += (text.empty() ? "" : ", ") + std::string(frame);
  }
  return text;
}

UnregisteredFrames parse_unregistered(const std::string& value) {
  if (value == "stop") return UnregisteredFrames::stop;
  if (value == "exclude") return UnregisteredFrames::exclude;
  throw OptionError("--unregistered", "'" + value + "' is not stop or exclude");
}

}  // namespace xanesmap::cli
