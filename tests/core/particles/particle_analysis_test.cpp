// analyze_particles on hand-made maps with known answers.
#include "core/particles/particle_analysis.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "core/base/error.hpp"

using namespace xanesmap;

namespace {

// Two discs (radii 40 and 25 px) on a 160 x 200 map, 30 nm pixels, edge jump 0.5 OD inside.
// Valence: `surface` where the pixel is within 300 nm of the disc's outline (same depth rule as
// particle_regions: distance to the nearest pixel outside), `core` deeper. Status ok inside,
// no_mn outside.
ValenceMaps two_discs() {
  const std::size_t h = 160, w = 200;
  ValenceMaps m;
  m.valence = Image<float>(h, w, NAN);
  m.edge_energy_ev = Image<float>(h, w, NAN);
  m.edge_jump_od = Image<float>(h, w, 0.0f);
  m.status = Image<std::uint8_t>(h, w, static_cast<std::uint8_t>(PixelStatus::no_mn));
  m.e0_ev = 6550.0;
  struct Disc {
    double cy, cx, r;
  };
  for (const Disc d : {Disc{60, 60, 40}, Disc{100, 150, 25}})
    for (std::size_t r = 0; r < h; ++r)
      for (std::size_t c = 0; c < w; ++c)
        if (std::hypot(double(r) - d.cy, double(c) - d.cx) <= d.r) {
          m.edge_jump_od(r, c) = 0.5f;
          m.status(r, c) = static_cast<std::uint8_t>(PixelStatus::ok);
        }
  return m;
}

// Fills valence and edge energy from the regions the analysis itself computes.
void paint(ValenceMaps& m, float surface, float core) {
  ParticleAnalysisOptions o;
  const ParticleAnalysis a = analyze_particles(m, 30.0, o);
  for (std::size_t i = 0; i < m.valence.size(); ++i) {
    const auto region = a.regions.regions.data()[i];
    if (region == kRegionBackground) continue;
    m.valence.data()[i] = region == kRegionSurface ? surface : core;
    m.edge_energy_ev.data()[i] = region == kRegionSurface ? 6555.0f : 6552.0f;
  }
}

}  // namespace

TEST_CASE("Particle analysis: surface and core figures on painted discs", "[particles]") {
  ValenceMaps m = two_discs();
  paint(m, 3.8f, 3.2f);
  const ParticleAnalysis a = analyze_particles(m, 30.0);
  REQUIRE(a.particles.size() == 2);
  // Exact: every surface pixel holds 3.8 and every core pixel 3.2 (float values; 1e-6 covers
  // their rounding to float).
  CHECK(a.surface.valence.mean == Approx(3.8).margin(1e-6));
  CHECK(a.core.valence.mean == Approx(3.2).margin(1e-6));
  CHECK(a.surface_minus_core == Approx(0.6).margin(1e-6));
  CHECK(a.surface.edge_energy_ev.mean == Approx(6555.0).margin(1e-6));
  CHECK(a.surface.pixels + a.core.pixels == a.all.pixels);
  CHECK(a.all.pixels == a.particles[0].info.pixels + a.particles[1].info.pixels);
  for (const auto& p : a.particles) {
    CHECK(p.surface_minus_core == Approx(0.6).margin(1e-6));
    CHECK(p.pixels_by_status[0] == p.info.pixels);  // every particle pixel is ok
    CHECK(p.all.valence.n == p.info.pixels);
  }
  // The pooled mean weighs surface and core by their pixel counts.
  const double expected =
      (3.8 * double(a.surface.pixels) + 3.2 * double(a.core.pixels)) / double(a.all.pixels);
  CHECK(a.all.valence.mean == Approx(expected).epsilon(1e-6));
  // Depth profile: 60 nm bins; the first five (to 300 nm) are surface, the next ones core.
  REQUIRE(a.depth_profile.size() >= 6);
  for (std::size_t k = 0; k < 5; ++k) CHECK(a.depth_profile[k].mean == Approx(3.8).margin(1e-6));
  CHECK(a.depth_profile[5].mean == Approx(3.2).margin(1e-6));
  CHECK(a.depth_profile[0].from_nm == 0.0);
  CHECK(a.depth_profile[0].to_nm == 60.0);
  // Histograms: all the surface pixels in the bin holding 3.8, the core ones in 3.2's.
  const auto& h = a.valence_histograms;
  const auto bin = [](double v) { return static_cast<std::size_t>((v - 2.0) / 0.025); };
  CHECK(h.surface.counts[bin(3.8)] == double(a.surface.pixels));
  CHECK(h.core.counts[bin(3.2)] == double(a.core.pixels));
  CHECK(h.all.total_weight == double(a.all.pixels));
  REQUIRE(h.particles.size() == 2);
  // Two valences, 0.6 apart with no spread at all: two populations.
  CHECK(a.populations.populations == 2);
}

TEST_CASE("Particle analysis: pixels without a value are counted but not used", "[particles]") {
  ValenceMaps m = two_discs();
  paint(m, 3.5f, 3.5f);
  // Knock out a block of the first disc: fit failed there.
  std::size_t knocked = 0;
  for (std::size_t r = 55; r < 65; ++r)
    for (std::size_t c = 55; c < 65; ++c) {
      m.valence(r, c) = NAN;
      m.status(r, c) = static_cast<std::uint8_t>(PixelStatus::fit_failed);
      ++knocked;
    }
  const ParticleAnalysis a = analyze_particles(m, 30.0);
  REQUIRE(a.particles.size() == 2);
  const auto& p = a.particles[0];
  CHECK(p.pixels_by_status[static_cast<std::size_t>(PixelStatus::fit_failed)] == knocked);
  CHECK(p.all.valence.n == p.info.pixels - knocked);
  CHECK(p.all.pixels == p.info.pixels);
  CHECK(a.all.valence.mean == Approx(3.5).margin(1e-6));
  CHECK(a.populations.populations == 1);
}

TEST_CASE("Particle analysis: weighting by the edge jump", "[particles]") {
  ValenceMaps m = two_discs();
  paint(m, 3.8f, 3.2f);
  // Core pixels carry 3 times the Mn of surface pixels.
  ParticleAnalysisOptions o;
  const ParticleAnalysis plain = analyze_particles(m, 30.0, o);
  for (std::size_t i = 0; i < m.valence.size(); ++i)
    if (plain.regions.regions.data()[i] == kRegionCore) m.edge_jump_od.data()[i] = 1.5f;
  o.weight_by_edge_jump = true;
  o.segmentation.threshold_od =
      0.25;  // the same particles (the automatic threshold would too; this keeps it explicit)
  const ParticleAnalysis a = analyze_particles(m, 30.0, o);
  const double ns = double(a.surface.pixels), nc = double(a.core.pixels);
  CHECK(a.all.valence.mean == Approx((3.8 * ns + 3.2 * 3.0 * nc) / (ns + 3.0 * nc)).epsilon(1e-6));
  CHECK(a.surface_minus_core == Approx(0.6).margin(1e-6));  // within a region the weights are equal
  CHECK(a.valence_histograms.core.counts[static_cast<std::size_t>((3.2 - 2.0) / 0.025)] ==
        Approx(1.5 * nc));
}

TEST_CASE("Particle analysis: no particle is not an error", "[particles]") {
  ValenceMaps m = two_discs();
  m.edge_jump_od = Image<float>(m.edge_jump_od.height(), m.edge_jump_od.width(), 0.0f);
  const ParticleAnalysis a = analyze_particles(m, 30.0);
  CHECK(a.particles.empty());
  CHECK(a.all.valence.n == 0);
  CHECK(std::isnan(a.surface_minus_core));
  CHECK(a.populations.populations == 0);
  CHECK(a.depth_profile.empty());
}

TEST_CASE("Particle analysis options are validated", "[particles]") {
  const ValenceMaps m = two_discs();
  ParticleAnalysisOptions o;
  o.surface_nm = -1.0;
  CHECK_THROWS_AS(analyze_particles(m, 30.0, o), OptionError);
  o = {};
  o.depth_bin_nm = 0.0;
  CHECK_THROWS_AS(analyze_particles(m, 30.0, o), OptionError);
  o = {};
  o.valence_bins = {4.0, 2.0, 10};
  CHECK_THROWS_AS(analyze_particles(m, 30.0, o), OptionError);
  CHECK_THROWS_AS(analyze_particles(m, 0.0), OptionError);
  CHECK_THROWS_AS(analyze_particles(m, NAN), OptionError);
}
