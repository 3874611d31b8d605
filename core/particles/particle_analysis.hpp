// Particles of a valence map: segmentation, surface shell against core, per-particle and per-region
// distribution figures, histograms, a depth profile and the number of valence populations.
//
// Which pixels count. A particle pixel belongs to a label of the segmentation
// (core/particles/segmentation, taken on the edge-jump map). It has a *value* when the valence map
// holds a finite valence there (status ok or edge_extrapolated); every other particle pixel is
// counted by its status, never replaced. All figures below are over the particle pixels with a
// value; `weight_by_edge_jump` weights each by its edge jump (the amount of Mn along the beam), so
// thin outline pixels count less than the particle's centre.
//
// Regions (particle_regions): surface = depth below the outline up to `surface_nm`, core = deeper.
// The sample's surface and core figures pool the pixels of every particle; surface_minus_core is
// the difference of the pooled means (particles.csv has each particle's own difference).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

#include "core/particles/distribution.hpp"
#include "core/particles/segmentation.hpp"
#include "core/spectral/valence_map.hpp"

namespace xanesmap {

struct ParticleAnalysisOptions {
  SegmentationOptions segmentation;  // its pixel_size_nm is replaced by the run's pixel size
  double surface_nm = 300.0;         // surface shell: depth below the outline up to this (nm)
  double depth_bin_nm = 60.0;        // depth profile bin width (nm)
  HistogramBins valence_bins{2.0, 4.0, 80};  // valence histogram bins (0.025 wide)
  std::optional<HistogramBins>
      edge_bins;  // edge energy (eV); default e0 - 10 .. e0 + 10 eV, 0.25 eV bins
  bool weight_by_edge_jump = false;  // weight pixels by their edge jump (OD)
  MixtureOptions mixture;            // population count
  void validate() const;             // OptionError naming the option
};

/// Distribution figures of one set of particle pixels.
struct RegionFigures {
  std::size_t pixels = 0;       // particle pixels in the set (with or without a value)
  DistributionFigures valence;  // over pixels with a value (valence.n of them)
  DistributionFigures edge_energy_ev;
};

struct ParticleStatistics {
  ParticleInfo info;
  RegionFigures all, surface, core;
  double surface_minus_core = 0.0;  // surface mean - core mean; NaN when either has no value
  std::array<std::size_t, kAllPixelStatuses.size()> pixels_by_status{};  // kAllPixelStatuses order
};

struct DepthBin {
  double from_nm = 0.0, to_nm = 0.0;  // depth below the outline: from < depth <= to
  std::size_t pixels = 0;             // pixels with a value in the bin
  double mean = 0.0, std = 0.0, standard_error = 0.0;  // NaN when there are too few pixels
};

struct RegionHistograms {
  Histogram all, surface, core;
  std::vector<Histogram> particles;  // one per particle, in id order
};

struct ParticleAnalysis {
  Segmentation segmentation;
  ParticleRegions regions;
  double surface_nm = 0.0, pixel_size_nm = 0.0;
  bool weighted = false;
  std::vector<ParticleStatistics> particles;  // in id order
  RegionFigures all, surface, core;           // pooled over particles
  double surface_minus_core =
      0.0;  // pooled surface mean - pooled core mean (NaN if either is empty)
  PopulationAnalysis populations;  // valence of all particle pixels with a value
  RegionHistograms valence_histograms, edge_histograms;
  std::vector<DepthBin> depth_profile;  // from the outline inwards
};

/// Segments the particles on maps.edge_jump_od and measures them on maps.valence and
/// maps.edge_energy_ev. No particle is not an error (count 0, NaN figures).
/// Throws OptionError for bad options.
ParticleAnalysis analyze_particles(const ValenceMaps& maps, double pixel_size_nm,
                                   const ParticleAnalysisOptions& options = {});

/// The same on a segmentation already made (of maps.edge_jump_od, with options.segmentation):
/// regions, figures, histograms, depth profile, populations. analyze_particles is
/// segment_particles followed by this.
ParticleAnalysis measure_particles(const ValenceMaps& maps, Segmentation segmentation,
                                   double pixel_size_nm,
                                   const ParticleAnalysisOptions& options = {});

}  // namespace xanesmap
