#include "core/spectral/normalization.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>

#include "core/base/error.hpp"

using namespace xanesmap;

namespace {
// An analytic edge on a non-uniform grid: a sloped pre-edge line plus an error-function step
// of height `step` at e0 (Gaussian-broadened, sigma `width`): its tails vanish within a few eV,
// so the windows see only the lines.
struct AnalyticEdge {
  double e0 = 6550.0, step = 0.8, pre_a = 0.3, pre_b = -0.0004, width = 1.5;
  double mu(double e) const {
    const double x = e - e0;
    return pre_a + pre_b * x + step * 0.5 * (1.0 + std::erf(x / (std::numbers::sqrt2 * width)));
  }
};

std::vector<double> coarse_fine_coarse() {
  std::vector<double> grid;
  for (double e = 6400; e < 6530; e += 5) grid.push_back(e);
  for (double e = 6530; e < 6580; e += 0.5) grid.push_back(e);
  for (double e = 6580; e <= 6750; e += 10) grid.push_back(e);
  return grid;
}
}  // namespace

TEST_CASE("The derivative maximum of an error-function edge is its centre", "[normalization]") {
  const AnalyticEdge edge;
  const auto grid = coarse_fine_coarse();
  std::vector<double> mu;
  for (double e : grid) mu.push_back(edge.mu(e));
  // 0.05 eV: a tenth of the 0.5 eV step; the parabola refinement should do better than that.
  CHECK_THAT(find_e0_max_derivative(grid, mu, 1.0), Catch::WithinAbs(edge.e0, 0.05));
}

TEST_CASE("Normalization recovers the pre-edge line and the edge step", "[normalization]") {
  const AnalyticEdge edge;
  const auto grid = coarse_fine_coarse();
  std::vector<double> mu;
  for (double e : grid) mu.push_back(edge.mu(e));
  NormalizationOptions options;
  const auto n = normalize_spectrum(grid, mu, options, edge.e0);
  // Lines plus a step whose tails are below 1e-15 in the windows: only rounding remains.
  CHECK_THAT(n.edge_step, Catch::WithinRel(edge.step, 1e-9));
  CHECK_THAT(n.pre_slope, Catch::WithinAbs(edge.pre_b, 1e-12));
  CHECK_THAT(n.normalized.front(), Catch::WithinAbs(0.0, 1e-9));
  // The post-edge here has the pre-edge slope, so "normalized" is exactly 1 and so is "flat".
  CHECK_THAT(n.normalized.back(), Catch::WithinAbs(1.0, 1e-9));
  CHECK_THAT(n.flattened.back(), Catch::WithinAbs(1.0, 1e-9));
  CHECK_FALSE(n.clipped_pre);
  CHECK_FALSE(n.clipped_post);
}

TEST_CASE("Flattening removes a post-edge slope that differs from the pre-edge",
          "[normalization]") {
  // Pre-edge slope -0.002/eV, post-edge slope +0.001/eV: "normalized" rises above the edge,
  // "flattened" stays at 1.
  std::vector<double> grid, mu;
  for (double e = 6400; e <= 6750; e += 2.5) {
    grid.push_back(e);
    const double x = e - 6550.0;
    mu.push_back(x < 0 ? 1.0 - 0.002 * x : 2.0 + 0.001 * x);
  }
  NormalizationOptions options;
  options.post_edge_order = 1;
  const auto n = normalize_spectrum(grid, mu, options, 6550.0);
  CHECK_THAT(n.normalized.back(), Catch::WithinAbs(1.0 + 0.003 * 200.0, 1e-9));
  CHECK_THAT(n.flattened.back(), Catch::WithinAbs(1.0, 1e-9));
  CHECK_THAT(n.flattened.front(), Catch::WithinAbs(0.0, 1e-9));
}

TEST_CASE("An exact line plus step is normalized exactly", "[normalization]") {
  // mu = 0.1 + 0.001 (E - e0) below, + 2 above (a sharp step): fits are exact.
  std::vector<double> grid, mu;
  for (double e = 6400; e <= 6750; e += 2.5) {
    grid.push_back(e);
    mu.push_back(0.1 + 0.001 * (e - 6550.0) + (e >= 6550.0 ? 2.0 : 0.0));
  }
  NormalizationOptions options;
  options.post_edge_order = 1;
  const auto n = normalize_spectrum(grid, mu, options, 6550.0);
  // Only floating-point rounding separates these from the exact values.
  CHECK_THAT(n.edge_step, Catch::WithinAbs(2.0, 1e-9));
  CHECK_THAT(n.pre_slope, Catch::WithinAbs(0.001, 1e-12));
  CHECK_THAT(n.normalized[10], Catch::WithinAbs(0.0, 1e-9));
  CHECK_THAT(n.normalized.back(), Catch::WithinAbs(1.0, 1e-9));
}

TEST_CASE("Windows are clipped to the data and too-short windows are errors", "[normalization]") {
  std::vector<double> grid, mu;
  for (double e = 6520; e <= 6600; e += 1.0) {
    grid.push_back(e);
    mu.push_back(e >= 6550.0 ? 1.0 : 0.0);
  }
  NormalizationOptions options;
  const auto n = normalize_spectrum(grid, mu, options, 6550.0);
  CHECK(n.clipped_pre);
  CHECK(n.clipped_post);
  CHECK_THAT(n.pre_edge_used_ev.from_ev, Catch::WithinAbs(-30.0, 1e-9));
  CHECK_THAT(n.post_edge_used_ev.to_ev, Catch::WithinAbs(50.0, 1e-9));
  options.pre_edge_ev = {-100.0, -35.0};
  CHECK_THROWS_WITH(
      normalize_spectrum(grid, mu, options, 6550.0),
      Catch::Contains("pre-edge window 6450-6515 eV") && Catch::Contains("holds 0 of"));
}

TEST_CASE("A given e0 must be finite", "[normalization]") {
  std::vector<double> grid, mu;
  for (double e = 6400; e <= 6750; e += 2.5) {
    grid.push_back(e);
    mu.push_back(e >= 6550.0 ? 1.0 : 0.0);
  }
  CHECK_THROWS_AS(normalize_spectrum(grid, mu, {}, NAN), OptionError);
  CHECK_NOTHROW(normalize_spectrum(grid, mu, {}, 6550.0));
}

TEST_CASE("Nonsense normalization options are refused by name", "[normalization]") {
  NormalizationOptions o;
  o.post_edge_order = 7;
  CHECK_THROWS_WITH(o.validate(), Catch::Contains("option '--post-order'"));
  o = {};
  o.pre_edge_ev = {-20.0, -100.0};
  CHECK_THROWS_WITH(o.validate(), Catch::Contains("option '--pre-edge'"));
  o = {};
  o.post_edge_ev = {-50.0, 100.0};
  CHECK_THROWS_AS(o.validate(), OptionError);
}
