// `xanesmap compare DIR_A DIR_B ... --out DIR`: samples side by side (docs/map-outputs.md,
// "compare").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>

#include "apps/cli_common.hpp"
#include "apps/config_file.hpp"
#include "core/base/error.hpp"
#include "core/particles/sample_comparison.hpp"
#include "io/outputs/comparison_outputs.hpp"
#include "io/outputs/map_run_folder.hpp"
#include "io/outputs/output_dir.hpp"
#include "io/outputs/text_output.hpp"

namespace xanesmap::cli {

namespace {

namespace fs = std::filesystem;

struct CompareArgs {
  std::vector<std::string> folders, labels;
  std::string out;
  std::vector<double> scale, bins;
  bool weighted = false;
  bool force = false;
  std::string config_toml;  // the effective configuration, written as config.toml
};

ColourScale shared_scale(const std::vector<MapRunFolder>& runs) {
  // The robust range (1st-99th percentile) of every sample's particle pixels together.
  std::vector<float> pooled;
  for (const auto& r : runs) {
    const auto v = r.valence.pixels();
    const auto g = r.regions.pixels();
    for (std::size_t i = 0; i < v.size(); ++i)
      if (g[i] != 0 && std::isfinite(v[i])) pooled.push_back(v[i]);
  }
  if (pooled.empty()) return {2.0, 4.0, "Mn valence"};
  Image<float> all(1, pooled.size());
  std::copy(pooled.begin(), pooled.end(), all.pixels().begin());
  return robust_scale(all.view(), 0.2, "Mn valence");
}

int run_compare(CompareArgs a, const GlobalOptions& global) {
  if (a.folders.size() < 2)
    throw OptionError("DIRS", "give at least two output folders of `xanesmap map` to compare");
  if (!a.labels.empty() && a.labels.size() != a.folders.size())
    throw OptionError("--labels", "give one label per folder (" + std::to_string(a.folders.size()) +
                                      "), got " + std::to_string(a.labels.size()));
  ComparisonOptions options;
  if (!a.bins.empty()) options.bins = bins_option(a.bins, "--valence-bins");
  options.validate();
  ComparisonRunInfo info;
  if (!a.scale.empty()) {
    if (a.scale.size() != 2 || !std::isfinite(a.scale[0]) || !std::isfinite(a.scale[1]) ||
        !(a.scale[1] > a.scale[0]))
      throw OptionError("--scale", "give MIN MAX of the colour scale, MIN < MAX");
    info.scale = {a.scale[0], a.scale[1], "Mn valence"};
  }
  std::vector<std::string> labels = a.labels;
  if (labels.empty())
    for (const auto& f : a.folders)
      labels.push_back(fs::path(f).lexically_normal().filename().string().empty()
                           ? fs::path(f).lexically_normal().parent_path().filename().string()
                           : fs::path(f).lexically_normal().filename().string());
  if (std::set<std::string>(labels.begin(), labels.end()).size() != labels.size())
    throw OptionError("--labels",
                      "labels must differ from each other (the tables name samples by label)");
  refuse_output_over_inputs(a.out, {a.folders.begin(), a.folders.end()});
  StagedOutputDir output(a.out, a.force);  // refuse an existing folder before reading anything

  info.version = XANESMAP_VERSION;
  info.command_line = global.command_line;
  info.weighted = a.weighted;
  const ProgressSink progress = make_progress_sink(global);
  for (std::size_t i = 0; i < a.folders.size(); ++i) {
    if (progress) progress({"read runs", i, a.folders.size()});
    info.runs.push_back(read_map_run_folder(a.folders[i]));
  }
  if (progress) progress({"read runs", a.folders.size(), a.folders.size()});
  for (std::size_t i = 1; i < info.runs.size(); ++i)
    for (const auto& d : run_differences(info.runs[0], info.runs[i]))
      info.differences.push_back("'" + labels[0] + "' vs '" + labels[i] + "': " + d);
  if (!info.differences.empty() && !a.force) {
    std::string what;
    for (const auto& d : info.differences) what += "\n  " + d;
    throw InputError(
        "the runs were made with different methods or references, so their valences do not "
        "compare:" +
        what + "\n(use --force to compare them anyway)");
  }
  if (a.scale.empty()) info.scale = shared_scale(info.runs);

  std::vector<SampleMaps> samples;
  for (std::size_t i = 0; i < info.runs.size(); ++i)
    samples.push_back({labels[i], info.runs[i].valence, info.runs[i].regions,
                       a.weighted ? info.runs[i].edge_jump_od : Image<float>()});
  // LCF valences clamped at the smallest or largest reference valence are a point mass, not a
  // population (MixtureOptions::point_values).
  for (const auto& run : info.runs)
    if (run.summary.contains("references") && run.summary["references"].is_array())
      for (const auto& r : run.summary["references"])
        if (r.contains("valence") && r["valence"].is_number())
          options.mixture.point_values.push_back(r["valence"].get<double>());
  if (!options.mixture.point_values.empty()) {
    const auto [lo, hi] = std::minmax_element(options.mixture.point_values.begin(),
                                              options.mixture.point_values.end());
    options.mixture.point_values = {*lo, *hi};
  }
  const SampleComparison comparison = compare_samples(samples, options);
  if (progress) progress({"write outputs", 0, 1});
  write_comparison_outputs(output.staging(), comparison, info);
  write_text_file(output.staging() / "config.toml", a.config_toml);
  if (progress) progress({"write outputs", 1, 1});
  output.commit();

  for (const auto& d : info.differences)
    std::cerr << "xanesmap: warning: runs differ: " << d << "\n";
  for (const auto& f : comparison.samples) {
    char line[512];
    std::snprintf(line, sizeof line,
                  "%s: mean %.3f, std %.3f over %zu px; surface - core %+.3f; %d population(s)\n",
                  f.label.c_str(), f.figures[0].mean, f.figures[0].std, f.figures[0].n,
                  f.surface_minus_core, f.populations.populations);
    std::cout << line;
  }
  std::cout << "wrote " << output.destination().string()
            << "/ (comparison.md, comparison.csv, valence_maps.png, ...)\n";
  return 0;
}

}  // namespace

void register_compare(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* sub =
      app.add_subcommand("compare", "Compare the valence distributions of several map runs");
  // ignore_case: the key `dirs` in a config file names this positional.
  sub->add_option("DIRS", a->folders, "Output folders of `xanesmap map`")
      ->required()
      ->type_name("PATH")
      ->ignore_case();
  sub->add_option("--labels", a->labels, "Sample labels, comma separated (default: folder names)")
      ->delimiter(',');
  sub->add_option("--out", a->out, "Output folder (must not exist unless --force)")->required();
  sub->add_option("--scale", a->scale,
                  "Shared colour scale MIN MAX (default: 1st-99th percentile of all samples)")
      ->expected(2);
  const HistogramBins bins = ComparisonOptions{}.bins;
  a->bins = {bins.min, bins.max, static_cast<double>(bins.bin_count)};
  sub->add_option("--valence-bins", a->bins, "Histogram FROM TO COUNT")
      ->expected(3)
      ->capture_default_str();
  sub->add_flag("--weight-by-edge-jump", a->weighted,
                "Weight figures and histograms by each pixel's edge jump");
  sub->add_flag(
      "--force", a->force,
      "Replace the output folder; compare runs made with different methods or references");
  sub->footer(examples_footer(
      {"xanesmap compare maps-pristine maps-coated --out comparison",
       "xanesmap compare a b c --labels pristine,coated,cycled --scale 3 4 --out cmp"}));
  sub->callback([&action, &global, a, sub] {
    a->config_toml =
        effective_config(*sub,
                         {{"out", "a reproduction writes into a new folder: give --out"},
                          {"force",
                           "never inherited: replacing outputs and comparing different runs take "
                           "--force on the command line"}},
                         config_header("compare", global.command_line, global.time_utc,
                                       "xanesmap compare --config DIR/config.toml --out NEW_DIR"));
    action = [&global, a] { return run_compare(*a, global); };
  });
}

}  // namespace xanesmap::cli
