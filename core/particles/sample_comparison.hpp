// Comparison of samples (map runs): distribution figures of the particle pixels' valence, all
// together and by region (surface shell, core), the number of populations, histograms on shared
// bins, and two-sample Kolmogorov-Smirnov tests between every pair of samples.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/image.hpp"
#include "core/particles/distribution.hpp"

namespace xanesmap {

/// One sample: its valence map (NaN = no value), its regions (core/particles/segmentation's codes:
/// 0 background, 1 core, 2 surface) and, optionally, weights (the edge jump, OD).
struct SampleMaps {
  std::string label;
  Image<float> valence;
  Image<std::uint8_t> regions;
  Image<float> weights;  // empty: unweighted
};

enum class SampleSet : std::size_t { all = 0, surface = 1, core = 2 };
inline constexpr std::array<SampleSet, 3> kAllSampleSets{SampleSet::all, SampleSet::surface,
                                                         SampleSet::core};
const char* set_name(SampleSet s);  // "all", "surface", "core"

struct SampleFigures {
  std::string label;
  std::array<DistributionFigures, 3> figures;  // kAllSampleSets order
  std::array<Histogram, 3> histograms;
  double surface_minus_core = 0.0;  // NaN if surface or core has no value
  PopulationAnalysis populations;   // of all particle pixels with a value (unweighted)
};

struct PairTest {
  std::size_t a = 0, b = 0;  // sample indices
  SampleSet set = SampleSet::all;
  KsTest ks;
};

struct SampleComparison {
  std::vector<SampleFigures> samples;
  std::vector<PairTest> tests;  // every pair a < b, every set
};

struct ComparisonOptions {
  HistogramBins bins{2.0, 4.0, 80};
  MixtureOptions mixture;
  void validate() const;
};

/// Throws InputError when a sample's regions (or weights) do not match its valence map in size,
/// or when there are no samples. Samples may differ in size from each other.
SampleComparison compare_samples(const std::vector<SampleMaps>& samples,
                                 const ComparisonOptions& options = {});

}  // namespace xanesmap
