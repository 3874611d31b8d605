// core/pipeline: the order of the stages as an observer sees it, and the particles it adds to
// the maps. The stages' own results have their own tests (valence_map_test, particles_test...).
#include "core/pipeline.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "core/base/error.hpp"
#include "support/simulation_support.hpp"

using namespace xanesmap;

namespace {

sim::Simulation small_scan() {
  sim::SimulationOptions o;
  o.height = o.width = 96;
  o.seed = 3;
  return sim::simulate(o, test::simulation_references());
}

// "begin optical_density", "end optical_density", ...
struct EventLog {
  std::vector<std::string> events;
  StageObserver observer() {
    return [this](const StageEvent& e) {
      events.push_back(std::string(e.phase == StagePhase::begin ? "begin " : "end ") +
                       std::string(e.stage));
    };
  }
};

template <class Stages>
std::vector<std::string> pairs_of(const Stages& stages) {
  std::vector<std::string> out;
  for (const auto s : stages)
    out.push_back("begin " + std::string(s)), out.push_back("end " + std::string(s));
  return out;
}

}  // namespace

TEST_CASE("The observer sees every stage begin and end, in the pipeline's order", "[pipeline]") {
  const sim::Simulation s = small_scan();
  EventLog log;
  const MapPipelineResult r = run_map_pipeline(test::raw_from(s.scan), test::map_references(), {},
                                               {{}, log.observer(), nullptr});
  CHECK(log.events == pairs_of(kMapStages));
  CHECK(r.particles.segmentation.labels.height() == 96);
}

TEST_CASE("Without registration the observer sees no registration and no shift stage",
          "[pipeline]") {
  const sim::Simulation s = small_scan();
  MapPipelineOptions options;
  options.alignment = AlignmentMode::none;
  EventLog log;
  run_map_pipeline(test::raw_from(s.scan), test::map_references(), options,
                   {{}, log.observer(), nullptr});
  const std::vector<std::string_view> stages{
      "optical_density", "beam_normalization", "valence_model",      "pixel_fits",
      "valence_summary", "segmentation",       "particle_statistics"};
  CHECK(log.events == pairs_of(stages));
}

TEST_CASE("The pipeline's particles are those of its maps at its pixel size", "[pipeline]") {
  const sim::Simulation s = small_scan();
  MapPipelineOptions options;
  options.pixel_size_nm = 45.0;
  options.particles.surface_nm = 120.0;
  BackgroundRelease release;
  const MapPipelineResult r =
      run_map_pipeline(test::raw_from(s.scan), test::map_references(), options, {{}, {}, &release});
  const ParticleAnalysis again = analyze_particles(r.maps, 45.0, options.particles);
  CHECK(r.particles.pixel_size_nm == 45.0);
  CHECK(r.particles.surface_nm == 120.0);
  REQUIRE(r.particles.particles.size() == again.particles.size());
  CHECK(r.particles.segmentation.labels.pixels().size() ==
        again.segmentation.labels.pixels().size());
  CHECK(std::equal(r.particles.segmentation.labels.pixels().begin(),
                   r.particles.segmentation.labels.pixels().end(),
                   again.segmentation.labels.pixels().begin()));
  // Exactly equal: the same functions on the same maps (no tolerance needed).
  const bool same =
      r.particles.surface_minus_core == again.surface_minus_core ||
      (std::isnan(r.particles.surface_minus_core) && std::isnan(again.surface_minus_core));
  CHECK(same);
}

TEST_CASE("Options are refused before any stage runs", "[pipeline]") {
  const sim::Simulation s = small_scan();
  EventLog log;
  MapPipelineOptions options;
  options.pixel_size_nm = 0.0;
  CHECK_THROWS_WITH(run_map_pipeline(test::raw_from(s.scan), test::map_references(), options,
                                     {{}, log.observer(), nullptr}),
                    Catch::Contains("pixel-size-nm"));
  options.pixel_size_nm = 30.0;
  options.particles.depth_bin_nm = 2.0;  // below a tenth of the pixel
  CHECK_THROWS_WITH(run_map_pipeline(test::raw_from(s.scan), test::map_references(), options,
                                     {{}, log.observer(), nullptr}),
                    Catch::Contains("depth-bin-nm"));
  CHECK(log.events.empty());
}
