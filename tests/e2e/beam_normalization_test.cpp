// Beam normalization (core/stack/beam_normalization.hpp) on simulated stacks that carry what a
// real beamline does: ~1 % flux change between a sample frame and its flat, and a smooth
// mismatch of the illumination pattern (core/simulation/instrument.hpp).
#include <catch2/catch.hpp>
#include <cmath>

#include "core/pipeline.hpp"
#include "core/simulation/instrument.hpp"
#include "support/simulation_support.hpp"

using namespace xanesmap;

namespace {

struct ErrorStats {
  double bias = 0, rmse = 0;
  std::size_t pixels = 0;
};

// Over pixels with a true edge jump >= 0.1 OD, 3 px or more inside a particle, with a value.
ErrorStats errors(const sim::Simulation& s, const ValenceMaps& m) {
  const auto interior = test::erode(s.truth.mn_mask, 3);
  ErrorStats e;
  double sum = 0, sum2 = 0;
  for (std::size_t p = 0; p < m.valence.size(); ++p) {
    if (!interior.data()[p] || s.truth.edge_jump_od.data()[p] < 0.1) continue;
    const float v = m.valence.data()[p];
    if (!std::isfinite(v)) continue;
    const double d = v - s.truth.valence.data()[p];
    sum += d, sum2 += d * d, ++e.pixels;
  }
  e.bias = sum / static_cast<double>(e.pixels);
  e.rmse = std::sqrt(sum2 / static_cast<double>(e.pixels));
  return e;
}

sim::SimulationOptions scan_options(double jitter, double mismatch) {
  sim::SimulationOptions o;  // the default preset and grid, 20000 flat counts
  o.height = o.width = 256;
  o.drift_px = 0.0;  // registration has its own tests; this isolates the beam
  o.instrument.flux_jitter = jitter;
  o.instrument.flat_mismatch = mismatch;
  return o;
}

struct Run {
  sim::Simulation simulation;
  MapPipelineResult result;
};

Run run(const sim::SimulationOptions& o, BeamModel model) {
  Run r{sim::simulate(o, test::simulation_references()), {}};
  MapPipelineOptions options;
  options.beam.model = model;
  r.result = run_map_pipeline(test::raw_from(r.simulation.scan), test::map_references(), options);
  return r;
}

}  // namespace

TEST_CASE("1 % flux jitter: beam normalization removes the valence bias", "[beam][e2e]") {
  // The same scene and noise without jitter, mapped as before beam normalization existed.
  const Run clean = run(scan_options(0.0, 0.0), BeamModel::none);
  const Run jitter = run(scan_options(0.01, 0.0), BeamModel::offset);
  const Run uncorrected = run(scan_options(0.01, 0.0), BeamModel::none);
  const ErrorStats c = errors(clean.simulation, clean.result.maps);
  const ErrorStats j = errors(jitter.simulation, jitter.result.maps);
  const ErrorStats u = errors(uncorrected.simulation, uncorrected.result.maps);
  INFO("clean bias " << c.bias << " rmse " << c.rmse << " (" << c.pixels << " px); jitter bias "
                     << j.bias << " rmse " << j.rmse << " (" << j.pixels
                     << " px); uncorrected bias " << u.bias << " rmse " << u.rmse);
  REQUIRE(j.pixels > 2000);
  REQUIRE(jitter.result.beam.applied);
  // Issue 23's acceptance: |bias| <= 0.01 from the jitter. The method's own bias on this scene
  // without jitter (c.bias, ~+0.014; issue 3's acceptance is <= 0.02) is not the jitter's, so
  // the bias the jitter leaves is measured against it.
  CHECK(std::abs(j.bias - c.bias) <= 0.01);
  CHECK(j.rmse <= 1.05 * c.rmse);  // issue 23 acceptance: within 5 % of the stack without jitter
  // The test can fail: without the correction the same stack is biased (the issue measured
  // +0.026 to +0.036 on its stacks) or noisier.
  CHECK((std::abs(u.bias) > 2.0 * std::abs(j.bias) || u.rmse > 1.05 * j.rmse));
}

TEST_CASE("The per-frame offsets are the flux changes and the film", "[beam][e2e]") {
  const sim::SimulationOptions o = scan_options(0.01, 0.0);
  const Run r = run(o, BeamModel::offset);
  const auto beams =
      sim::frame_beams(o.instrument, r.simulation.scan.energies_ev.size(), o.noise, o.seed);
  const BeamNormalization& beam = r.result.beam;
  REQUIRE(beam.applied);
  REQUIRE(beam.offset_od.size() == beams.size());
  CHECK(beam.background_fraction > 0.3);  // the default scene leaves most of the field empty
  double worst = 0.0;
  for (std::size_t e = 0; e < beams.size(); ++e) {
    // OD of an empty pixel: the film (falling as E^-3 from 6540 eV) minus ln(I0_sample / I0_flat).
    const double film = o.film_od * std::pow(6540.0 / r.simulation.scan.energies_ev[e], 3.0);
    const double expected = film - std::log(beams[e].sample_flux / beams[e].flat_flux);
    worst = std::max(worst, std::abs(beam.offset_od[e] - expected));
  }
  INFO("largest offset error " << worst << " OD");
  // Per-pixel OD noise at 20000 flat counts is ~0.01 OD; the mean of > 10 000 sample-free pixels
  // is good to ~1e-4, and the illumination pattern cancels between frame and flat. 1e-3 OD is a
  // tenth of the 1 % jitter.
  CHECK(worst < 1e-3);
}

TEST_CASE("A plane removes a tilted flat mismatch that an offset leaves", "[beam][e2e]") {
  const sim::SimulationOptions o = scan_options(0.01, 0.02);  // a strong tilt: 2 % across
  const Run offset = run(o, BeamModel::offset);
  const Run plane = run(o, BeamModel::plane);
  const ErrorStats a = errors(offset.simulation, offset.result.maps);
  const ErrorStats b = errors(plane.simulation, plane.result.maps);
  INFO("offset bias " << a.bias << " rmse " << a.rmse << "; plane bias " << b.bias << " rmse "
                      << b.rmse);
  REQUIRE(plane.result.beam.applied);
  REQUIRE(plane.result.beam.coefficients.front().size() == 3);
  const Run clean = run(scan_options(0.0, 0.0), BeamModel::none);
  const ErrorStats c = errors(clean.simulation, clean.result.maps);
  INFO("clean bias " << c.bias << " rmse " << c.rmse);
  CHECK(std::abs(b.bias - c.bias) <= 0.01);  // as for the offset on jitter alone
  CHECK(b.rmse <= 1.05 * c.rmse);
  // The offset cannot follow a tilt: its maps move away from those of the clean stack (by 0.011
  // in bias when measured), the plane's stay with them (0.001).
  CHECK(std::abs(b.bias - c.bias) < std::abs(a.bias - c.bias));
}

TEST_CASE("A field without sample-free pixels is not corrected, and says why", "[beam][e2e]") {
  sim::SimulationOptions o = scan_options(0.01, 0.0);
  o.height = o.width = 96;
  sim::Simulation s = sim::simulate(o, test::simulation_references());
  MapPipelineOptions options;
  options.beam.margin_px = 60.0;  // every pixel is within 60 px of a particle at 96 px
  const MapPipelineResult r =
      run_map_pipeline(test::raw_from(s.scan), test::map_references(), options);
  CHECK_FALSE(r.beam.applied);
  CHECK_THAT(r.beam.skipped_reason, Catch::Contains("skipped") && Catch::Contains("sample-free"));
}
