#include "core/spectral/reference_fit.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "core/base/error.hpp"
#include "core/base/random.hpp"

using namespace xanesmap;

namespace {
// Three smooth, distinct "references" on 60 points: shifted logistic edges with bumps.
std::vector<std::vector<double>> references() {
  std::vector<std::vector<double>> refs(3, std::vector<double>(60));
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t i = 0; i < 60; ++i) {
      const double x = static_cast<double>(i) - 20.0 - 4.0 * static_cast<double>(k);
      refs[k][i] = 1.0 / (1.0 + std::exp(-x / 2.0)) + 0.3 * std::exp(-(x - 4.0) * (x - 4.0) / 8.0);
    }
  return refs;
}
const std::vector<double> kValences{2.0, 3.0, 4.0};

std::vector<double> mix(const std::vector<std::vector<double>>& refs,
                        const std::vector<double>& f) {
  std::vector<double> y(refs[0].size(), 0.0);
  for (std::size_t k = 0; k < refs.size(); ++k)
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += f[k] * refs[k][i];
  return y;
}

double objective(const std::vector<std::vector<double>>& refs, const std::vector<double>& y,
                 const std::vector<double>& f) {
  const auto m = mix(refs, f);
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += (m[i] - y[i]) * (m[i] - y[i]);
  return s;
}
}  // namespace

TEST_CASE("An exact mixture is recovered exactly", "[lcf]") {
  const auto refs = references();
  const LinearCombinationFit fit(refs, kValences, LcfConstraint::simplex);
  const auto r = fit(mix(refs, {0.0, 0.4, 0.6}));
  REQUIRE(r.ok);
  // Noise-free: only rounding (1e-12 relative on O(1) values) separates the answer from exact.
  CHECK_THAT(r.fractions[0], Catch::WithinAbs(0.0, 1e-9));
  CHECK_THAT(r.fractions[1], Catch::WithinAbs(0.4, 1e-9));
  CHECK_THAT(r.fractions[2], Catch::WithinAbs(0.6, 1e-9));
  CHECK_THAT(r.valence, Catch::WithinAbs(3.6, 1e-9));
  CHECK_THAT(r.rfactor, Catch::WithinAbs(0.0, 1e-12));
  CHECK_THAT(r.valence_sigma, Catch::WithinAbs(0.0, 1e-6));
}

TEST_CASE("Outside the simplex: sum-to-one goes negative, simplex finds the constrained optimum",
          "[lcf]") {
  const auto refs = references();
  const auto y = mix(refs, {-0.2, 1.2, 0.0});
  const LinearCombinationFit free(refs, kValences, LcfConstraint::sum_to_one);
  const auto u = free(y);
  CHECK_THAT(u.fractions[0], Catch::WithinAbs(-0.2, 1e-9));
  CHECK_THAT(u.fractions[1], Catch::WithinAbs(1.2, 1e-9));
  const LinearCombinationFit simplex(refs, kValences, LcfConstraint::simplex);
  const auto s = simplex(y);
  REQUIRE(s.ok);
  double sum = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(s.fractions[k] >= 0.0);
    sum += s.fractions[k];
  }
  CHECK_THAT(sum, Catch::WithinAbs(1.0, 1e-12));
  // Brute force over the simplex on a 0.002 grid: the exact solve must be at least as good as
  // every grid point (up to the grid's own resolution, which can only make the grid worse).
  const std::vector<double> fs(s.fractions.begin(), s.fractions.begin() + 3);
  const double best = objective(refs, y, fs);
  double grid_best = INFINITY;
  for (int a = 0; a <= 500; ++a)
    for (int b = 0; a + b <= 500; ++b) {
      const std::vector<double> f{a / 500.0, b / 500.0, 1.0 - (a + b) / 500.0};
      grid_best = std::min(grid_best, objective(refs, y, f));
    }
  CHECK(best <= grid_best + 1e-12);
}

TEST_CASE("Valence sigma matches the scatter of noisy fits", "[lcf]") {
  // 2000 noisy draws: the standard deviation of the fitted valence is known to ~1.6 %
  // (1/sqrt(2 * 2000)); the mean predicted sigma must agree within 10 %.
  const auto refs = references();
  const LinearCombinationFit fit(refs, kValences, LcfConstraint::sum_to_one);
  const auto clean = mix(refs, {0.2, 0.5, 0.3});
  Random rng{11};
  double sum = 0, sum2 = 0, sigma_sum = 0;
  const int draws = 2000;
  for (int d = 0; d < draws; ++d) {
    auto y = clean;
    for (double& v : y) v += rng.normal(0.0, 0.01);
    const auto r = fit(y);
    sum += r.valence, sum2 += r.valence * r.valence, sigma_sum += r.valence_sigma;
  }
  const double mean = sum / draws, sd = std::sqrt(sum2 / draws - mean * mean);
  CHECK_THAT(mean, Catch::WithinAbs(3.1, 3.0 * sd / std::sqrt(draws)));  // unbiased
  CHECK_THAT(sigma_sum / draws, Catch::WithinRel(sd, 0.10));
}

TEST_CASE("Degenerate reference sets are refused", "[lcf][bad]") {
  auto refs = references();
  refs[2] = refs[1];
  CHECK_THROWS_WITH(LinearCombinationFit(refs, kValences, LcfConstraint::simplex),
                    Catch::Contains("linearly dependent"));
  const auto short_refs = std::vector<std::vector<double>>{{1.0, 2.0}, {2.0, 1.0}, {1.0, 1.0}};
  CHECK_THROWS_WITH(LinearCombinationFit(short_refs, kValences, LcfConstraint::simplex),
                    Catch::Contains("needs at least 4"));
  CHECK_THROWS_AS(parse_lcf_constraint("clip"), OptionError);
}
