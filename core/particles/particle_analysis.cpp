#include "core/particles/particle_analysis.hpp"

#include <tbb/parallel_for.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/base/error.hpp"

namespace xanesmap {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Values (and weights) of one set of pixels, gathered in one pass over the image.
struct Samples {
  std::vector<double> valence, valence_weight, edge_ev, edge_weight;
  std::size_t pixels = 0;
  void add(float valence_value, float edge_value, double weight) {
    if (std::isfinite(valence_value))
      valence.push_back(valence_value), valence_weight.push_back(weight);
    if (std::isfinite(edge_value)) edge_ev.push_back(edge_value), edge_weight.push_back(weight);
  }
};

RegionFigures figures(const Samples& s, bool weighted) {
  RegionFigures f;
  f.pixels = s.pixels;
  f.valence = describe_distribution(
      s.valence, weighted ? std::span<const double>(s.valence_weight) : std::span<const double>());
  f.edge_energy_ev = describe_distribution(
      s.edge_ev, weighted ? std::span<const double>(s.edge_weight) : std::span<const double>());
  return f;
}

Histogram histogram(const std::vector<double>& values, const std::vector<double>& weights,
                    bool weighted, const HistogramBins& bins) {
  return make_histogram(
      values, weighted ? std::span<const double>(weights) : std::span<const double>(), bins);
}

double difference(const RegionFigures& surface, const RegionFigures& core) {
  return surface.valence.n > 0 && core.valence.n > 0 ? surface.valence.mean - core.valence.mean
                                                     : kNaN;
}

}  // namespace

void ParticleAnalysisOptions::validate() const {
  segmentation.validate();
  if (!(surface_nm > 0.0) || !std::isfinite(surface_nm))
    throw OptionError("surface-nm", "must be a positive depth in nm");
  if (!(depth_bin_nm > 0.0) || !std::isfinite(depth_bin_nm))
    throw OptionError("depth-bin-nm", "must be a positive bin width in nm");
  valence_bins.validate();
  if (edge_bins) edge_bins->validate();
  mixture.validate();
}

namespace {

// Options that make sense for this pixel size (OptionError otherwise).
void check_options(double pixel_size_nm, const ParticleAnalysisOptions& options) {
  if (!(pixel_size_nm > 0.0) || !std::isfinite(pixel_size_nm))
    throw OptionError("pixel-size-nm", "must be a positive size in nm");
  options.validate();
  // Depths are distances between pixel centres: bins much narrower than a pixel only make
  // empty rows (and a 1e-5 nm bin width would need ~1e8 bins).
  if (options.depth_bin_nm < pixel_size_nm / 10.0)
    throw OptionError("depth-bin-nm", "must be at least a tenth of the pixel size (" +
                                          std::to_string(pixel_size_nm / 10.0) + " nm)");
}

}  // namespace

ParticleAnalysis analyze_particles(const ValenceMaps& maps, double pixel_size_nm,
                                   const ParticleAnalysisOptions& options) {
  check_options(pixel_size_nm, options);  // before the segmentation's work
  SegmentationOptions seg_options = options.segmentation;
  seg_options.pixel_size_nm = pixel_size_nm;
  return measure_particles(maps, segment_particles(maps.edge_jump_od.view(), seg_options),
                           pixel_size_nm, options);
}

ParticleAnalysis measure_particles(const ValenceMaps& maps, Segmentation segmentation,
                                   double pixel_size_nm, const ParticleAnalysisOptions& options) {
  check_options(pixel_size_nm, options);
  if (segmentation.labels.height() != maps.valence.height() ||
      segmentation.labels.width() != maps.valence.width())
    throw InputError("the particle labels do not match the valence map in size");
  ParticleAnalysis a;
  a.surface_nm = options.surface_nm;
  a.pixel_size_nm = pixel_size_nm;
  a.weighted = options.weight_by_edge_jump;
  a.segmentation = std::move(segmentation);
  a.regions = particle_regions(a.segmentation, pixel_size_nm, options.surface_nm);

  const std::size_t count = a.segmentation.particles.size();
  // [particle][0 all, 1 surface, 2 core] and the pooled sets.
  std::vector<std::array<Samples, 3>> per_particle(count);
  std::array<Samples, 3> pooled;
  std::vector<std::array<std::size_t, kAllPixelStatuses.size()>> by_status(count);
  // Depth profile: bins (k w, (k+1) w] of depth below the outline.
  std::vector<Samples> depth_bins;

  const auto labels = a.segmentation.labels.pixels();
  const auto regions = a.regions.regions.pixels();
  const auto depth = a.regions.depth_nm.pixels();
  const auto valence = maps.valence.pixels();
  const auto edge = maps.edge_energy_ev.pixels();
  const auto jump = maps.edge_jump_od.pixels();
  const auto status = maps.status.pixels();
  // The weight of a pixel without a finite edge jump cannot be known; such a pixel has no
  // valence either (its OD is invalid), so the weight 0 is never used for a value.
  const auto weight_of = [&](std::size_t i) {
    return options.weight_by_edge_jump
               ? (std::isfinite(jump[i]) ? std::max(0.0, double(jump[i])) : 0.0)
               : 1.0;
  };
  const auto set_of = [&](std::size_t i) -> std::size_t {
    return regions[i] == kRegionSurface ? 1 : 2;
  };
  // Two gathering passes in parallel, each filling its own sets in raster order (the order of
  // the values within every set, hence every sum over them, is that of one pass over the image).
  tbb::task_group gather;
  gather.run([&] {
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == 0) continue;
      const std::size_t p = labels[i] - 1u;
      const double weight = weight_of(i);
      for (const std::size_t set : {std::size_t{0}, set_of(i)}) {
        per_particle[p][set].pixels++;
        per_particle[p][set].add(valence[i], edge[i], weight);
      }
      if (status[i] < kAllPixelStatuses.size()) by_status[p][status[i]]++;
    }
  });
  gather.run([&] {
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == 0) continue;
      const double weight = weight_of(i);
      for (const std::size_t set : {std::size_t{0}, set_of(i)}) {
        pooled[set].pixels++;
        pooled[set].add(valence[i], edge[i], weight);
      }
      if (std::isfinite(depth[i])) {
        const auto bin = static_cast<std::size_t>(
            std::max(0.0, std::ceil(depth[i] / options.depth_bin_nm) - 1.0));
        if (bin >= depth_bins.size()) depth_bins.resize(bin + 1);
        depth_bins[bin].pixels++;
        depth_bins[bin].add(valence[i], edge[i], weight);
      }
    }
  });
  gather.wait();

  const HistogramBins edge_bins =
      options.edge_bins.value_or(HistogramBins{maps.e0_ev - 10.0, maps.e0_ev + 10.0, 80});
  edge_bins.validate();
  const bool w = options.weight_by_edge_jump;
  // Every figure below reads its own set and writes its own slot: independent tasks.
  tbb::task_group figures_of;
  // Populations count pixels (unweighted): a mixture of the valences present in the particles.
  // Valences exactly at the smallest or largest reference valence are LCF fits clamped at a
  // simplex corner: a point mass, not a population (MixtureOptions::point_values).
  figures_of.run([&] {
    MixtureOptions mixture = options.mixture;
    if (!maps.reference_valences.empty()) {
      const auto [lo, hi] =
          std::minmax_element(maps.reference_valences.begin(), maps.reference_valences.end());
      mixture.point_values.insert(mixture.point_values.end(), {*lo, *hi});
    }
    a.populations = count_populations(pooled[0].valence, mixture);
  });
  a.particles.resize(count);
  a.valence_histograms.particles.resize(count);
  a.edge_histograms.particles.resize(count);
  figures_of.run([&] {
    tbb::parallel_for(std::size_t{0}, count, [&](std::size_t p) {
      ParticleStatistics& s = a.particles[p];
      s.info = a.segmentation.particles[p];
      s.all = figures(per_particle[p][0], w);
      s.surface = figures(per_particle[p][1], w);
      s.core = figures(per_particle[p][2], w);
      s.surface_minus_core = difference(s.surface, s.core);
      s.pixels_by_status = by_status[p];
      a.valence_histograms.particles[p] = histogram(
          per_particle[p][0].valence, per_particle[p][0].valence_weight, w, options.valence_bins);
      a.edge_histograms.particles[p] =
          histogram(per_particle[p][0].edge_ev, per_particle[p][0].edge_weight, w, edge_bins);
    });
  });
  RegionFigures* pooled_figures[] = {&a.all, &a.surface, &a.core};
  Histogram* valence_sets[] = {&a.valence_histograms.all, &a.valence_histograms.surface,
                               &a.valence_histograms.core};
  Histogram* edge_sets[] = {&a.edge_histograms.all, &a.edge_histograms.surface,
                            &a.edge_histograms.core};
  for (std::size_t set = 0; set < 3; ++set)
    figures_of.run([&, set] {
      *pooled_figures[set] = figures(pooled[set], w);
      *valence_sets[set] =
          histogram(pooled[set].valence, pooled[set].valence_weight, w, options.valence_bins);
      *edge_sets[set] = histogram(pooled[set].edge_ev, pooled[set].edge_weight, w, edge_bins);
    });
  a.depth_profile.resize(depth_bins.size());
  figures_of.run([&] {
    tbb::parallel_for(std::size_t{0}, depth_bins.size(), [&](std::size_t k) {
      DepthBin& bin = a.depth_profile[k];
      bin.from_nm = static_cast<double>(k) * options.depth_bin_nm;
      bin.to_nm = static_cast<double>(k + 1) * options.depth_bin_nm;
      const auto& s = depth_bins[k];
      bin.pixels = s.valence.size();
      const DistributionFigures f = describe_distribution(
          s.valence, w ? std::span<const double>(s.valence_weight) : std::span<const double>());
      bin.mean = bin.pixels > 0 ? f.mean : kNaN;
      bin.std = bin.pixels > 1 ? f.std : kNaN;
      // Standard error with the effective sample size (sum w)^2 / sum w^2 (= n unweighted). Pixels
      // next to each other are correlated (smoothing, registration interpolation), so this is a
      // lower bound of the true uncertainty of the bin's mean.
      double sum_w = 0.0, sum_w2 = 0.0;
      for (const double x : s.valence_weight) sum_w += x, sum_w2 += x * x;
      const double n_eff = sum_w2 > 0.0 ? sum_w * sum_w / sum_w2 : 0.0;
      bin.standard_error = bin.pixels > 1 && n_eff > 0.0 ? bin.std / std::sqrt(n_eff) : kNaN;
    });
  });
  figures_of.wait();
  a.surface_minus_core = difference(a.surface, a.core);
  return a;
}

}  // namespace xanesmap
