#include "core/pipeline.hpp"

namespace xanesmap {

MapPipelineResult run_map_pipeline(const RawStack& raw, const std::vector<ReferenceSpectrum>& references,
                                   const MapPipelineOptions& options, const ProgressSink& progress) {
  options.validate();
  const OpticalDensityResult od = compute_optical_density(raw, options.optical_density, progress);
  MapPipelineResult result;
  result.energies_ev = raw.counts().energies_ev();
  result.optical_density = {od.invalid_pixels, od.pixels_by_flag};
  result.maps = compute_valence_maps(od.od, od.flags.view(), references, options.valence, progress);
  return result;
}

}  // namespace xanesmap
