// `xanesmap map`: its options as parsed, and the run itself (also what `xanesmap bench --file`
// times, so that the benchmark measures the path users run).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "apps/cli_common.hpp"
#include "core/base/progress.hpp"
#include "core/pipeline.hpp"

namespace xanesmap::cli {

struct MapArgs {
  StackArgs stack;
  std::string refs = XANESMAP_DEFAULT_REFS;
  std::string out;
  double pixel_size_nm = 0.0;  // 0: from the file, else 30
  std::string method = "lcf";
  std::string edge = "half-height";
  std::string constraint = "simplex";
  std::vector<double> pre_edge, post_edge, fit_window;  // FROM TO; defaults set in register_map
  int post_order = 1;
  bool no_flatten = false;
  double e0_ev = NAN;
  double saturation = 0.0;
  bool force = false;
  bool no_align = false;
  std::string shifts_file;
  std::string background = "plane";   // --background, parsed into options.beam.model
  bool align_range_given = false;     // set from the command line after parsing
  bool registration_given = false;    // any of --reference, --max-shift, --outlier-px, --upsample
  std::string unregistered = "stop";  // stop | exclude (UnregisteredFrames)
  bool unregistered_given = false;    // set from the command line after parsing
  MapPipelineOptions options;
  std::vector<double> valence_bins, edge_bins;  // FROM TO COUNT
  bool no_split = false;
  std::string config_toml;  // the effective configuration, written as config.toml
};

/// Reads the stack and references, runs the pipeline (core/pipeline.hpp), writes the outputs
/// (docs/map-outputs.md) and prints the run's summary. `observer` sees "reading", the pipeline's
/// stages (kMapStages) and "writing". Returns the exit code; throws xanesmap::Error for bad input.
int run_map(MapArgs a, const GlobalOptions& global, const StageObserver& observer = {});

}  // namespace xanesmap::cli
