#include "core/particles/sample_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/base/error.hpp"
#include "core/particles/segmentation.hpp"

namespace xanesmap {

const char* set_name(SampleSet s) {
  switch (s) {
    case SampleSet::all:
      return "all";
    case SampleSet::surface:
      return "surface";
    case SampleSet::core:
      return "core";
  }
  return "?";
}

void ComparisonOptions::validate() const {
  bins.validate();
  mixture.validate();
}

namespace {

struct SetValues {
  std::vector<double> values, weights;
};

}  // namespace

SampleComparison compare_samples(const std::vector<SampleMaps>& samples,
                                 const ComparisonOptions& options) {
  options.validate();
  if (samples.empty()) throw InputError("no samples to compare");
  SampleComparison result;
  std::vector<std::array<SetValues, 3>> values(samples.size());
  for (std::size_t s = 0; s < samples.size(); ++s) {
    const SampleMaps& m = samples[s];
    if (m.regions.height() != m.valence.height() || m.regions.width() != m.valence.width())
      throw InputError(
          "sample '" + m.label + "': the regions map is " + std::to_string(m.regions.height()) +
          "x" + std::to_string(m.regions.width()) + " but the valence map is " +
          std::to_string(m.valence.height()) + "x" + std::to_string(m.valence.width()));
    const bool weighted = !m.weights.empty();
    if (weighted &&
        (m.weights.height() != m.valence.height() || m.weights.width() != m.valence.width()))
      throw InputError("sample '" + m.label +
                       "': the weight map does not match the valence map in size");
    const auto v = m.valence.pixels();
    const auto r = m.regions.pixels();
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (r[i] == kRegionBackground || !std::isfinite(v[i])) continue;
      // A weight that is not a finite, non-negative number counts as 0 (it carries no Mn).
      const double w = weighted ? (std::isfinite(m.weights.pixels()[i])
                                       ? std::max(0.0, double(m.weights.pixels()[i]))
                                       : 0.0)
                                : 1.0;
      const std::size_t region = r[i] == kRegionSurface ? 1 : 2;
      for (const std::size_t set : {std::size_t{0}, region}) {
        values[s][set].values.push_back(v[i]);
        values[s][set].weights.push_back(w);
      }
    }
    SampleFigures f;
    f.label = m.label;
    for (std::size_t set = 0; set < 3; ++set) {
      const auto w =
          weighted ? std::span<const double>(values[s][set].weights) : std::span<const double>();
      f.figures[set] = describe_distribution(values[s][set].values, w);
      f.histograms[set] = make_histogram(values[s][set].values, w, options.bins);
    }
    f.surface_minus_core = f.figures[1].n > 0 && f.figures[2].n > 0
                               ? f.figures[1].mean - f.figures[2].mean
                               : std::numeric_limits<double>::quiet_NaN();
    f.populations = count_populations(values[s][0].values, options.mixture);
    result.samples.push_back(std::move(f));
  }
  // The KS test is unweighted: it compares the pixels' valence distributions.
  for (std::size_t a = 0; a < samples.size(); ++a)
    for (std::size_t b = a + 1; b < samples.size(); ++b)
      for (const SampleSet set : kAllSampleSets) {
        const auto k = static_cast<std::size_t>(set);
        result.tests.push_back(
            {a, b, set, ks_two_sample(values[a][k].values, values[b][k].values)});
      }
  return result;
}

}  // namespace xanesmap
