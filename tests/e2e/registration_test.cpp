// Registration of simulated stacks against their true drift (issue 4's accuracy targets).
#include "core/registration/registration.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "core/base/error.hpp"
#include "core/pipeline.hpp"
#include "core/stack/beam_normalization.hpp"
#include "core/stack/optical_density.hpp"
#include "support/simulation_support.hpp"

using namespace xanesmap;

namespace {

struct ShiftErrors {
  double rms = 0.0, worst = 0.0;
};

// Registration error against the truth, with the truth taken relative to the reference frame.
ShiftErrors shift_errors(const RegistrationResult& r, const sim::DriftPath& truth) {
  const std::size_t ref = r.reference_index;
  double sum2 = 0.0, worst = 0.0;
  for (std::size_t i = 0; i < r.dy_px.size(); ++i) {
    const double ey = r.dy_px[i] - (truth.dy_px[i] - truth.dy_px[ref]);
    const double ex = r.dx_px[i] - (truth.dx_px[i] - truth.dx_px[ref]);
    sum2 += ey * ey + ex * ex;
    worst = std::max(worst, std::hypot(ey, ex));
  }
  return {std::sqrt(sum2 / static_cast<double>(r.dy_px.size())), worst};
}

// The OD that registration sees in the pipeline: beam normalization (default options) first.
EnergyStack od_of(const sim::Simulation& s) {
  OpticalDensityResult od = compute_optical_density(test::raw_from(s.scan));
  normalize_beam(od.od, std::numeric_limits<double>::quiet_NaN(), {});
  return std::move(od.od);
}

sim::Simulation simulate(sim::SimulationOptions o) {
  return sim::simulate(o, test::simulation_references());
}

sim::SimulationOptions base(std::size_t size, double drift_px) {
  sim::SimulationOptions o;
  o.height = o.width = size;
  o.drift_px = drift_px;
  return o;
}

}  // namespace

TEST_CASE("Noise-free frames: registration within 0.01 px", "[registration][e2e]") {
  auto o = base(192, 6.0);
  o.noise = false;
  const auto s = simulate(o);
  const RegistrationResult r = register_stack(od_of(s));
  const ShiftErrors e = shift_errors(r, s.truth.drift);
  INFO("rms " << e.rms << " worst " << e.worst << " flagged " << r.flagged_count());
  CHECK(e.worst <= 0.01);  // issue 4 acceptance
  CHECK(r.flagged_count() == 0);
}

TEST_CASE("Default dose, drift up to 8 px: RMS error at most 0.05 px", "[registration][e2e]") {
  const auto s = simulate(base(256, 8.0));
  const RegistrationResult r = register_stack(od_of(s));
  const ShiftErrors e = shift_errors(r, s.truth.drift);
  INFO("rms " << e.rms << " worst " << e.worst << " flagged " << r.flagged_count());
  CHECK(e.rms <= 0.05);  // issue 4 acceptance
  CHECK(r.flagged_count() == 0);
}

TEST_CASE("Low dose, sparse grid: RMS at most 0.15 px, no frame worse than 0.4 px",
          "[registration][e2e]") {
  auto o = base(256, 6.0);
  o.flat_counts = 3000;
  // About 30 energies: 6 pre-edge, 17 through the edge at 1.5 eV, 7 post-edge.
  for (int i = 0; i < 6; ++i) o.energies_ev.push_back(6450.0 + 15.0 * i);
  for (int i = 0; i < 17; ++i) o.energies_ev.push_back(6536.0 + 1.5 * i);
  for (int i = 0; i < 7; ++i) o.energies_ev.push_back(6580.0 + 20.0 * i);
  const auto s = simulate(o);
  const RegistrationResult r = register_stack(od_of(s));
  const ShiftErrors e = shift_errors(r, s.truth.drift);
  INFO("frames " << r.dy_px.size() << " rms " << e.rms << " worst " << e.worst << " flagged "
                 << r.flagged_count());
  CHECK(e.rms <= 0.15);   // issue 4 acceptance
  CHECK(e.worst <= 0.4);  // issue 4 acceptance
}

TEST_CASE("Valence maps of a drifting stack match those without drift",
          "[registration][e2e][map]") {
  // The same sample with and without drift, noise-free so that only registration differs.
  auto still = base(192, 0.0);
  still.noise = false;
  auto moving = still;
  moving.drift_px = 6.0;
  const auto a = simulate(still), b = simulate(moving);
  MapPipelineOptions none;
  none.alignment = AlignmentMode::none;
  const auto ra = run_map_pipeline(test::raw_from(a.scan), test::map_references(), none);
  const auto rb = run_map_pipeline(test::raw_from(b.scan), test::map_references(), {});
  // Maps are in the reference frame's coordinates: move the drift-free truth mask there.
  const std::size_t ref = rb.registration.reference_index;
  const long dy = std::lround(b.truth.drift.dy_px[ref]), dx = std::lround(b.truth.drift.dx_px[ref]);
  const auto inside = test::erode(a.truth.mn_mask, 4);
  double sum2 = 0.0;
  std::size_t pixels = 0;
  const auto h = static_cast<long>(inside.height()), w = static_cast<long>(inside.width());
  for (long r = 0; r < h; ++r)
    for (long c = 0; c < w; ++c) {
      if (!inside(static_cast<std::size_t>(r), static_cast<std::size_t>(c))) continue;
      const long rr = r + dy, cc = c + dx;
      if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
      const float va = ra.maps.valence(static_cast<std::size_t>(r), static_cast<std::size_t>(c));
      const float vb = rb.maps.valence(static_cast<std::size_t>(rr), static_cast<std::size_t>(cc));
      if (!std::isfinite(va) || !std::isfinite(vb)) continue;
      sum2 += (va - vb) * (va - vb);
      ++pixels;
    }
  const double rmse = std::sqrt(sum2 / static_cast<double>(pixels));
  INFO("pixels " << pixels << " RMSE " << rmse << " (reference frame shift " << dy << ", " << dx
                 << ")");
  REQUIRE(pixels > 2000);
  CHECK(rmse <= 0.02);  // issue 4 acceptance
  CHECK(rb.maps.status_counts[static_cast<std::size_t>(PixelStatus::outside_view)] > 0);
}

TEST_CASE("Registration bad input: clear errors or flagged frames", "[registration][bad]") {
  auto o = base(96, 4.0);
  o.energies_ev = {6450, 6470, 6490, 6510, 6530, 6540, 6545,
                   6550, 6555, 6560, 6580, 6600, 6650, 6700};
  const auto s = simulate(o);
  EnergyStack od = od_of(s);
  SECTION("one frame") {
    const EnergyStack one({6550.0}, 8, 8, std::vector<float>(64, 1.0f));
    CHECK_THROWS_WITH(register_stack(one), Catch::Contains("at least two frames"));
  }
  SECTION("a blank frame and a saturated (all NaN) frame are flagged, the rest kept") {
    std::fill(od.frame(3).data(), od.frame(3).data() + 96 * 96, 0.0f);
    std::fill(od.frame(9).data(), od.frame(9).data() + 96 * 96,
              std::numeric_limits<float>::quiet_NaN());
    const RegistrationResult r = register_stack(od);
    CHECK(r.flagged[3] == 1);
    CHECK(r.flagged[9] == 1);
    CHECK(r.quality[9] == 0.0);
    CHECK(r.flagged_count() == 2);
  }
  SECTION("a reference frame out of range") {
    RegistrationOptions options;
    options.reference = "index:40";
    CHECK_THROWS_WITH(register_stack(od, options), Catch::Contains("out of range"));
    options.reference = "energy:7000";
    CHECK_THROWS_WITH(register_stack(od, options), Catch::Contains("outside the stack's range"));
    options.reference = "middle";
    CHECK_THROWS_AS(register_stack(od, options), OptionError);
  }
  SECTION("rejected outliers leave finite shifts (regression: 0 x NaN poisoned the solve)") {
    RegistrationOptions options;
    options.outlier_px = 0.005;  // rejects most direct measurements
    const RegistrationResult r = register_stack(od, options);
    for (std::size_t i = 0; i < r.dy_px.size(); ++i) {
      CHECK(std::isfinite(r.dy_px[i]));
      CHECK(std::isfinite(r.dx_px[i]));
    }
    CHECK(r.flagged_count() > 0);
  }
  SECTION("a template from the upper third counts each frame once (regression)") {
    // The first 12 frames relabelled 6510-6565 eV: only 6565 eV reaches the post-edge threshold,
    // so the upper third (4 frames) is used instead, each once.
    std::vector<double> energies;
    for (double e = 6510.0; e <= 6565.0; e += 5.0) energies.push_back(e);
    REQUIRE(energies.size() == 12);
    const EnergyStack short_stack(
        energies, 96, 96,
        std::vector<float>(od.values().begin(), od.values().begin() + 12 * 96 * 96));
    RegistrationOptions options;
    options.post_edge_from_ev = 6565.0;  // fixed, so that one frame reaches it
    const RegistrationResult r = register_stack(short_stack, options);
    CHECK_THAT(r.reference_description, Catch::Contains("mean of 4 post-edge frames"));
  }
  SECTION("a drift beyond the search bound is flagged, not silently kept") {
    RegistrationOptions options;
    options.max_shift_px = 1.0;  // the true drift reaches 4 px
    const RegistrationResult r = register_stack(od, options);
    CHECK(r.flagged_count() > 0);
  }
}

TEST_CASE("Values spread by interpolation from hot pixels are flagged, not read as 'no Mn'",
          "[registration][map]") {
  // Regression: a hot (saturated) pixel's NaN spreads to its neighbours when a frame is shifted,
  // at a different place in every frame; those pixels must carry a flag.
  auto o = base(128, 5.0);
  o.hot_pixels = 50;
  const auto s = simulate(o);
  const AlignedOpticalDensity aligned = aligned_optical_density(test::raw_from(s.scan), {});
  const std::size_t pixels = aligned.flags.size();
  std::size_t unflagged_nan = 0;
  for (std::size_t p = 0; p < pixels; ++p) {
    bool nan = false;
    for (std::size_t e = 0; e < aligned.od.frame_count(); ++e)
      nan |= !std::isfinite(aligned.od.values()[e * pixels + p]);
    if (nan && !aligned.flags.data()[p]) ++unflagged_nan;
  }
  CHECK(unflagged_nan == 0);
  CHECK(aligned.summary.pixels_by_flag[3] >
        50);  // not_finite: the spread, beyond the 50 hot pixels
}

// Guards the fast registration of large frames (coarse peaks at 2 px spacing, Newton + climb
// refinement) against the straightforward path (full-resolution peaks, exhaustive grid) on a
// 512 x 512 stack, where the automatic choice bins by 2. The estimates agree to the 0.01 px grid
// or a step beyond it (the joint solution's weights come from different sharpness figures), and
// both meet the default-dose target against the truth.
TEST_CASE("Fast registration of large frames matches the exhaustive full-resolution path",
          "[registration][e2e][reference]") {
  auto o = base(512, 6.0);
  for (int i = 0; i < 8; ++i) o.energies_ev.push_back(6450.0 + 10.0 * i);
  for (int i = 0; i < 16; ++i) o.energies_ev.push_back(6535.0 + 2.0 * i);
  for (int i = 0; i < 8; ++i) o.energies_ev.push_back(6570.0 + 15.0 * i);
  const auto s = simulate(o);
  const EnergyStack od = od_of(s);
  const RegistrationResult fast = register_stack(od);
  RegistrationOptions straightforward;
  straightforward.coarse_binning = 1;
  straightforward.exhaustive_refinement = true;
  const RegistrationResult reference = register_stack(od, straightforward);
  double worst = 0.0;
  for (std::size_t i = 0; i < fast.dy_px.size(); ++i)
    worst = std::max(
        worst, std::hypot(fast.dy_px[i] - reference.dy_px[i], fast.dx_px[i] - reference.dx_px[i]));
  const ShiftErrors ef = shift_errors(fast, s.truth.drift),
                    er = shift_errors(reference, s.truth.drift);
  INFO("largest difference " << worst << " px; rms against truth fast " << ef.rms << " reference "
                             << er.rms);
  CHECK(worst <= 0.02);
  CHECK(ef.rms <= 0.05);  // issue 4 acceptance, as for 256 px
  CHECK(er.rms <= 0.05);
  CHECK(fast.flagged == reference.flagged);
}

// Guards the default search bound (a quarter of the frame's shorter side, issue 23): real stacks
// drift 20-30 px over a scan; the former fixed bound of 20 px flagged such frames. 512 px frames
// (bound 128 px, coarse peaks at 2 px spacing) and 32 energies keep the test at a few seconds.
TEST_CASE("A drift of 25 px registers with no frame flagged under the default search bound",
          "[registration][e2e]") {
  auto o = base(512, 25.0);
  for (int i = 0; i < 8; ++i) o.energies_ev.push_back(6450.0 + 10.0 * i);
  for (int i = 0; i < 16; ++i) o.energies_ev.push_back(6535.0 + 2.0 * i);
  for (int i = 0; i < 8; ++i) o.energies_ev.push_back(6570.0 + 15.0 * i);
  const auto s = simulate(o);
  const EnergyStack od = od_of(s);
  double largest = 0.0;  // the true drift relative to the reference frame
  const RegistrationResult r = register_stack(od);
  for (std::size_t i = 0; i < r.dy_px.size(); ++i)
    largest = std::max(largest,
                       std::hypot(s.truth.drift.dy_px[i] - s.truth.drift.dy_px[r.reference_index],
                                  s.truth.drift.dx_px[i] - s.truth.drift.dx_px[r.reference_index]));
  const ShiftErrors e = shift_errors(r, s.truth.drift);
  INFO("bound " << r.max_shift_px << " px; largest true shift " << largest << " px; rms " << e.rms
                << " worst " << e.worst << " flagged " << r.flagged_count());
  REQUIRE(largest > 20.0);  // beyond the former bound, or the test proves nothing
  CHECK(r.max_shift_px == 128.0);
  CHECK(r.flagged_count() == 0);
  // The default-dose target of issue 4 (0.05 px RMS at 8 px drift): a larger drift moves the
  // particles over the same detector and changes only which part of the scene leaves the
  // field of view, so the same accuracy holds.
  CHECK(e.rms <= 0.05);
  // No single frame worse than 0.15 px: three times the RMS target, as a frame's error is the
  // sum of its own noise and the template's.
  CHECK(e.worst <= 0.15);
  SECTION("the former bound of 20 px flags frames (what the default bound fixes)") {
    RegistrationOptions former;
    former.max_shift_px = 20.0;
    const RegistrationResult f = register_stack(od, former);
    CHECK(f.max_shift_px == 20.0);
    CHECK(f.flagged_count() > 0);
  }
}

TEST_CASE("The template's post-edge frames follow the stack's own edge, whatever the element",
          "[registration]") {
  auto o = base(96, 3.0);
  const auto s = simulate(o);
  const EnergyStack od = od_of(s);
  const RegistrationResult mn = register_stack(od);
  // The references' edges (half-height) lie at 6544-6553 eV, the steepest rise of a field's
  // mean OD among them; 10 eV above it, the threshold must fall within 6550-6570 eV (the grid
  // holds 0.5 eV steps there, so the estimate is not limited by the sampling).
  CHECK(mn.post_edge_from_ev > 6550.0);
  CHECK(mn.post_edge_from_ev < 6570.0);
  // The same frames labelled as a Ni K-edge scan (1800 eV higher): the threshold moves with the
  // edge (no absolute Mn energy anywhere), and the shifts are the same frames' shifts.
  std::vector<double> ni_ev(od.energies_ev());
  for (double& e : ni_ev) e += 1800.0;
  const EnergyStack ni(ni_ev, od.height(), od.width(),
                       std::vector<float>(od.values().begin(), od.values().end()));
  const RegistrationResult r = register_stack(ni);
  // 1e-6 eV: the same sums on energies 1800 eV larger differ in the last bits only.
  CHECK_THAT(r.post_edge_from_ev, Catch::WithinAbs(mn.post_edge_from_ev + 1800.0, 1e-6));
  CHECK(r.reference_index == mn.reference_index);
  REQUIRE(r.dy_px.size() == mn.dy_px.size());
  for (std::size_t i = 0; i < r.dy_px.size(); ++i) {
    // The same frames, the same template: only the energies' labels differ.
    CHECK(r.dy_px[i] == mn.dy_px[i]);
    CHECK(r.dx_px[i] == mn.dx_px[i]);
  }
}
