// Valence maps from simulated stacks against their ground truth (no drift: registration is a
// separate stage).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "core/base/error.hpp"
#include "core/pipeline.hpp"
#include "core/spectral/spectrum_normalizer.hpp"
#include "core/spectral/valence_model.hpp"
#include "core/spectral/valence_pixels.hpp"
#include "core/spectral/valence_summary.hpp"
#include "support/simulation_support.hpp"

using namespace xanesmap;

namespace {

struct Run {
  sim::Simulation simulation;
  MapPipelineResult result;
};

Run run(sim::SimulationOptions sim_options, const MapPipelineOptions& map_options = {}) {
  sim_options.drift_px = 0.0;
  Run r{sim::simulate(sim_options, test::simulation_references()), {}};
  r.result =
      run_map_pipeline(test::raw_from(r.simulation.scan), test::map_references(), map_options);
  return r;
}

struct ErrorStats {
  double bias = 0, rmse = 0, mean_sigma = 0;
  std::size_t pixels = 0;
};

// Over pixels with a true edge jump >= 0.1 OD, 3 px or more inside a particle, measured ok.
ErrorStats errors(const Run& r, const Image<float>& valence, const Image<float>& sigma) {
  const auto& truth = r.simulation.truth;
  const auto interior = test::erode(truth.mn_mask, 3);
  ErrorStats s;
  double sum = 0, sum2 = 0, sigma_sum = 0;
  for (std::size_t p = 0; p < valence.size(); ++p) {
    if (!interior.data()[p] || truth.edge_jump_od.data()[p] < 0.1) continue;
    const float v = valence.data()[p];
    if (!std::isfinite(v)) continue;
    const double d = v - truth.valence.data()[p];
    sum += d, sum2 += d * d, sigma_sum += sigma.data()[p];
    ++s.pixels;
  }
  s.bias = sum / static_cast<double>(s.pixels);
  s.rmse = std::sqrt(sum2 / static_cast<double>(s.pixels));
  s.mean_sigma = sigma_sum / static_cast<double>(s.pixels);
  return s;
}

sim::SimulationOptions default_preset(std::size_t size = 256) {
  sim::SimulationOptions o;  // the default preset: "mixed", 20000 flat counts, default grid
  o.height = o.width = size;
  return o;
}

}  // namespace

TEST_CASE("Default preset: LCF valence bias, RMSE and a calibrated sigma", "[map][e2e]") {
  const Run r = run(default_preset());
  const auto& m = r.result.maps;
  const ErrorStats s = errors(r, m.valence, m.valence_sigma);
  INFO("pixels " << s.pixels << " bias " << s.bias << " rmse " << s.rmse << " mean sigma "
                 << s.mean_sigma);
  REQUIRE(s.pixels > 2000);
  CHECK(std::abs(s.bias) <= 0.02);      // issue 3 acceptance
  CHECK(s.rmse <= 0.08);                // issue 3 acceptance
  CHECK(s.mean_sigma / s.rmse >= 0.8);  // calibrated sigma: 0.8-1.25
  CHECK(s.mean_sigma / s.rmse <= 1.25);
  CHECK(m.statistics.pixels > 0);
  CHECK(m.status_counts[static_cast<std::size_t>(PixelStatus::invalid_od)] == 0);
}

TEST_CASE("Default preset: the simplex constraint against plain sum-to-one", "[map][e2e]") {
  // Documents the choice of the default (docs/method.md): both on the same stack.
  MapPipelineOptions free;
  free.valence.constraint = LcfConstraint::sum_to_one;
  const Run simplex = run(default_preset());
  const Run sum_to_one = run(default_preset(), free);
  const auto a = errors(simplex, simplex.result.maps.valence, simplex.result.maps.valence_sigma);
  const auto b =
      errors(sum_to_one, sum_to_one.result.maps.valence, sum_to_one.result.maps.valence_sigma);
  WARN("simplex: bias " << a.bias << " rmse " << a.rmse << " sigma/rmse " << a.mean_sigma / a.rmse
                        << "; sum-to-one: bias " << b.bias << " rmse " << b.rmse << " sigma/rmse "
                        << b.mean_sigma / b.rmse);
  CHECK(std::abs(b.bias) <= 0.02);
  // The constraint must not cost much precision: measured 0.069 against 0.064 (+7 %) on this
  // stack, with and without the simulator's beam effects; simplex keeps fractions physical.
  CHECK(a.rmse <= b.rmse * 1.10);
}

TEST_CASE("Default preset: the edge-energy calibration also tracks the truth", "[map][e2e]") {
  MapPipelineOptions options;
  options.valence.method = ValenceMethod::edge;
  const Run r = run(default_preset(), options);
  const auto& m = r.result.maps;
  const ErrorStats s = errors(r, m.valence, m.valence_sigma);
  INFO("edge: pixels " << s.pixels << " bias " << s.bias << " rmse " << s.rmse << " sigma "
                       << s.mean_sigma);
  // The half-height moves only ~2 eV from Mn3+ to Mn4+, so its ~0.1 eV of noise is ~0.05 in
  // valence, and a mixture's half-height is not linear in its composition (noise-free bias
  // ~+0.03). Measured on this stack: bias +0.052 to +0.055, RMSE 0.19, with and without the
  // simulator's beam effects and beam normalization (+0.031, RMSE 0.22 before the registration
  // template followed the stack's edge); the bounds leave ~30 % margin.
  CHECK(std::abs(s.bias) <= 0.07);
  CHECK(s.rmse <= 0.3);
}

TEST_CASE("Uncoated preset: the oxidized shell over the reduced core is measured", "[map][e2e]") {
  auto o = default_preset(384);
  o.preset = "uncoated";
  const Run r = run(o);
  const auto& truth = r.simulation.truth;
  const auto& m = r.result.maps;
  const double px_um = o.pixel_size_nm / 1000.0;
  // The largest particle: outer 300 nm (depth from the outline) against the inner region.
  const auto& p = truth.scene.particles.front();
  double est_outer = 0, est_inner = 0, true_outer = 0, true_inner = 0;
  std::size_t n_outer = 0, n_inner = 0;
  for (std::size_t row = 0; row < m.valence.height(); ++row)
    for (std::size_t col = 0; col < m.valence.width(); ++col) {
      const double dy = static_cast<double>(row) - p.cy_px, dx = static_cast<double>(col) - p.cx_px;
      const double depth_um = (p.radius_px - std::hypot(dy, dx)) * px_um;
      const float v = m.valence(row, col);
      if (depth_um < 0.03 || !std::isfinite(v)) continue;  // skip the outline pixel itself
      if (depth_um <= 0.3) {
        est_outer += v, true_outer += truth.valence(row, col), ++n_outer;
      } else {
        est_inner += v, true_inner += truth.valence(row, col), ++n_inner;
      }
    }
  REQUIRE(n_outer > 100);
  REQUIRE(n_inner > 100);
  const auto outer = static_cast<double>(n_outer), inner = static_cast<double>(n_inner);
  const double est = est_outer / outer - est_inner / inner;
  const double tru = true_outer / outer - true_inner / inner;
  INFO("surface minus core: measured " << est << ", true " << tru);
  CHECK(tru > 0.1);  // the preset does have the gradient
  CHECK_THAT(est, Catch::WithinAbs(tru, 0.05));
}

TEST_CASE("Pixels made of one reference give that reference's valence", "[map][e2e]") {
  for (const double valence : {2.0, 3.0, 4.0}) {
    auto o = default_preset(128);
    o.preset = "coated";
    o.uniform_valence = valence;
    o.noise = false;
    for (const auto method : {ValenceMethod::lcf, ValenceMethod::edge}) {
      MapPipelineOptions options;
      options.valence.method = method;
      const Run r = run(o, options);
      const auto interior = test::erode(r.simulation.truth.mn_mask, 3);
      double worst = 0;
      std::size_t pixels = 0;
      for (std::size_t p = 0; p < interior.size(); ++p) {
        if (!interior.data()[p] || r.simulation.truth.edge_jump_od.data()[p] < 0.05) continue;
        worst = std::max(worst, std::abs(r.result.maps.valence.data()[p] - valence));
        ++pixels;
      }
      INFO("valence " << valence << " method " << to_string(method) << " pixels " << pixels);
      REQUIRE(pixels > 100);
      CHECK(worst <= 0.01);  // issue 3 acceptance
    }
  }
}

TEST_CASE("Every pixel has a status and is counted", "[map][e2e]") {
  auto o = default_preset(128);
  o.hot_pixels = 20;
  const Run r = run(o);
  const auto& m = r.result.maps;
  std::size_t total = 0;
  for (const auto c : m.status_counts) total += c;
  CHECK(total == 128 * 128);
  CHECK(m.status_counts[static_cast<std::size_t>(PixelStatus::invalid_od)] >=
        15);  // hot pixels may repeat
  for (std::size_t p = 0; p < m.status.size(); ++p) {
    const auto s = static_cast<PixelStatus>(m.status.data()[p]);
    const bool has_value = std::isfinite(m.valence.data()[p]);
    CHECK(has_value == (s == PixelStatus::ok || s == PixelStatus::edge_extrapolated));
  }
  // The mean spectrum of the ok pixels is fitted and close to the mean of their valences.
  CHECK_THAT(m.mean_spectrum.valence, Catch::WithinAbs(m.statistics.mean, 0.05));
}

TEST_CASE("Map input problems are clear errors", "[map][bad]") {
  auto o = default_preset(64);
  o.energies_ev = {};
  const auto simulation = sim::simulate(o, test::simulation_references());
  const RawStack raw = test::raw_from(simulation.scan);
  auto refs = test::map_references();
  SECTION("references that do not cover the stack") {
    // Cut Mn2O3 at 6650 eV: the post-edge window reaches the stack's last energy, 6700 eV.
    auto& e = refs[1].mu.energy_ev;
    const auto keep =
        static_cast<std::size_t>(std::upper_bound(e.begin(), e.end(), 6650.0) - e.begin());
    e.resize(keep);
    refs[1].mu.mu.resize(keep);
    CHECK_THROWS_WITH(run_map_pipeline(raw, refs, {}),
                      Catch::Contains("Mn2O3") && Catch::Contains("cover"));
  }
  SECTION("references that cover the stack but not the long literature windows still map") {
    // Regression: the informational native-grid column used -150/+400 eV windows and aborted.
    for (auto& r : refs) {
      auto& e = r.mu.energy_ev;
      const auto lo = std::lower_bound(e.begin(), e.end(), 6430.0) - e.begin();
      const auto hi = std::upper_bound(e.begin(), e.end(), 6705.0) - e.begin();
      r.mu.energy_ev = std::vector<double>(e.begin() + lo, e.begin() + hi);
      r.mu.mu = std::vector<double>(r.mu.mu.begin() + lo, r.mu.mu.begin() + hi);
    }
    const auto result = run_map_pipeline(raw, refs, {});
    bool warned = false;
    // MnO2's e0 (6557.8 eV) + 150 eV lies beyond the cut at 6705 eV: its long window is empty.
    for (const auto& w : result.maps.warnings)
      warned |= w.find("reference 'MnO2'") != std::string::npos;
    CHECK(warned);
    CHECK(std::isnan(result.maps.calibration[2].native_grid_ev[0]));
    CHECK(result.maps.statistics.pixels > 0);
  }
  SECTION("fewer than two valences") {
    refs[1].valence = refs[0].valence;
    refs[2].valence = refs[0].valence;
    CHECK_THROWS_WITH(run_map_pipeline(raw, refs, {}), Catch::Contains("two different valences"));
  }
  SECTION("too few pre-edge energies for the window") {
    MapPipelineOptions options;
    options.valence.normalization.pre_edge_ev = {-30.0, -27.0};  // holds only 6525 eV
    CHECK_THROWS_WITH(run_map_pipeline(raw, refs, options), Catch::Contains("pre-edge window"));
  }
  SECTION("a non-monotonic edge definition is refused with a suggestion") {
    // Measured, the derivative maxima rise MnO < Mn2O3 < MnO2 (6544.7, 6554.0, 6557.8 eV);
    // moving MnO2 down by 6 eV puts it below Mn2O3, as Athena's first-inflection value does.
    for (double& e : refs[2].mu.energy_ev) e -= 6.0;
    MapPipelineOptions options;
    options.valence.edge_definition = EdgeDefinition::derivative_max;
    CHECK_THROWS_WITH(run_map_pipeline(raw, refs, options),
                      Catch::Contains("not monotonic") && Catch::Contains("half-height"));
  }
  SECTION("a mask that keeps no pixel") {
    MapPipelineOptions options;
    options.valence.min_edge_jump_od = 50.0;
    CHECK_THROWS_WITH(run_map_pipeline(raw, refs, options),
                      Catch::Contains("no pixel passes the Mn mask"));
  }
}

TEST_CASE("Reference alignment (align-refs) recovers a global energy offset", "[map][e2e]") {
  // References 1.5 eV too high (as if measured at another beamline). Noise-free the fitted offset
  // is exact (-1.501 eV); with noise its precision is set by what every pixel shares, the
  // per-energy beam fluctuation between sample and flat (0.1 %), which averaging pixels cannot
  // remove: over seeds the offsets scatter by ~0.14 eV around -1.48. So: four seeds, their mean
  // within 0.15 eV (2 standard errors of 0.07) and each within 0.45 eV (3 sigma).
  double sum = 0.0;
  for (const std::uint64_t seed : {1, 2, 3, 4}) {
    auto o = default_preset(128);
    o.seed = seed;
    o.drift_px = 0.0;  // no registration yet
    const auto simulation = sim::simulate(o, test::simulation_references());
    auto refs = test::map_references();
    for (auto& r : refs)
      for (double& e : r.mu.energy_ev) e += 1.5;
    MapPipelineOptions options;
    options.valence.align_references = true;
    const auto aligned = run_map_pipeline(test::raw_from(simulation.scan), refs, options);
    INFO("seed " << seed << " offset " << aligned.maps.reference_offset_ev);
    CHECK_THAT(aligned.maps.reference_offset_ev, Catch::WithinAbs(-1.5, 0.45));
    sum += aligned.maps.reference_offset_ev;
    if (seed == 1) {
      // Unaligned, the shifted references read the valence far off (edges 1.5 eV high look
      // ~0.4 valence units reduced); aligned, the map is back near the unshifted one.
      const auto unshifted =
          run_map_pipeline(test::raw_from(simulation.scan), test::map_references(), {});
      const auto shifted = run_map_pipeline(test::raw_from(simulation.scan), refs, {});
      const double unshifted_mean = unshifted.maps.statistics.mean;
      INFO("mean valence: unshifted " << unshifted_mean << ", shifted "
                                      << shifted.maps.statistics.mean << ", aligned "
                                      << aligned.maps.statistics.mean);
      CHECK(std::abs(shifted.maps.statistics.mean - unshifted_mean) > 0.2);
      CHECK(std::abs(aligned.maps.statistics.mean - unshifted_mean) <
            std::abs(shifted.maps.statistics.mean - unshifted_mean) / 3.0);
    }
  }
  CHECK_THAT(sum / 4.0, Catch::WithinAbs(-1.5, 0.15));
}

// Guards the batched per-pixel pass (fits of whole rows read from the stack in place): every
// valid pixel's edge jump is exactly what the one-spectrum normalizer gives its spectrum, and
// the mask follows from it as the method states.
TEST_CASE("The per-pixel pass normalizes each spectrum as the one-spectrum normalizer",
          "[map][e2e][reference]") {
  sim::SimulationOptions o;
  o.height = o.width = 64;
  o.drift_px = 0.0;
  // Two code paths on the same OD: no beam effects (the pipeline would remove them first).
  o.instrument.flux_jitter = o.instrument.flat_mismatch = 0.0;
  const auto s = sim::simulate(o, test::simulation_references());
  const OpticalDensityResult od = compute_optical_density(test::raw_from(s.scan));
  ValenceMapOptions options;
  const ValenceMaps maps =
      compute_valence_maps(od.od, od.flags.view(), test::map_references(), options);
  const auto& e = od.od.energies_ev();
  std::vector<double> grid;
  std::size_t first = e.size();
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e[i] >= maps.pre_edge_used_ev.from_ev && e[i] <= maps.post_edge_used_ev.to_ev) {
      if (first == e.size()) first = i;
      grid.push_back(e[i]);
    }
  const SpectrumNormalizer normalizer(grid, maps.e0_ev, options.normalization);
  std::size_t checked = 0, masked = 0;
  std::vector<double> mu(grid.size()), norm(grid.size());
  for (std::size_t r = 0; r < o.height; ++r)
    for (std::size_t c = 0; c < o.width; ++c) {
      if (od.flags(r, c)) continue;
      for (std::size_t i = 0; i < grid.size(); ++i) mu[i] = od.od.frame(first + i)(r, c);
      const auto res = normalizer(mu, norm);
      REQUIRE(maps.edge_jump_od(r, c) == static_cast<float>(res.edge_step));
      const bool in_mask = res.edge_step > 0.0 && res.edge_step >= options.min_edge_jump_od &&
                           res.edge_step >= options.min_jump_to_noise * res.edge_step_sigma;
      REQUIRE(maps.mask(r, c) == (in_mask ? 1 : 0));
      ++checked, masked += in_mask;
    }
  CHECK(checked > 4000);
  CHECK(masked > 100);
}

// Guards the consuming pipeline (OD over the counts, shifts in place): the same maps, bit for
// bit, as the pipeline that keeps the raw stack.
TEST_CASE("The pipeline gives the same maps when it may consume the raw stack",
          "[map][e2e][reference]") {
  sim::SimulationOptions o;
  o.height = o.width = 64;
  o.drift_px = 3.0;
  const auto s = sim::simulate(o, test::simulation_references());
  const RawStack raw = test::raw_from(s.scan);
  const MapPipelineOptions options;
  const MapPipelineResult kept = run_map_pipeline(raw, test::map_references(), options);
  const MapPipelineResult consumed =
      run_map_pipeline(RawStack(raw), test::map_references(), options);
  CHECK(kept.registration.dy_px == consumed.registration.dy_px);
  CHECK(kept.registration.dx_px == consumed.registration.dx_px);
  CHECK(kept.optical_density.invalid_pixels == consumed.optical_density.invalid_pixels);
  const auto same = [](const Image<float>& a, const Image<float>& b) {
    for (std::size_t p = 0; p < a.size(); ++p) {
      const float x = a.data()[p], y = b.data()[p];
      if (!(std::isnan(x) ? std::isnan(y) : x == y)) return false;
    }
    return true;
  };
  CHECK(same(kept.maps.valence, consumed.maps.valence));
  CHECK(same(kept.maps.edge_jump_od, consumed.maps.edge_jump_od));
  CHECK(same(kept.maps.valence_sigma, consumed.maps.valence_sigma));
  CHECK(kept.maps.status_counts == consumed.maps.status_counts);
}

// Guards the split of the valence pass into three public steps (set-up, per-pixel fits, summary)
// that core/pipeline may run one by one: so run, they give compute_valence_maps' maps bit for
// bit, with the reference alignment (the set-up's longest path) switched on.
TEST_CASE("The three valence steps run one by one give the maps of compute_valence_maps",
          "[map][e2e]") {
  sim::SimulationOptions o;
  o.height = o.width = 64;
  o.drift_px = 0.0;
  // Two code paths on the same OD: no beam effects (the pipeline would remove them first).
  o.instrument.flux_jitter = o.instrument.flat_mismatch = 0.0;
  const auto s = sim::simulate(o, test::simulation_references());
  const OpticalDensityResult od = compute_optical_density(test::raw_from(s.scan));
  ValenceMapOptions options;
  options.align_references = true;
  const auto refs = test::map_references();
  const ValenceMaps whole = compute_valence_maps(od.od, od.flags.view(), refs, options);
  const ValenceModel model(od.od, od.flags.view(), refs, options);
  ValencePixelMaps pixels = fit_valence_pixels(model, od.od, od.flags.view());
  const ValenceMaps steps = summarize_valence_maps(model, std::move(pixels));
  const auto same = [](const Image<float>& a, const Image<float>& b) {
    for (std::size_t p = 0; p < a.size(); ++p) {
      const float x = a.data()[p], y = b.data()[p];
      if (!(std::isnan(x) ? std::isnan(y) : x == y)) return false;
    }
    return true;
  };
  CHECK(same(whole.valence, steps.valence));
  CHECK(same(whole.valence_lcf, steps.valence_lcf));
  CHECK(same(whole.valence_edge, steps.valence_edge));
  CHECK(same(whole.valence_sigma, steps.valence_sigma));
  CHECK(same(whole.edge_energy_ev, steps.edge_energy_ev));
  CHECK(same(whole.rfactor, steps.rfactor));
  CHECK(std::ranges::equal(whole.status.pixels(), steps.status.pixels()));
  CHECK(std::ranges::equal(whole.mask.pixels(), steps.mask.pixels()));
  CHECK(whole.status_counts == steps.status_counts);
  CHECK(whole.statistics.mean == steps.statistics.mean);
  CHECK(whole.e0_ev == steps.e0_ev);
  CHECK(whole.reference_offset_ev == steps.reference_offset_ev);
  CHECK(whole.warnings == steps.warnings);
  CHECK(steps.mean_spectrum.pixels == steps.statistics.pixels);
  // The mean spectrum adds per-thread sums, whose split between the threads may differ from run
  // to run: only rounding (~1e-16 relative) can separate the two, far below 1e-9.
  CHECK_THAT(steps.mean_spectrum.valence, Catch::WithinAbs(whole.mean_spectrum.valence, 1e-9));
}

TEST_CASE("The per-pixel pass refuses a stack other than its model's", "[map][bad]") {
  sim::SimulationOptions o;
  o.height = o.width = 32;
  o.drift_px = 0.0;
  const auto s = sim::simulate(o, test::simulation_references());
  const OpticalDensityResult od = compute_optical_density(test::raw_from(s.scan));
  const ValenceModel model(od.od, od.flags.view(), test::map_references(), {});
  std::vector<double> shifted_ev = od.od.energies_ev();
  for (double& e : shifted_ev) e += 0.5;
  const EnergyStack shifted(shifted_ev, od.od.height(), od.od.width(),
                            std::vector<float>(od.od.values().begin(), od.od.values().end()));
  CHECK_THROWS_WITH(fit_valence_pixels(model, shifted, od.flags.view()),
                    Catch::Contains("not those the valence model was built for"));
  const Image<std::uint8_t> small_flags(16, 16, 0);
  CHECK_THROWS_WITH(fit_valence_pixels(model, od.od, small_flags.view()),
                    Catch::Contains("flag map"));
}
