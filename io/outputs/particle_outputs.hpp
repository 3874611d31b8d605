// What `xanesmap map` writes about particles (docs/map-outputs.md is the contract): labels.tif,
// regions.tif, particles.csv, histogram.csv, histogram_edge_energy.csv, depth_profile.csv, their
// plots, the summary.json blocks "particles", "regions", "distribution" and "populations", and
// the results.h5 group /particles.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/particles/particle_analysis.hpp"

namespace xanesmap {

namespace h5 {
class File;
}

/// CSV texts (one header line, one row per particle / bin; numbers with enough digits to read
/// back exactly; empty cells for "no value").
std::string particles_csv(const ParticleAnalysis& analysis);
std::string depth_profile_csv(const ParticleAnalysis& analysis);
/// Wide table: bin_from, bin_to, all, surface, core, particle_1 .. particle_N (counts, weighted
/// when the analysis is).
std::string histogram_csv(const RegionHistograms& histograms);

/// summary.json blocks: {"particles": ..., "regions": ..., "distribution": ..., "populations":
/// ...}.
nlohmann::json particle_summary(const ParticleAnalysis& analysis,
                                const ParticleAnalysisOptions& options);

/// Distribution figures as JSON (NaN as null); shared with `compare`.
nlohmann::json figures_json(const DistributionFigures& f);

/// labels.tif, regions.tif, the CSV tables and histogram.png / depth_profile.png / regions.png.
/// `valence_method` goes into the plot titles. Throws OutputError naming the file.
void write_particle_outputs(const std::filesystem::path& folder, const ParticleAnalysis& analysis,
                            const std::string& version, const std::string& valence_method);

/// /particles/labels, /particles/regions, /particles/depth_nm and the histograms.
void write_particles_h5(h5::File& file, const ParticleAnalysis& analysis);

}  // namespace xanesmap
