// Shared pieces of the xanesmap subcommands: global options, progress on stderr, and the
// command-line registration hooks of each subcommand (one file per subcommand).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "core/base/progress.hpp"

namespace xanesmap::cli {

struct GlobalOptions {
  bool quiet = false;        // no progress on stderr
  int threads = 0;           // 0 = all cores
  std::string command_line;  // as typed, for provenance
  std::string time_utc;      // when the run started, ISO 8601 in UTC
};

/// The subcommand that was chosen; returns the process exit code.
using Action = std::function<int()>;

/// Renders progress on stderr: a bar with counts and time left on a terminal, plain lines
/// (at most one per 10 %) otherwise; nothing when quiet.
ProgressSink make_progress_sink(const GlobalOptions& global);

/// Lines for --help footers.
std::string examples_footer(std::initializer_list<const char*> lines);

void register_info(CLI::App& app, const GlobalOptions& global, Action& action);
void register_simulate(CLI::App& app, const GlobalOptions& global, Action& action);
void register_map(CLI::App& app, const GlobalOptions& global, Action& action);
void register_align(CLI::App& app, const GlobalOptions& global, Action& action);
void register_compare(CLI::App& app, const GlobalOptions& global, Action& action);
void register_bench(CLI::App& app, const GlobalOptions& global, Action& action);

}  // namespace xanesmap::cli

#include "core/particles/distribution.hpp"
#include "core/pipeline.hpp"
#include "core/registration/registration.hpp"
#include "core/stack/beam_normalization.hpp"
#include "io/formats/stack_reader.hpp"

namespace xanesmap::cli {

/// The options that say where a stack is (shared by info, map, align).
struct StackArgs {
  std::string stack, energies, flat, dark;
  std::string energy_unit = "auto";  // auto | ev | kev
  std::string flat_mode = "auto";    // auto | per-energy | average
  FxiDatasetPaths datasets;
};

void add_stack_options(CLI::App& sub, StackArgs& args);
/// Throws OptionError for unknown unit or flat-mode words.
StackSource to_stack_source(const StackArgs& args);

/// FROM TO COUNT of a histogram option (--valence-bins, --edge-bins), as HistogramBins;
/// OptionError naming `option` for anything else.
HistogramBins bins_option(const std::vector<double>& values, const char* option);

/// --reference, --max-shift, --outlier-px, --upsample (shared by map and align).
void add_registration_options(CLI::App& sub, RegistrationOptions& options);
/// --background MODEL and --background-margin-px (shared by map and align); `model` is parsed by
/// parse_beam_model when the run starts.
void add_beam_options(CLI::App& sub, std::string& model, BeamNormalizationOptions& options);

/// --unregistered stop|exclude (map and align): what happens to frames whose shift is not
/// confirmed (core/pipeline.hpp, UnregisteredFrames). parse_unregistered throws OptionError
/// naming --unregistered for any other word.
void add_unregistered_option(CLI::App& sub, std::string& value);
UnregisteredFrames parse_unregistered(const std::string& value);
/// "frame 3 (6540 eV), frame 9 (6560 eV)": the frames a run left out (empty when none).
std::string excluded_frames_text(const RegistrationResult& reg,
                                 const std::vector<double>& energies_ev);

}  // namespace xanesmap::cli
