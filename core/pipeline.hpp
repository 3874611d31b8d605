// The order of the stages, and nothing else: raw counts -> optical density -> valence maps.
// (Registration of the energy frames goes between the two when it lands.)
#pragma once

#include <vector>

#include "core/optical_density.hpp"
#include "core/progress.hpp"
#include "core/raw_stack.hpp"
#include "core/valence_map.hpp"

namespace xanesmap {

struct MapPipelineOptions {
  OpticalDensityOptions optical_density;
  ValenceMapOptions valence;
  void validate() const { optical_density.validate(), valence.validate(); }
};

struct OpticalDensitySummary {
  std::size_t invalid_pixels = 0;
  std::array<std::size_t, 4> pixels_by_flag{};  // kAllOdFlags order
};

struct MapPipelineResult {
  std::vector<double> energies_ev;  // the stack's energies
  OpticalDensitySummary optical_density;
  ValenceMaps maps;
};

MapPipelineResult run_map_pipeline(const RawStack& raw, const std::vector<ReferenceSpectrum>& references,
                                   const MapPipelineOptions& options, const ProgressSink& progress = {});

}  // namespace xanesmap
