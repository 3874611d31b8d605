// What `xanesmap compare` writes (docs/compare.md is the contract): valence_maps.png (every
// sample on one colour scale), histogram_{all,surface,core}.png (overlaid), comparison.csv and
// comparison.md (distribution figures and surface - core per sample, KS tests between samples),
// ks_tests.csv, histograms.csv and summary.json.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/particles/sample_comparison.hpp"
#include "io/outputs/map_run_folder.hpp"
#include "io/plots/png_preview.hpp"

namespace xanesmap {

struct ComparisonRunInfo {
  std::string version, command_line;
  std::vector<MapRunFolder> runs;        // same order as the comparison's samples
  std::vector<std::string> differences;  // how the runs differ in method/references (--force)
  ColourScale scale;                     // shared by every panel
  bool weighted = false;
};

std::string comparison_csv(const SampleComparison& c);
std::string ks_tests_csv(const SampleComparison& c);
std::string comparison_markdown(const SampleComparison& c, const ComparisonRunInfo& info);
std::string comparison_histograms_csv(const SampleComparison& c);
nlohmann::json comparison_summary(const SampleComparison& c, const ComparisonRunInfo& info);

/// Writes every output into `folder` (which must exist). OutputError naming the file.
void write_comparison_outputs(const std::filesystem::path& folder, const SampleComparison& c,
                              const ComparisonRunInfo& info);

}  // namespace xanesmap
