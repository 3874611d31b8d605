#include "io/outputs/particle_outputs.hpp"

#include <cmath>
#include <sstream>

#include "core/base/error.hpp"
#include "io/formats/hdf5_file.hpp"
#include "io/formats/tiff_io.hpp"
#include "io/outputs/text_output.hpp"
#include "io/plots/plot_png.hpp"
#include "io/plots/png_preview.hpp"

namespace xanesmap {

namespace fs = std::filesystem;

namespace {

std::string status_columns_header() {
  std::string s;
  for (const auto status : kAllPixelStatuses) s += std::string(",pixels_") + status_name(status);
  return s;
}

nlohmann::json region_json(const RegionFigures& r) {
  return {{"pixels", r.pixels},
          {"pixels_with_value", r.valence.n},
          {"mean_valence", json_number(r.valence.mean)},
          {"median_valence", json_number(r.valence.median)},
          {"std_valence", json_number(r.valence.std)},
          {"valence", figures_json(r.valence)},
          {"edge_energy_ev", figures_json(r.edge_energy_ev)}};
}

nlohmann::json components_json(const std::vector<GaussianComponent>& parts) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& c : parts)
    a.push_back({{"weight", json_number(c.weight)},
                 {"mean", json_number(c.mean)},
                 {"sigma", json_number(c.sigma)}});
  return a;
}

std::vector<double> density_or_empty(const Histogram& h) {
  return h.total_weight > 0.0 ? h.density() : std::vector<double>();
}

}  // namespace

nlohmann::json figures_json(const DistributionFigures& f) {
  return {{"n", f.n},
          {"mean", json_number(f.mean)},
          {"median", json_number(f.median)},
          {"std", json_number(f.std)},
          {"q25", json_number(f.q25)},
          {"q75", json_number(f.q75)},
          {"iqr", json_number(f.iqr)},
          {"skewness", json_number(f.skewness)}};
}

std::string particles_csv(const ParticleAnalysis& a) {
  std::ostringstream s;
  s << "id,pixels,area_um2,equivalent_diameter_um,centroid_row_px,centroid_col_px,touches_border,"
       "pixels_with_value,mean_valence,median_valence,std_valence,surface_pixels,surface_mean_"
       "valence,"
       "core_pixels,core_mean_valence,surface_minus_core,mean_edge_energy_ev"
    << status_columns_header() << "\n";
  for (const auto& p : a.particles) {
    const ParticleInfo& i = p.info;
    s << i.id << "," << i.pixels << "," << csv_number(i.area_um2) << ","
      << csv_number(i.equivalent_diameter_um) << "," << csv_number(i.centroid_row) << ","
      << csv_number(i.centroid_col) << "," << (i.touches_border ? 1 : 0) << "," << p.all.valence.n
      << "," << csv_number(p.all.valence.mean) << "," << csv_number(p.all.valence.median) << ","
      << csv_number(p.all.valence.std) << "," << p.surface.pixels << ","
      << csv_number(p.surface.valence.mean) << "," << p.core.pixels << ","
      << csv_number(p.core.valence.mean) << "," << csv_number(p.surface_minus_core) << ","
      << csv_number(p.all.edge_energy_ev.mean);
    for (const auto n : p.pixels_by_status) s << "," << n;
    s << "\n";
  }
  return s.str();
}

std::string depth_profile_csv(const ParticleAnalysis& a) {
  std::ostringstream s;
  s << "depth_from_nm,depth_to_nm,pixels,mean_valence,std_valence,standard_error\n";
  for (const auto& b : a.depth_profile)
    s << csv_number(b.from_nm) << "," << csv_number(b.to_nm) << "," << b.pixels << ","
      << csv_number(b.mean) << "," << csv_number(b.std) << "," << csv_number(b.standard_error)
      << "\n";
  return s.str();
}

std::string histogram_csv(const RegionHistograms& h) {
  std::ostringstream s;
  s << "bin_from,bin_to,all,surface,core";
  for (std::size_t p = 0; p < h.particles.size(); ++p) s << ",particle_" << p + 1;
  s << "\n";
  const std::size_t bins = h.all.counts.size();
  for (std::size_t b = 0; b < bins; ++b) {
    s << csv_number(h.all.edges[b]) << "," << csv_number(h.all.edges[b + 1]) << ","
      << csv_number(h.all.counts[b]) << "," << csv_number(h.surface.counts[b]) << ","
      << csv_number(h.core.counts[b]);
    for (const auto& p : h.particles) s << "," << csv_number(p.counts[b]);
    s << "\n";
  }
  // Values outside the bins are not dropped silently: two last rows carry them.
  s << "-inf," << csv_number(h.all.edges.front()) << "," << csv_number(h.all.underflow) << ","
    << csv_number(h.surface.underflow) << "," << csv_number(h.core.underflow);
  for (const auto& p : h.particles) s << "," << csv_number(p.underflow);
  s << "\n"
    << csv_number(h.all.edges.back()) << ",inf," << csv_number(h.all.overflow) << ","
    << csv_number(h.surface.overflow) << "," << csv_number(h.core.overflow);
  for (const auto& p : h.particles) s << "," << csv_number(p.overflow);
  s << "\n";
  return s.str();
}

nlohmann::json particle_summary(const ParticleAnalysis& a, const ParticleAnalysisOptions& o) {
  nlohmann::json j;
  std::size_t touching = 0;
  for (const auto& p : a.particles) touching += p.info.touches_border ? 1 : 0;
  j["particles"] = {{"count", a.particles.size()},
                    {"touching_border", touching},
                    {"threshold_od", json_number(a.segmentation.threshold_od)},
                    {"threshold", o.segmentation.threshold_od > 0.0 ? "given" : "automatic"},
                    {"min_area_um2", o.segmentation.min_area_um2},
                    {"split_touching", o.segmentation.split_touching},
                    {"pixels", a.all.pixels}};
  j["regions"] = {{"surface_depth_nm", a.surface_nm},
                  {"weighted_by_edge_jump", a.weighted},
                  {"surface", region_json(a.surface)},
                  {"core", region_json(a.core)},
                  {"all", region_json(a.all)},
                  {"surface_minus_core", json_number(a.surface_minus_core)}};
  j["distribution"] = figures_json(a.all.valence);
  nlohmann::json fits = nlohmann::json::array();
  for (const auto& f : a.populations.fits)
    fits.push_back({{"components", f.components},
                    {"bic", json_number(f.bic)},
                    {"log_likelihood", json_number(f.log_likelihood)},
                    {"converged", f.converged},
                    {"parts", components_json(f.parts)}});
  j["populations"] = {{"count", a.populations.populations},
                      {"bic_components", a.populations.best_components},
                      {"populations", components_json(a.populations.population_parts)},
                      {"fits", fits},
                      {"samples", a.populations.samples},
                      {"samples_used", a.populations.samples_used},
                      {"samples_at_reference_bounds", a.populations.point_samples},
                      {"min_separation_ashman_d", o.mixture.min_separation},
                      {"min_weight", o.mixture.min_weight}};
  return j;
}

void write_particle_outputs(const fs::path& folder, const ParticleAnalysis& a,
                            const std::string& version, const std::string& valence_method) {
  const double px_um = a.pixel_size_nm / 1000.0;
  const std::string head = "xanesmap=" + version + "\n";
  write_tiff(folder / "labels.tif", a.segmentation.labels.view(),
             {px_um, head + "quantity=particle label (0 = background, 1..N = particles.csv id)"});
  write_tiff(folder / "regions.tif", a.regions.regions.view(),
             {px_um, head + "quantity=region\ncodes=0:background 1:core 2:surface\nsurface_nm=" +
                         csv_number(a.surface_nm)});
  write_tiff(folder / "depth.tif", a.regions.depth_nm.view(),
             {px_um, head + "quantity=depth below the particle outline\nvalue_unit=nm"});
  write_text_file(folder / "particles.csv", particles_csv(a));
  write_text_file(folder / "depth_profile.csv", depth_profile_csv(a));
  write_text_file(folder / "histogram.csv", histogram_csv(a.valence_histograms));
  write_text_file(folder / "histogram_edge_energy.csv", histogram_csv(a.edge_histograms));

  write_category_png(
      folder / "regions.png", a.regions.regions.view(),
      {{kRegionBackground, "background"}, {kRegionCore, "core"}, {kRegionSurface, "surface"}},
      "Particle regions (surface: outer " + csv_number(a.surface_nm) + " nm)");
  // Histogram plot: densities, so that the surface and core sets compare whatever their sizes.
  const auto& h = a.valence_histograms;
  std::vector<PlotSeries> series;
  auto add = [&](const Histogram& hist, const std::string& name, std::size_t n) {
    const auto d = density_or_empty(hist);
    if (d.empty()) return;
    series.push_back(
        {name + " (" + std::to_string(n) + " px)", hist.edges, d, PlotStyle::steps, false, -1, {}});
  };
  add(h.all, "all particles", a.all.valence.n);
  add(h.surface, "surface", a.surface.valence.n);
  add(h.core, "core", a.core.valence.n);
  if (!series.empty()) {
    series.front().filled = true;
    PlotOptions plot;
    plot.title = "Mn valence (" + valence_method + ") of " + std::to_string(a.particles.size()) +
                 " particle(s)" + (a.weighted ? ", weighted by edge jump" : "");
    plot.x_label = "Mn valence";
    plot.y_label = "probability density";
    plot.y_from_zero = true;
    if (std::isfinite(a.surface.valence.mean))
      plot.vertical_markers.push_back({a.surface.valence.mean, "surface mean"});
    if (std::isfinite(a.core.valence.mean))
      plot.vertical_markers.push_back({a.core.valence.mean, "core mean"});
    write_plot_png(folder / "histogram.png", series, plot);
  }
  std::vector<double> x, y, err;
  for (const auto& b : a.depth_profile)
    if (b.pixels > 1)
      x.push_back(0.5 * (b.from_nm + b.to_nm)), y.push_back(b.mean), err.push_back(b.std);
  if (!x.empty()) {
    PlotOptions plot;
    plot.title = "Mn valence against depth below the particle outline";
    plot.x_label = "depth (nm)";
    plot.y_label = "Mn valence (mean, bars: std)";
    plot.x_range = std::make_pair(0.0, a.depth_profile.back().to_nm);
    plot.vertical_markers.push_back({a.surface_nm, "surface | core"});
    write_plot_png(folder / "depth_profile.png",
                   {{"mean valence", x, y, PlotStyle::points, false, -1, err}}, plot);
  }
}

void write_particles_h5(h5::File& file, const ParticleAnalysis& a) {
  const auto& labels = a.segmentation.labels;
  h5::write(file, "/particles/labels", labels.pixels(), {labels.height(), labels.width()});
  h5::write(file, "/particles/regions", a.regions.regions.pixels(),
            {labels.height(), labels.width()});
  h5::write(file, "/particles/depth_nm", a.regions.depth_nm.pixels(),
            {labels.height(), labels.width()});
  h5::write_attribute(file, "/particles/regions", "codes", "0=background, 1=core, 2=surface");
  h5::write_attribute(file, "/particles/depth_nm", "units", "nm");
  auto histogram = [&](const std::string& group, const RegionHistograms& h) {
    h5::write(file, group + "/edges", std::span<const double>(h.all.edges), {h.all.edges.size()});
    h5::write(file, group + "/all", std::span<const double>(h.all.counts), {h.all.counts.size()});
    h5::write(file, group + "/surface", std::span<const double>(h.surface.counts),
              {h.surface.counts.size()});
    h5::write(file, group + "/core", std::span<const double>(h.core.counts),
              {h.core.counts.size()});
    // Values outside the bins, [all, surface, core]: below the first edge, above the last.
    const double under[3] = {h.all.underflow, h.surface.underflow, h.core.underflow};
    const double over[3] = {h.all.overflow, h.surface.overflow, h.core.overflow};
    h5::write(file, group + "/underflow", std::span<const double>(under, 3), {3});
    h5::write(file, group + "/overflow", std::span<const double>(over, 3), {3});
  };
  histogram("/particles/histogram_valence", a.valence_histograms);
  histogram("/particles/histogram_edge_energy", a.edge_histograms);
  h5::write_string(file, "/particles/particles_csv", particles_csv(a));
  h5::write_string(file, "/particles/depth_profile_csv", depth_profile_csv(a));
}

}  // namespace xanesmap
