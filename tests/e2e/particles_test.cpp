// Particles through the whole pipeline (simulated raw stack -> valence maps -> particles) against
// the simulation's ground truth: issue 5's accuracy points.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "core/particles/particle_analysis.hpp"
#include "core/pipeline.hpp"
#include "support/simulation_support.hpp"

using namespace xanesmap;

namespace {

struct Run {
  sim::Simulation simulation;
  MapPipelineResult result;
  ParticleAnalysis particles;
};

Run run(const std::string& preset, std::size_t size, std::optional<double> uniform_valence = {},
        std::uint64_t seed = 1) {
  sim::SimulationOptions o;  // 20000 flat counts, the default energy grid
  o.height = o.width = size;
  o.preset = preset;
  o.drift_px = 0.0;  // registration has its own tests; this isolates segmentation and statistics
  o.seed = seed;
  o.uniform_valence = uniform_valence;
  Run r{sim::simulate(o, test::simulation_references()), {}, {}};
  MapPipelineOptions m;
  m.alignment = AlignmentMode::none;
  r.result = run_map_pipeline(test::raw_from(r.simulation.scan), test::map_references(), m);
  r.particles = analyze_particles(r.result.maps, o.pixel_size_nm);
  return r;
}

// The truth's Mn particles as a Segmentation (debris removed, ids kept in scene order).
Segmentation truth_segmentation(const sim::SimulationTruth& t) {
  Segmentation s;
  s.labels = Image<std::uint16_t>(t.labels.height(), t.labels.width(), 0);
  std::map<int, std::uint16_t> relabel;
  for (const auto& p : t.scene.particles)
    if (p.kind == sim::ParticleKind::manganese) {
      const auto id = static_cast<std::uint16_t>(relabel.size() + 1);
      relabel[p.id] = id;
      ParticleInfo info;
      info.id = id;
      s.particles.push_back(info);
    }
  for (std::size_t i = 0; i < t.labels.size(); ++i)
    if (const auto it = relabel.find(t.labels.data()[i]); it != relabel.end())
      s.labels.data()[i] = it->second;
  return s;
}

// IoU of every true Mn particle with the segment that overlaps it most.
std::vector<double> ious(const Segmentation& truth, const Segmentation& found) {
  std::vector<double> out;
  for (std::size_t id = 1; id <= truth.particles.size(); ++id) {
    std::map<int, std::size_t> overlap;
    std::size_t truth_pixels = 0;
    for (std::size_t i = 0; i < truth.labels.size(); ++i)
      if (truth.labels.data()[i] == id) {
        ++truth_pixels;
        if (const int l = found.labels.data()[i]; l != 0) ++overlap[l];
      }
    std::size_t best = 0, best_pixels = 0;
    for (const auto& [l, n] : overlap)
      if (n > best) best = n, best_pixels = found.particles[static_cast<std::size_t>(l - 1)].pixels;
    out.push_back(double(best) / double(truth_pixels + best_pixels - best));
  }
  return out;
}

}  // namespace

TEST_CASE("Separate and touching particles: the right count and IoU >= 0.9 each",
          "[particles][e2e]") {
  for (const std::string preset : {"coated", "touching", "uncoated", "debris"}) {
    const Run r = run(preset, 320);
    const Segmentation truth = truth_segmentation(r.simulation.truth);
    INFO(preset << ": threshold " << r.particles.segmentation.threshold_od << " OD");
    CHECK(r.particles.particles.size() == truth.particles.size());
    const auto iou = ious(truth, r.particles.segmentation);
    for (std::size_t k = 0; k < iou.size(); ++k) {
      INFO("particle " << k + 1 << " IoU " << iou[k]);
      CHECK(iou[k] >= 0.9);  // issue 5's acceptance figure
    }
  }
}

TEST_CASE("Reduced core under an oxidized shell: surface - core within 0.05 of the truth",
          "[particles][e2e]") {
  const Run r = run("uncoated", 384);
  const auto& t = r.simulation.truth;
  // The truth: the true valence map over the true particles' own surface (outer 300 nm) and core.
  const ParticleRegions regions = particle_regions(truth_segmentation(t), 30.0, 300.0);
  double sum[3] = {0, 0, 0};
  std::size_t n[3] = {0, 0, 0};
  for (std::size_t i = 0; i < t.valence.size(); ++i) {
    const auto g = regions.regions.data()[i];
    const float v = t.valence.data()[i];
    if (g == kRegionBackground || !std::isfinite(v)) continue;
    sum[g] += v, ++n[g];
  }
  REQUIRE(n[kRegionSurface] > 100);
  REQUIRE(n[kRegionCore] > 100);
  const double truth =
      sum[kRegionSurface] / double(n[kRegionSurface]) - sum[kRegionCore] / double(n[kRegionCore]);
  INFO("surface - core: measured " << r.particles.surface_minus_core << ", true " << truth);
  CHECK(truth > 0.2);  // the preset has the gradient (shell 3.8 over core 3.2, projected)
  CHECK_THAT(r.particles.surface_minus_core,
             Catch::WithinAbs(truth, 0.05));  // issue 5's acceptance figure
  // The depth profile follows the true one (the true valence averaged in the same depth bins of
  // the measured regions) from the second 60 nm bin inwards, within 0.05 (the acceptance
  // tolerance of surface - core). The first bin (outline pixels, the thinnest Mn: valence noise
  // ~0.26) reads ~0.13 low: noise there is truncated by the simplex bound at valence 4 just above
  // the shell's 3.8. It is reported, not tested.
  const auto& d = r.particles.depth_profile;
  REQUIRE(d.size() >= 21);
  std::vector<double> true_sum(d.size(), 0.0), true_n(d.size(), 0.0);
  const auto& depth = r.particles.regions.depth_nm;
  for (std::size_t i = 0; i < t.valence.size(); ++i) {
    const float z = depth.data()[i], v = t.valence.data()[i];
    if (!(z > 0.0f) || !std::isfinite(z) || !std::isfinite(v)) continue;
    const auto k = static_cast<std::size_t>(std::ceil(z / 60.0) - 1.0);
    if (k < d.size()) true_sum[k] += v, true_n[k] += 1.0;
  }
  for (std::size_t k = 1; k <= 20; ++k) {
    INFO("depth bin " << d[k].from_nm << "-" << d[k].to_nm << " nm: measured " << d[k].mean
                      << ", true " << true_sum[k] / true_n[k]);
    CHECK_THAT(d[k].mean, Catch::WithinAbs(true_sum[k] / true_n[k], 0.05));
  }
  CHECK(d[2].mean > d[12].mean + 0.3);  // the shell (3.8) over the core (3.2), as projected
}

TEST_CASE("Uniform particles are one population and a two-phase preset two", "[particles][e2e]") {
  SECTION("uniform") {
    const Run r = run("coated", 320, 3.6);
    INFO("BIC components " << r.particles.populations.best_components);
    CHECK(r.particles.populations.populations == 1);
    CHECK(std::abs(r.particles.surface_minus_core) < 0.05);  // uniform: no gradient beyond noise
  }
  SECTION("uniform near the MnO2 corner") {
    // At 3.9, noisy LCF fits pile up exactly at valence 4 (the simplex corner): ~14 % of the
    // pixels, which a mixture would otherwise count as a second population.
    const Run r = run("coated", 320, 3.9);
    INFO("BIC components " << r.particles.populations.best_components << ", at the bounds "
                           << r.particles.populations.point_samples);
    CHECK(r.particles.populations.point_samples > 0);
    CHECK(r.particles.populations.populations == 1);
  }
  SECTION("two-phase") {
    const Run r = run("two-phase", 320);
    const auto& p = r.particles.populations;
    INFO("BIC components " << p.best_components);
    REQUIRE(p.populations == 2);
    // The patches are valence 3.0 in a 3.7 host (projected through the whole particle). 0.1
    // allows for the noise at the particles' thin edges, which widens and moves the components.
    CHECK(p.population_parts[0].mean == Approx(3.0).margin(0.1));
    CHECK(p.population_parts[1].mean == Approx(3.7).margin(0.1));
  }
}
