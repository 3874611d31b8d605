// The simulator against its own ground truth, and through the writers and readers.
#include "core/simulation/simulator.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "core/base/error.hpp"
#include "core/stack/optical_density.hpp"
#include "io/formats/fxi_writer.hpp"
#include "io/formats/hdf5_file.hpp"
#include "io/formats/reference_manifest.hpp"
#include "io/formats/stack_reader.hpp"
#include "support/simulation_support.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;

namespace {

std::vector<sim::SimulationReference> shipped_references() { return test::simulation_references(); }

sim::SimulationOptions small(const std::string& preset) {
  sim::SimulationOptions o;
  o.height = o.width = 96;
  o.preset = preset;
  o.drift_px = 0.0;
  o.noise = false;
  o.keep_true_od = true;
  o.energies_ev = {6480, 6500, 6520, 6540, 6545, 6550, 6555, 6560, 6600, 6650, 6700};
  return o;
}

using test::raw_from;

}  // namespace

TEST_CASE("Noise-free counts give back the true optical density", "[simulator][e2e]") {
  const auto simulation = sim::simulate(small("single"), shipped_references());
  const auto od = compute_optical_density(raw_from(simulation.scan));
  REQUIRE(od.invalid_pixels == 0);
  const EnergyStack& truth = *simulation.truth.od;
  double worst = 0.0;
  for (std::size_t i = 0; i < truth.values().size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(od.od.values()[i] - truth.values()[i])));
  // Counts are rounded to integers: |dOD| <= 0.5/(I-D) + 0.5/(F-D). The dimmest pixel has
  // about 20000 * 0.5 (illumination) * 0.8 (flux drop) * exp(-OD ~ 1) ~ 3000 counts: ~3e-4.
  CHECK(worst < 5e-4);
}

TEST_CASE("The Mn spectrum of a pixel is the thickness-weighted reference mixture",
          "[simulator][e2e]") {
  auto options = small("coated");  // uniform valence 3.6: 40 % Mn2O3 + 60 % MnO2
  options.supersampling = 1;
  const auto simulation = sim::simulate(options, shipped_references());
  const auto& t = simulation.truth;
  // The coated particle's centre: the thickest point of the first particle.
  const auto& p = t.scene.particles.front();
  const auto r = static_cast<std::size_t>(std::lround(p.cy_px)),
             c = static_cast<std::size_t>(std::lround(p.cx_px));
  REQUIRE(t.mn_mask(r, c) == 1);
  CHECK_THAT(t.valence(r, c), Catch::WithinAbs(3.6, 1e-5));  // float storage of an exact 3.6
  CHECK_THAT(t.fractions[1](r, c), Catch::WithinAbs(0.4, 1e-5));
  CHECK_THAT(t.fractions[2](r, c), Catch::WithinAbs(0.6, 1e-5));
  const double thickness = t.mn_thickness_um(r, c);
  for (std::size_t e = 0; e < t.od->frame_count(); ++e) {
    const double energy = t.od->energy_ev(e);
    const double decay = std::pow(6540.0 / energy, 3.0);
    const double mn = 0.4 * t.reference_spectra[1][e] + 0.6 * t.reference_spectra[2][e];
    const double expected = options.film_od * decay + options.matrix_od_per_um * decay * thickness +
                            options.mn_jump_per_um * thickness * mn;
    // float32 OD and the chord computed once per sample: 1e-5 OD.
    CHECK_THAT(t.od->frame(e)(r, c), Catch::WithinAbs(expected, 1e-5));
  }
}

TEST_CASE("Normalized references have a unit step and edges in valence order", "[simulator]") {
  const auto simulation = sim::simulate(small("coated"), shipped_references());
  const auto& t = simulation.truth;
  REQUIRE(t.reference_names == std::vector<std::string>{"MnO", "Mn2O3", "MnO2"});
  for (const auto& spectrum : t.reference_spectra) {
    // 6480 eV is 60-70 eV below the edges: near 0 after subtracting the pre-edge line.
    CHECK_THAT(spectrum.front(), Catch::WithinAbs(0.0, 0.05));
    // 6700 eV, ~150 eV above: normalized (not flattened) spectra keep their powders' background
    // curvature and EXAFS (-15 % to +35 % seen with different windows, docs/simulator.md), so
    // only a broad check that the step is there.
    CHECK(spectrum.back() > 0.75);
    CHECK(spectrum.back() < 1.5);
  }
  // At 6545 eV (index 4) MnO is well up its edge and MnO2 still low: absorption falls with valence.
  CHECK(t.reference_spectra[0][4] > t.reference_spectra[1][4]);
  CHECK(t.reference_spectra[1][4] > t.reference_spectra[2][4]);
}

TEST_CASE("Cycled uncoated particles: reduced core, oxidized shell in projection", "[simulator]") {
  const auto simulation = sim::simulate(small("single"), shipped_references());
  const auto& t = simulation.truth;
  const auto& p = t.scene.particles.front();
  REQUIRE(p.type == "uncoated-cycled");
  const auto r = static_cast<std::size_t>(std::lround(p.cy_px));
  const auto centre = static_cast<std::size_t>(std::lround(p.cx_px));
  const double at_centre = t.valence(r, centre);
  // Centre chord: 2 x 0.3 um of shell (3.8) over a ~1 um long chord of core (3.2).
  CHECK(at_centre > 3.2);
  CHECK(at_centre < 3.5);
  // Two pixels inside the outline the chord runs through shell only.
  const auto edge = centre + static_cast<std::size_t>(p.radius_px) - 2;
  CHECK_THAT(t.valence(r, edge), Catch::WithinAbs(3.8, 0.02));
  CHECK(std::isnan(t.valence(2, 2)));
  CHECK(t.labels(r, centre) == 1);
  CHECK(t.labels(2, 2) == 0);
}

TEST_CASE("Drift moves the sample, not the beam", "[simulator][e2e]") {
  auto options = small("single");
  options.drift_px = 4.0;
  const auto simulation = sim::simulate(options, shipped_references());
  const auto& t = simulation.truth;
  double largest = 0.0;
  for (std::size_t e = 0; e < t.drift.dy_px.size(); ++e)
    largest = std::max(largest, std::hypot(t.drift.dy_px[e], t.drift.dx_px[e]));
  CHECK_THAT(largest, Catch::WithinAbs(4.0, 1e-9));
  CHECK(t.drift.dy_px[0] == 0.0);
  // The centroid of (OD - film) follows the true shift: compare the last frame with the first.
  auto centroid = [&](std::size_t e) {
    double sy = 0, sx = 0, s = 0;
    const double film = options.film_od * std::pow(6540.0 / t.od->energy_ev(e), 3.0);
    for (std::size_t r = 0; r < options.height; ++r)
      for (std::size_t c = 0; c < options.width; ++c) {
        const double v = t.od->frame(e)(r, c) - film;
        sy += v * static_cast<double>(r), sx += v * static_cast<double>(c), s += v;
      }
    return std::pair{sy / s, sx / s};
  };
  // Both frames are post-edge (6650 and 6700 eV), so the particle looks alike in both.
  const std::size_t a = 9, b = 10;
  const auto [ya, xa] = centroid(a);
  const auto [yb, xb] = centroid(b);
  // Centroids of a smooth object sampled with 3x3 supersampling: 0.01 px.
  CHECK_THAT(yb - ya, Catch::WithinAbs(t.drift.dy_px[b] - t.drift.dy_px[a], 0.01));
  CHECK_THAT(xb - xa, Catch::WithinAbs(t.drift.dx_px[b] - t.drift.dx_px[a], 0.01));
  // The illumination is fixed to the detector: flats do not move (identical without noise up to
  // the flux falling with energy).
  const auto& flat = simulation.scan.flat_counts;
  const std::size_t frame = options.height * options.width;
  CHECK(flat[a * frame + 10] > 0);
}

TEST_CASE("Counts carry Poisson and read noise of the right size", "[simulator]") {
  auto options = small("single");
  options.noise = true;
  options.keep_true_od = false;
  const auto simulation = sim::simulate(options, shipped_references());
  const auto& scan = simulation.scan;
  // Flats at two energies see the same illumination and the same fixed dark pattern, so their
  // difference (the second scaled by the flux ratio 1/0.98: 20 % drop over 10 steps) has
  // variance (mean0 + mean1) + 2 read^2. Over a 20x20 patch, 400 values give the variance to
  // ~7 % (sqrt(2/400)); 25 % is over three standard errors.
  const std::size_t frame = scan.height * scan.width;
  double sum_diff = 0, sum_diff2 = 0, sum_mean = 0;
  int count = 0;
  for (std::size_t r = 40; r < 60; ++r)
    for (std::size_t c = 40; c < 60; ++c) {
      const double f0 = scan.flat_counts[0 * frame + r * scan.width + c] - 100.0;
      const double f1 = scan.flat_counts[1 * frame + r * scan.width + c] - 100.0;
      const double d = f0 - f1 / 0.98;
      sum_diff += d, sum_diff2 += d * d, sum_mean += f0 + f1 / (0.98 * 0.98);
      ++count;
    }
  const double mean_diff = sum_diff / count;
  const double var = sum_diff2 / count - mean_diff * mean_diff;
  const double expected = sum_mean / count + 9.0 + 9.0 / (0.98 * 0.98);  // Poisson + read noise
  CHECK_THAT(var, Catch::WithinRel(expected, 0.25));
}

TEST_CASE("Simulations are deterministic in the seed", "[simulator]") {
  auto options = small("mixed");
  options.noise = true;
  options.drift_px = 3.0;
  options.keep_true_od = false;
  options.height = options.width = 128;
  const auto refs = shipped_references();
  const auto a = sim::simulate(options, refs);
  const auto b = sim::simulate(options, refs);
  CHECK(a.scan.sample_counts == b.scan.sample_counts);
  CHECK(a.truth.drift.dx_px == b.truth.drift.dx_px);
  options.seed = 2;
  const auto c = sim::simulate(options, refs);
  CHECK(a.scan.sample_counts != c.scan.sample_counts);
}

TEST_CASE("Presets produce their particle types", "[simulator]") {
  const auto refs = shipped_references();
  for (const auto& preset : sim::scene_presets()) {
    auto options = small(preset);
    options.height = options.width = 256;
    options.keep_true_od = false;
    options.energies_ev = {6500, 6550, 6600};
    INFO("preset " << preset);
    const auto s = sim::simulate(options, refs);
    CHECK_FALSE(s.truth.scene.particles.empty());
    if (preset == "touching") {
      // The first two particles touch: centre distance just under the sum of radii.
      const auto& p = s.truth.scene.particles[0];
      const auto& q = s.truth.scene.particles[1];
      CHECK(std::hypot(p.cy_px - q.cy_px, p.cx_px - q.cx_px) < p.radius_px + q.radius_px);
    }
    if (preset == "two-phase") {
      // A patch is a column through its host: its centre pixel projects to the patch valence
      // (3.0) in a 3.7 host; float storage limits the agreement to ~1e-6.
      const auto& host = s.truth.scene.particles[0];
      REQUIRE_FALSE(host.inclusions.empty());
      const auto& patch = host.inclusions[0];
      const auto r = static_cast<std::size_t>(std::lround(host.cy_px + patch.dy_px));
      const auto c = static_cast<std::size_t>(std::lround(host.cx_px + patch.dx_px));
      CHECK_THAT(s.truth.valence(r, c), Catch::WithinAbs(3.0, 1e-5));
      CHECK(s.truth.labels(r, c) == host.id);
    }
    if (preset == "debris") {
      std::size_t debris = 0;
      for (const auto v : s.truth.debris_mask.pixels()) debris += v;
      CHECK(debris > 0);
    }
  }
}

TEST_CASE("Simulator options and references are checked", "[simulator][bad]") {
  const auto refs = shipped_references();
  auto options = small("single");
  options.flat_counts = 70000;
  CHECK_THROWS_WITH(sim::simulate(options, refs), Catch::Contains("flat-counts"));
  options = small("nonsense");
  CHECK_THROWS_WITH(sim::simulate(options, refs), Catch::Contains("unknown scene 'nonsense'"));
  options = small("single");
  options.energies_ev = {6300, 6500, 6600};  // Mn2O3 starts at 6393 eV
  // MnO (6362 eV) is the first reference, in valence order, that does not reach 6300 eV.
  CHECK_THROWS_WITH(sim::simulate(options, refs),
                    Catch::Contains("'MnO'") && Catch::Contains("6300"));
  options = small("single");
  CHECK_THROWS_WITH(sim::simulate(options, {refs[0]}), Catch::Contains("at least two references"));
  options.pixel_size_nm = -30;
  CHECK_THROWS_WITH(sim::simulate(options, refs), Catch::Contains("pixel-size-nm"));
}

TEST_CASE("FXI HDF5 and TIFF files of a simulation read back identically",
          "[simulator][e2e][reader]") {
  auto options = small("mixed");
  options.height = options.width = 64;
  options.noise = true;
  options.keep_true_od = false;
  const auto simulation = sim::simulate(options, shipped_references());
  test::TempDir dir;
  write_fxi_hdf5(dir / "scan.h5", simulation.scan, "{}");
  write_tiff_variant(dir / "tiff", simulation.scan);
  write_truth_hdf5(dir / "truth.h5", simulation.scan, simulation.truth, "{}");

  StackSource h5;
  h5.stack = dir / "scan.h5";
  const auto from_h5 = load_raw_stack(h5);
  StackSource tiff;
  tiff.stack = dir / "tiff" / "raw.tif";
  tiff.energies = dir / "tiff" / "energies.txt";
  tiff.flat = dir / "tiff" / "flat.tif";
  tiff.dark = dir / "tiff" / "dark.tif";
  const auto from_tiff = load_raw_stack(tiff);
  CHECK(from_h5.description.energy_unit.unit == EnergyUnit::kev);
  REQUIRE(from_h5.description.pixel_size_nm);
  CHECK_THAT(*from_h5.description.pixel_size_nm, Catch::WithinAbs(30.0, 1e-12));
  // keV -> eV conversion of a double round trip: 1e-9 eV.
  for (std::size_t e = 0; e < options.energies_ev.size(); ++e)
    CHECK_THAT(from_h5.raw.counts().energy_ev(e), Catch::WithinAbs(options.energies_ev[e], 1e-9));
  CHECK(from_tiff.raw.counts().energies_ev() == options.energies_ev);
  CHECK(std::equal(from_h5.raw.counts().values().begin(), from_h5.raw.counts().values().end(),
                   from_tiff.raw.counts().values().begin()));
  CHECK(from_h5.raw.flat_count() == options.energies_ev.size());
  CHECK(from_tiff.raw.flat_count() == options.energies_ev.size());
  CHECK(from_h5.raw.dark()(5, 5) == from_tiff.raw.dark()(5, 5));

  const h5::File truth = h5::File::open_read(dir / "truth.h5");
  CHECK(h5::dataset_info(truth, "/truth/valence").shape == std::vector<std::size_t>{64, 64});
  CHECK(h5::read_doubles(truth, "/truth/shift_dx_px").size() == options.energies_ev.size());
  CHECK(h5::has_dataset(truth, "/truth/fractions/MnO2"));
  CHECK(h5::has_dataset(truth, "/particles/radius_px"));
}
