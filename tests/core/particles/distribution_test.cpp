// Histograms, summary figures, population counting and the two-sample KS test, on hand-made
// data with hand-computed answers and on seeded Gaussian samples.
#include "core/particles/distribution.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "core/base/error.hpp"

using namespace xanesmap;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Normal deviates from std::mt19937_64 (whose output sequence the C++ standard specifies) by
// Box-Muller (G. E. P. Box & M. E. Muller, Ann. Math. Stat. 29, 610 (1958)), written here
// because std::normal_distribution's output is implementation-defined.
class Gaussian {
 public:
  explicit Gaussian(std::uint64_t seed) : engine_(seed) {}
  double operator()(double mean, double sigma) {
    if (has_spare_) {
      has_spare_ = false;
      return mean + sigma * spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log(uniform_open()));
    const double angle = 2.0 * std::numbers::pi * uniform_open();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return mean + sigma * radius * std::cos(angle);
  }

 private:
  double uniform_open() {  // (0, 1]: 53 random bits, never 0 (log)
    return (static_cast<double>(engine_() >> 11) + 1.0) * 0x1.0p-53;
  }
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// `count` values from N(mean, sigma) appended to `out`.
void append_normal(std::vector<double>& out, Gaussian& g, std::size_t count, double mean,
                   double sigma) {
  for (std::size_t i = 0; i < count; ++i) out.push_back(g(mean, sigma));
}

// Independent evaluation of the Kolmogorov distribution Q(lambda) by 100 terms of its
// alternating series (for lambda >= 0.2 the 100th term is below exp(-800), negligible).
double kolmogorov_series(double lambda) {
  double sum = 0.0;
  for (int j = 1; j <= 100; ++j)
    sum += (j % 2 == 1 ? 2.0 : -2.0) * std::exp(-2.0 * j * j * lambda * lambda);
  return sum;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Histogram

TEST_CASE("histogram counts hand-made data into documented bins", "[distribution]") {
  // 4 bins over [0, 1]: edges 0, 0.25, 0.5, 0.75, 1 (all exact in binary).
  const HistogramBins bins{0.0, 1.0, 4};
  const std::vector<double> v = {-0.1, 0.0, 0.1, 0.25, 0.5,  0.74,
                                 0.75, 1.0, 1.1, kNaN, kInf, -kInf};
  const Histogram h = make_histogram(v, {}, bins);
  REQUIRE(h.edges == std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0});
  // [0, .25): 0, 0.1 | [.25, .5): 0.25 | [.5, .75): 0.5, 0.74 | [.75, 1]: 0.75, 1.0 (closed).
  CHECK(h.counts == std::vector<double>{2.0, 1.0, 2.0, 2.0});
  CHECK(h.underflow == 2.0);  // -0.1, -inf
  CHECK(h.overflow == 2.0);   // 1.1, +inf
  CHECK(h.total_weight == 11.0);
  CHECK(h.samples == 11);
  CHECK(h.skipped_nan == 1);

  // Density integrates to the in-range share 7/11; sums of a few doubles: 1e-12 covers rounding.
  const auto d = h.density();
  REQUIRE(d.size() == 4);
  double integral = 0.0;
  for (std::size_t i = 0; i < d.size(); ++i) integral += d[i] * (h.edges[i + 1] - h.edges[i]);
  CHECK_THAT(integral, Catch::WithinAbs(7.0 / 11.0, 1e-12));
  CHECK_THAT(d[0], Catch::WithinAbs(2.0 / (11.0 * 0.25), 1e-12));
}

TEST_CASE("histogram puts every stored edge in the bin it opens", "[distribution]") {
  // Default bins [2, 4] x 80: the edges 2 + 2 i / 80 are mostly inexact in binary; each one,
  // given as a value, must fall in the bin it starts (the last edge, 4.0, in the last bin).
  const HistogramBins bins;
  const Histogram empty = make_histogram(std::vector<double>{}, {}, bins);
  REQUIRE(empty.edges.size() == 81);
  CHECK(empty.edges.front() == 2.0);
  CHECK(empty.edges.back() == 4.0);
  const Histogram h = make_histogram(empty.edges, {}, bins);
  for (std::size_t i = 0; i + 1 < 80; ++i) CHECK(h.counts[i] == 1.0);
  CHECK(h.counts[79] == 2.0);
  CHECK(h.underflow == 0.0);
  CHECK(h.overflow == 0.0);
  // No data: density is all zeros, not NaN.
  for (const double x : empty.density()) CHECK(x == 0.0);
}

TEST_CASE("histogram sums weights", "[distribution]") {
  const HistogramBins bins{0.0, 1.0, 2};
  const std::vector<double> v = {0.1, 0.2, 0.9, 2.0, kNaN};
  const std::vector<double> w = {0.5, 1.5, 3.0, 4.0, 100.0};  // the NaN value's weight is ignored
  const Histogram h = make_histogram(v, w, bins);
  CHECK(h.counts == std::vector<double>{2.0, 3.0});
  CHECK(h.overflow == 4.0);
  CHECK(h.total_weight == 9.0);
  CHECK(h.samples == 4);
  CHECK(h.skipped_nan == 1);
  // In-range share 5/9; 1e-12 covers the rounding of two products.
  const auto d = h.density();
  CHECK_THAT((d[0] + d[1]) * 0.5, Catch::WithinAbs(5.0 / 9.0, 1e-12));
}

TEST_CASE("histogram rejects bad bins and bad weights", "[distribution]") {
  const std::vector<double> v = {1.0, 2.0};
  CHECK_THROWS_AS(make_histogram(v, {}, HistogramBins{1.0, 1.0, 10}), OptionError);
  CHECK_THROWS_AS(make_histogram(v, {}, HistogramBins{2.0, 1.0, 10}), OptionError);
  CHECK_THROWS_AS(make_histogram(v, {}, HistogramBins{kNaN, 1.0, 10}), OptionError);
  CHECK_THROWS_AS(make_histogram(v, {}, HistogramBins{0.0, kInf, 10}), OptionError);
  CHECK_THROWS_AS(make_histogram(v, {}, HistogramBins{0.0, 1.0, 0}), OptionError);
  CHECK_THROWS_AS(make_histogram(v, {}, HistogramBins{0.0, 1.0, 1000001}), OptionError);
  CHECK_NOTHROW(make_histogram(v, {}, HistogramBins{0.0, 1.0, 1000000}));
  // Bins of 1e-15 at 1.0 are ~4 doubles apart: edges would coincide.
  CHECK_THROWS_AS(make_histogram(v, {}, HistogramBins{1.0, 1.0 + 1e-12, 1000}), OptionError);
  const std::vector<double> short_w = {1.0};
  const std::vector<double> negative_w = {1.0, -0.5};
  const std::vector<double> nan_w = {kNaN, 1.0};
  const std::vector<double> inf_w = {1.0, kInf};
  CHECK_THROWS_AS(make_histogram(v, short_w, HistogramBins{}), InputError);
  CHECK_THROWS_AS(make_histogram(v, negative_w, HistogramBins{}), InputError);
  CHECK_THROWS_AS(make_histogram(v, nan_w, HistogramBins{}), InputError);
  CHECK_THROWS_AS(make_histogram(v, inf_w, HistogramBins{}), InputError);
}

// ------------------------------------------------------------------------------------------------
// describe_distribution

TEST_CASE("describe_distribution matches hand-computed figures", "[distribution]") {
  // {1, 2, 3, 4, 10}: mean 4; deviations -3 -2 -1 0 6: sum d^2 = 50, sum d^3 = 180.
  // std = sqrt(50 / 4) = sqrt(12.5). Type 7 (h = 4 p): q25 = x(1) = 2, median = 3, q75 = x(3) = 4.
  // m2 = 10, m3 = 36, g1 = 36 / 10^1.5; G1 = g1 sqrt(5 * 4) / 3 = 72 sqrt(5) / (30 sqrt(10))
  // = 1.2 sqrt(2) = 1.6970562748...
  // Tolerance 1e-12: a few rounding errors on O(1) numbers.
  const std::vector<double> v = {10.0, 3.0, kNaN, 1.0, 4.0, 2.0};
  const auto f = describe_distribution(v);
  CHECK(f.n == 5);
  CHECK_THAT(f.mean, Catch::WithinAbs(4.0, 1e-12));
  CHECK(f.median == 3.0);
  CHECK(f.q25 == 2.0);
  CHECK(f.q75 == 4.0);
  CHECK(f.iqr == 2.0);
  CHECK_THAT(f.std, Catch::WithinAbs(std::sqrt(12.5), 1e-12));
  CHECK_THAT(f.skewness, Catch::WithinAbs(1.2 * std::numbers::sqrt2, 1e-12));

  // Interpolated type-7 quantiles: {1, 2, 4, 7}, h = 3 p: q25 at 0.75 -> 1 + 0.75 * 1 = 1.75;
  // median at 1.5 -> 2 + 0.5 * 2 = 3; q75 at 2.25 -> 4 + 0.25 * 3 = 4.75 (numpy gives the same).
  const std::vector<double> w4 = {7.0, 1.0, 4.0, 2.0};
  const auto g = describe_distribution(w4);
  CHECK_THAT(g.q25, Catch::WithinAbs(1.75, 1e-12));
  CHECK_THAT(g.median, Catch::WithinAbs(3.0, 1e-12));
  CHECK_THAT(g.q75, Catch::WithinAbs(4.75, 1e-12));
  CHECK_THAT(g.iqr, Catch::WithinAbs(3.0, 1e-12));
  // Symmetric data: G1 = 0 exactly in exact arithmetic ({1, 2, 3} deviations -1 0 1).
  CHECK_THAT(describe_distribution(std::vector<double>{3.0, 1.0, 2.0}).skewness,
             Catch::WithinAbs(0.0, 1e-12));
}

TEST_CASE("describe_distribution with equal weights equals the unweighted figures",
          "[distribution]") {
  Gaussian gauss(11);
  std::vector<double> v;
  append_normal(v, gauss, 1001, 3.2, 0.3);
  append_normal(v, gauss, 300, 3.9, 0.05);  // some skew
  v.push_back(kNaN);
  const auto u = describe_distribution(v);
  for (const double w : {1.0, 0.37, 250.0}) {
    const std::vector<double> weights(v.size(), w);
    const auto f = describe_distribution(v, weights);
    CHECK(f.n == u.n);
    // Weighted sums of 1301 terms against plain ones: relative rounding ~1e-13; 1e-10 is ample.
    CHECK_THAT(f.mean, Catch::WithinRel(u.mean, 1e-10));
    CHECK_THAT(f.std, Catch::WithinRel(u.std, 1e-10));
    CHECK_THAT(f.skewness, Catch::WithinRel(u.skewness, 1e-10));
    CHECK_THAT(f.median, Catch::WithinRel(u.median, 1e-10));
    CHECK_THAT(f.q25, Catch::WithinRel(u.q25, 1e-10));
    CHECK_THAT(f.q75, Catch::WithinRel(u.q75, 1e-10));
  }
}

TEST_CASE("describe_distribution with integer weights: documented relation to repetition",
          "[distribution]") {
  const std::vector<double> v = {1.0, 2.0, 3.0, 4.0, 10.0};
  const std::vector<double> w = {1.0, 2.0, 1.0, 3.0, 1.0};
  const std::vector<double> repeated = {1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 10.0};
  const auto f = describe_distribution(v, w);
  const auto r = describe_distribution(repeated);
  CHECK(f.n == 5);
  // The mean is that of the repeated values: 30 / 8 = 3.75 (1e-12: rounding only).
  CHECK_THAT(f.mean, Catch::WithinAbs(3.75, 1e-12));
  CHECK_THAT(r.mean, Catch::WithinAbs(3.75, 1e-12));
  // std: reliability weights, not frequencies. sum w (x - mean)^2 is the same; the divisor is
  // V1 - V2 / V1 = 8 - 16 / 8 = 6 instead of V1 - 1 = 7: std_w = std_repeated sqrt(7 / 6).
  CHECK_THAT(f.std, Catch::WithinRel(r.std * std::sqrt(7.0 / 6.0), 1e-12));
  // Quantiles by weight centres c = 0.5, 2, 3.5, 5.5, 7.5 (span 7, see the header):
  // median: c = 4 -> between 3 (c 3.5) and 4 (c 5.5): 3.25; q25: c = 2.25 -> 2 + (0.25 / 1.5)
  // = 2.1666...; q75: c = 5.75 -> 4 + 6 * (0.25 / 2) = 4.75. 1e-12: rounding only.
  CHECK_THAT(f.median, Catch::WithinAbs(3.25, 1e-12));
  CHECK_THAT(f.q25, Catch::WithinAbs(2.0 + 1.0 / 6.0, 1e-12));
  CHECK_THAT(f.q75, Catch::WithinAbs(4.75, 1e-12));
  // Scale invariance: weights x 3.7 give the same figures (1e-12 relative: rounding only).
  std::vector<double> w2 = w;
  for (double& x : w2) x *= 3.7;
  const auto s = describe_distribution(v, w2);
  CHECK_THAT(s.std, Catch::WithinRel(f.std, 1e-12));
  CHECK_THAT(s.skewness, Catch::WithinRel(f.skewness, 1e-12));
  CHECK_THAT(s.median, Catch::WithinRel(f.median, 1e-12));
  // Huge or tiny weights (whose squares would overflow or underflow) give the same figures.
  for (const double scale : {1e200, 1e-200}) {
    std::vector<double> w3 = w;
    for (double& x : w3) x *= scale;
    const auto h = describe_distribution(v, w3);
    CHECK_THAT(h.std, Catch::WithinRel(f.std, 1e-12));
    CHECK_THAT(h.skewness, Catch::WithinRel(f.skewness, 1e-12));
    CHECK_THAT(h.q75, Catch::WithinRel(f.q75, 1e-12));
  }
  // Weight 0 removes a value.
  const std::vector<double> w0 = {1.0, 1.0, 1.0, 1.0, 0.0};
  const auto z = describe_distribution(v, w0);
  CHECK(z.n == 4);
  CHECK_THAT(z.mean, Catch::WithinAbs(2.5, 1e-12));
}

TEST_CASE("describe_distribution on empty, single, constant data and bad weights",
          "[distribution]") {
  const auto e = describe_distribution(std::vector<double>{});
  CHECK(e.n == 0);
  CHECK(std::isnan(e.mean));
  CHECK(std::isnan(e.median));
  CHECK(std::isnan(e.std));
  CHECK(std::isnan(e.q25));
  CHECK(std::isnan(e.q75));
  CHECK(std::isnan(e.iqr));
  CHECK(std::isnan(e.skewness));
  const auto nan_only = describe_distribution(std::vector<double>{kNaN, kInf, -kInf});
  CHECK(nan_only.n == 0);
  CHECK(std::isnan(nan_only.mean));

  const auto one = describe_distribution(std::vector<double>{3.3});
  CHECK(one.n == 1);
  CHECK(one.mean == 3.3);
  CHECK(one.median == 3.3);
  CHECK(std::isnan(one.std));
  CHECK(std::isnan(one.skewness));

  const auto two = describe_distribution(std::vector<double>{3.0, 4.0});
  CHECK(two.std == std::sqrt(0.5));  // deviations +-0.5, all exact in binary
  CHECK(std::isnan(two.skewness));

  const auto constant = describe_distribution(std::vector<double>(7, 0.1));
  CHECK(constant.mean == 0.1);  // exact: no rounding drift for constant data
  CHECK(constant.std == 0.0);
  CHECK(std::isnan(constant.skewness));

  const std::vector<double> v = {1.0, 2.0};
  CHECK_THROWS_AS(describe_distribution(v, std::vector<double>{1.0}), InputError);
  CHECK_THROWS_AS(describe_distribution(v, std::vector<double>{1.0, -1.0}), InputError);
  CHECK_THROWS_AS(describe_distribution(v, std::vector<double>{kNaN, 1.0}), InputError);
  const auto zero_weights = describe_distribution(v, std::vector<double>{0.0, 0.0});
  CHECK(zero_weights.n == 0);
  CHECK(std::isnan(zero_weights.mean));
}

// ------------------------------------------------------------------------------------------------
// count_populations

TEST_CASE("count_populations finds one population in one Gaussian", "[distribution]") {
  Gaussian gauss(1);
  std::vector<double> v;
  append_normal(v, gauss, 50000, 3.6, 0.07);
  v.push_back(kNaN);
  const auto p = count_populations(v);
  CHECK(p.samples == 50000);
  CHECK(p.samples_used == 50000);
  REQUIRE(p.fits.size() == 3);
  CHECK(p.populations == 1);
  REQUIRE(p.population_parts.size() == 1);
  // Mean and sigma of 50000 samples: standard errors 0.07 / sqrt(50000) = 3e-4 and 2e-4;
  // 0.002 is > 6 of them.
  CHECK_THAT(p.population_parts[0].mean, Catch::WithinAbs(3.6, 0.002));
  CHECK_THAT(p.population_parts[0].sigma, Catch::WithinAbs(0.07, 0.002));
  CHECK_THAT(p.population_parts[0].weight, Catch::WithinAbs(1.0, 1e-9));
  for (std::size_t k = 0; k < p.fits.size(); ++k) {
    const auto& fit = p.fits[k];
    CHECK(fit.components == static_cast<int>(k + 1));
    CHECK(fit.parts.size() == k + 1);
    // BIC as documented (1e-9 relative: the same arithmetic).
    const double parameters = 3.0 * static_cast<double>(k + 1) - 1.0;
    CHECK_THAT(fit.bic,
               Catch::WithinRel(-2.0 * fit.log_likelihood + parameters * std::log(50000.0), 1e-9));
    // More components never fit worse (start (d)). The EM runs on narrow groups of samples: the
    // grouped optimum can differ from the exact one by ~ (group width / sigma)^2 / 24 = 3e-6 per
    // sample (width 0.01 / 16, sigma 0.07), so allow 1e-5 per sample.
    if (k > 0) CHECK(fit.log_likelihood >= p.fits[k - 1].log_likelihood - 1e-5 * 50000);
  }
}

TEST_CASE("count_populations separates two populations and recovers them", "[distribution]") {
  Gaussian gauss(2);
  std::vector<double> v;
  append_normal(v, gauss, 37500, 3.7, 0.07);  // 75 %
  append_normal(v, gauss, 12500, 3.0, 0.07);  // 25 %
  const auto p = count_populations(v);
  CHECK(p.best_components >= 2);
  REQUIRE(p.populations == 2);
  const auto& low = p.population_parts[0];
  const auto& high = p.population_parts[1];
  // Means: standard errors 0.07 / sqrt(12500) = 6e-4 at most; weights: the shares are exactly
  // 0.25 / 0.75 and the components overlap negligibly (Ashman's D = 10). 0.01 as specified
  // leaves > 10 standard errors.
  CHECK_THAT(low.mean, Catch::WithinAbs(3.0, 0.01));
  CHECK_THAT(high.mean, Catch::WithinAbs(3.7, 0.01));
  CHECK_THAT(low.weight, Catch::WithinAbs(0.25, 0.01));
  CHECK_THAT(high.weight, Catch::WithinAbs(0.75, 0.01));
  CHECK_THAT(low.sigma, Catch::WithinAbs(0.07, 0.01));
  CHECK_THAT(high.sigma, Catch::WithinAbs(0.07, 0.01));
}

TEST_CASE("count_populations finds three well separated populations", "[distribution]") {
  Gaussian gauss(3);
  std::vector<double> v;
  append_normal(v, gauss, 9000, 2.4, 0.07);
  append_normal(v, gauss, 9000, 3.0, 0.07);
  append_normal(v, gauss, 12000, 3.7, 0.07);
  const auto p = count_populations(v);
  CHECK(p.best_components == 3);
  REQUIRE(p.populations == 3);
  // Standard errors <= 0.07 / sqrt(9000) = 7e-4; 0.01 is > 10 of them; shares exact (D >= 8.5).
  CHECK_THAT(p.population_parts[0].mean, Catch::WithinAbs(2.4, 0.01));
  CHECK_THAT(p.population_parts[1].mean, Catch::WithinAbs(3.0, 0.01));
  CHECK_THAT(p.population_parts[2].mean, Catch::WithinAbs(3.7, 0.01));
  CHECK_THAT(p.population_parts[2].weight, Catch::WithinAbs(0.4, 0.01));
}

TEST_CASE("count_populations merges the components of one heavy-tailed population",
          "[distribution]") {
  // 70 % N(3.6, 0.05) + 30 % N(3.6, 0.2): one population, far from Gaussian (kurtosis), which
  // BIC describes with >= 2 components of the same mean; Ashman's D ~ 0 merges them.
  Gaussian gauss(4);
  std::vector<double> v;
  append_normal(v, gauss, 35000, 3.6, 0.05);
  append_normal(v, gauss, 15000, 3.6, 0.2);
  const auto p = count_populations(v);
  CHECK(p.best_components >= 2);
  CHECK(p.populations == 1);
  REQUIRE(p.population_parts.size() == 1);
  // The merged population has the mixture's moments: mean 3.6, sigma sqrt(0.7 * 0.05^2 +
  // 0.3 * 0.2^2) = 0.1175; standard errors ~5e-4; 0.003 is 6 of them.
  CHECK_THAT(p.population_parts[0].mean, Catch::WithinAbs(3.6, 0.003));
  CHECK_THAT(p.population_parts[0].sigma,
             Catch::WithinAbs(std::sqrt(0.7 * 0.0025 + 0.3 * 0.04), 0.003));
  CHECK_THAT(p.population_parts[0].weight, Catch::WithinAbs(1.0, 1e-9));
}

TEST_CASE("count_populations merges unresolved populations", "[distribution]") {
  // Two equal halves 0.1 apart with sigma 0.07: Ashman's D = sqrt(2) 0.1 / 0.099 = 1.43 < 2.
  Gaussian gauss(5);
  std::vector<double> v;
  append_normal(v, gauss, 25000, 3.5, 0.07);
  append_normal(v, gauss, 25000, 3.6, 0.07);
  const auto p = count_populations(v);
  CHECK(p.populations == 1);
  REQUIRE(p.population_parts.size() == 1);
  // Moments of the whole: mean 3.55, sigma sqrt(0.07^2 + 0.05^2) = 0.086; standard errors
  // 4e-4 and 3e-4; 0.003 is > 7 of them.
  CHECK_THAT(p.population_parts[0].mean, Catch::WithinAbs(3.55, 0.003));
  CHECK_THAT(p.population_parts[0].sigma, Catch::WithinAbs(std::sqrt(0.0049 + 0.0025), 0.003));
  // With min_separation 1 they are resolved only if BIC found 2 components.
  MixtureOptions o;
  o.min_separation = 1.0;
  const auto q = count_populations(v, o);
  CHECK(q.populations == std::min(q.best_components, 2));
}

TEST_CASE("count_populations ignores a small point mass at a simplex corner", "[distribution]") {
  // 3 % of the values exactly 4.0 (LCF valences at the simplex corner): BIC sees it (a
  // component at 4.0 with sigma at the floor) but its weight is below min_weight = 10 %.
  Gaussian gauss(6);
  std::vector<double> v;
  append_normal(v, gauss, 48500, 3.6, 0.07);
  v.insert(v.end(), 1500, 4.0);
  const auto p = count_populations(v);
  CHECK(p.best_components >= 2);
  CHECK(p.populations == 1);
  REQUIRE(p.population_parts.size() == 1);
  // The main population is 97 % (shares exact, no overlap: D = 8): 0.002 on its weight is
  // generous; 0.002 on its mean is > 6 standard errors (0.07 / sqrt(48500) = 3e-4).
  CHECK_THAT(p.population_parts[0].weight, Catch::WithinAbs(0.97, 0.002));
  CHECK_THAT(p.population_parts[0].mean, Catch::WithinAbs(3.6, 0.002));
  const auto& fit = p.fits[static_cast<std::size_t>(p.best_components - 1)];
  // The component sits on the point mass: only values within a few min_sigma of 4.0 share it,
  // and the main population has ~1e-8 of its mass there (5.7 of its sigmas away), so 1e-6.
  CHECK_THAT(fit.parts.back().mean, Catch::WithinAbs(4.0, 1e-6));
  CHECK(fit.parts.back().sigma == 0.01);  // pinned at min_sigma exactly

  // At 15 % a point mass passes min_weight and counts as a population of its own...
  std::vector<double> w;
  append_normal(w, gauss, 42500, 3.6, 0.07);
  w.insert(w.end(), 7500, 4.0);
  CHECK(count_populations(w).populations == 2);
  // ... unless min_weight says otherwise,
  MixtureOptions o;
  o.min_weight = 0.2;
  CHECK(count_populations(w, o).populations == 1);
  // ... or the value is declared a point mass (the simplex corners of LCF valences): then it is
  // counted apart and the fit sees only the Gaussian.
  MixtureOptions corners;
  corners.point_values = {2.0, 4.0};
  const auto q = count_populations(w, corners);
  CHECK(q.populations == 1);
  CHECK(q.point_samples == 7500);
  CHECK(q.samples == 50000);
  CHECK(q.samples_used == 42500);
  // 42500 samples of sigma 0.07: the mean's standard error is 3.4e-4, so 0.002 is > 5 of them.
  CHECK_THAT(q.population_parts[0].mean, Catch::WithinAbs(3.6, 0.002));
}

TEST_CASE("count_populations is deterministic and its max_samples path agrees", "[distribution]") {
  Gaussian gauss(7);
  std::vector<double> v;
  append_normal(v, gauss, 37500, 3.7, 0.07);
  append_normal(v, gauss, 12500, 3.0, 0.07);
  const auto a = count_populations(v);
  const auto b = count_populations(v);
  REQUIRE(a.fits.size() == b.fits.size());
  for (std::size_t k = 0; k < a.fits.size(); ++k) {
    CHECK(a.fits[k].log_likelihood == b.fits[k].log_likelihood);
    CHECK(a.fits[k].iterations == b.fits[k].iterations);
    for (std::size_t j = 0; j < a.fits[k].parts.size(); ++j) {
      CHECK(a.fits[k].parts[j].mean == b.fits[k].parts[j].mean);
      CHECK(a.fits[k].parts[j].sigma == b.fits[k].parts[j].sigma);
      CHECK(a.fits[k].parts[j].weight == b.fits[k].parts[j].weight);
    }
  }
  CHECK(a.populations == b.populations);

  MixtureOptions o;
  o.max_samples = 5000;
  const auto s = count_populations(v, o);
  CHECK(s.samples == 50000);
  CHECK(s.samples_used == 5000);
  REQUIRE(s.populations == a.populations);
  // The 5000 order statistics reproduce the empirical CDF within 1 / 5000 everywhere, so a mean
  // moves by at most (data range ~1.3) x 2e-4 = 3e-4, ~1e-3 for a 25 % component; weights and
  // sigmas likewise. 2e-3 allows for that.
  for (std::size_t j = 0; j < s.population_parts.size(); ++j) {
    CHECK_THAT(s.population_parts[j].mean, Catch::WithinAbs(a.population_parts[j].mean, 2e-3));
    CHECK_THAT(s.population_parts[j].sigma, Catch::WithinAbs(a.population_parts[j].sigma, 2e-3));
    CHECK_THAT(s.population_parts[j].weight, Catch::WithinAbs(a.population_parts[j].weight, 2e-3));
  }
}

TEST_CASE("count_populations on tiny inputs and bad options", "[distribution]") {
  const auto empty = count_populations(std::vector<double>{kNaN});
  CHECK(empty.samples == 0);
  CHECK(empty.populations == 0);
  CHECK(empty.best_components == 0);
  CHECK(empty.fits.empty());

  const auto one = count_populations(std::vector<double>{3.1});
  CHECK(one.populations == 1);
  REQUIRE(one.fits.size() == 1);
  CHECK(one.fits[0].parts[0].mean == 3.1);
  CHECK(one.fits[0].parts[0].sigma == 0.01);  // min_sigma

  // Two distinct values: at most 2 components can be fitted. Both at the sigma floor, D =
  // sqrt(2) 1 / sqrt(2e-4) = 100: two populations if BIC prefers 2 components, and for 20
  // values at two points it does (each point mass gains ~ -log(0.01) per value).
  std::vector<double> two(10, 3.0);
  two.insert(two.end(), 10, 4.0);
  const auto t = count_populations(two);
  CHECK(t.fits.size() == 2);
  CHECK(t.populations == 2);

  const std::vector<double> v = {1.0, 2.0, 3.0};
  auto bad = [&](auto change) {
    MixtureOptions o;
    change(o);
    return count_populations(v, o);
  };
  CHECK_THROWS_AS(bad([](MixtureOptions& o) { o.max_components = 0; }), OptionError);
  CHECK_THROWS_AS(bad([](MixtureOptions& o) { o.max_components = 6; }), OptionError);
  CHECK_THROWS_AS(bad([](MixtureOptions& o) { o.min_separation = -1.0; }), OptionError);
  CHECK_THROWS_AS(bad([](MixtureOptions& o) { o.min_weight = 1.0; }), OptionError);
  CHECK_THROWS_AS(bad([](MixtureOptions& o) { o.min_sigma = 0.0; }), OptionError);
  CHECK_THROWS_AS(bad([](MixtureOptions& o) { o.min_sigma = kNaN; }), OptionError);
  CHECK_THROWS_AS(bad([](MixtureOptions& o) { o.max_samples = 1; }), OptionError);
  CHECK_THROWS_AS(bad([](MixtureOptions& o) { o.max_iterations = 0; }), OptionError);
  CHECK_THROWS_AS(bad([](MixtureOptions& o) { o.tolerance = -1.0; }), OptionError);
  CHECK_NOTHROW(bad([](MixtureOptions& o) { o.max_components = 5; }));
}

// ------------------------------------------------------------------------------------------------
// ks_two_sample

TEST_CASE("ks_two_sample on identical, disjoint and tied samples", "[distribution]") {
  const std::vector<double> a = {1.0, 2.0, 3.0, 4.0, kNaN};
  const auto same = ks_two_sample(a, a);
  CHECK(same.n_a == 4);
  CHECK(same.n_b == 4);
  CHECK(same.statistic == 0.0);
  CHECK(same.p_value == 1.0);

  const std::vector<double> b = {5.0, 6.0, 7.0};
  const auto disjoint = ks_two_sample(a, b);
  CHECK(disjoint.statistic == 1.0);
  CHECK(disjoint.p_value < 0.1);

  // Ties across the samples: a = {1, 2, 2, 3}, b = {2, 2, 2, 4}. After x = 1: F_a = 1/4,
  // F_b = 0; after all the 2s: 3/4 and 3/4; after 3: 1 and 3/4; after 4: 1 and 1. D = 1/4.
  // (Stepping through the 2s of a before those of b would wrongly give |3/4 - 0| = 3/4.)
  const std::vector<double> ta = {3.0, 2.0, 1.0, 2.0};
  const std::vector<double> tb = {2.0, 4.0, 2.0, 2.0};
  CHECK(ks_two_sample(ta, tb).statistic == 0.25);
  CHECK(ks_two_sample(tb, ta).statistic == 0.25);

  const auto none = ks_two_sample(a, std::vector<double>{kNaN});
  CHECK(none.n_b == 0);
  CHECK(std::isnan(none.statistic));
  CHECK(std::isnan(none.p_value));
  CHECK(std::isnan(ks_two_sample(std::vector<double>{}, a).p_value));
}

TEST_CASE("ks_two_sample p-value against hand-computed values", "[distribution]") {
  // a = 0..19, b = 10..29: after x = 9, F_a = 10/20 and F_b = 0, so D = 0.5. ne = 20 * 20 / 40
  // = 10, lambda = (sqrt(10) + 0.12 + 0.11 / sqrt(10)) 0.5 = 1.6585313572; Q = 2 (e^(-2
  // lambda^2) - e^(-8 lambda^2) + ...) = 0.0081616786591 (the second term is 5.5e-10).
  std::vector<double> a, b;
  for (int i = 0; i < 20; ++i) {
    a.push_back(i);
    b.push_back(i + 10);
  }
  const auto t = ks_two_sample(a, b);
  CHECK(t.statistic == 0.5);
  // 1e-9 relative: the literal has 11 significant digits. Against the independent series
  // (same formula, different code path), 1e-12 relative: a few exp evaluations.
  CHECK_THAT(t.p_value, Catch::WithinRel(0.0081616786591, 1e-9));
  const double lambda = (std::sqrt(10.0) + 0.12 + 0.11 / std::sqrt(10.0)) * 0.5;
  CHECK_THAT(t.p_value, Catch::WithinRel(kolmogorov_series(lambda), 1e-12));

  // lambda < 1 takes the theta-function branch: a = 0..49, b = 8..57, D = 8/50 = 0.16, ne = 25,
  // lambda = (5 + 0.12 + 0.022) 0.16 = 0.82272, Q = 0.50765795336 (100-term series; the
  // one-term approximation 2 e^(-2 lambda^2) = 0.517 would be 2 % off).
  std::vector<double> c, d;
  for (int i = 0; i < 50; ++i) {
    c.push_back(i);
    d.push_back(i + 8);
  }
  const auto u = ks_two_sample(c, d);
  CHECK_THAT(u.statistic, Catch::WithinAbs(0.16, 1e-15));
  // 1e-10: the two branches are equal series; the difference is rounding (the alternating
  // series loses a few digits to cancellation).
  CHECK_THAT(u.p_value, Catch::WithinAbs(0.50765795336, 1e-10));
  CHECK_THAT(u.p_value, Catch::WithinAbs(kolmogorov_series(0.82272), 1e-10));
}

TEST_CASE("ks_two_sample on Gaussian samples", "[distribution]") {
  // Same distribution: seed 2024, n = 2000 each. Under H0 the p-value is uniform, so a seed has
  // a 1 % chance of p < 0.01; this seed gives D = 0.0375, p = 0.12 (deterministic: the
  // mt19937_64 sequence is fixed by the standard, Box-Muller is written above).
  Gaussian gauss(2024);
  std::vector<double> a, b;
  append_normal(a, gauss, 2000, 0.0, 1.0);
  append_normal(b, gauss, 2000, 0.0, 1.0);
  const auto same = ks_two_sample(a, b);
  CHECK(same.p_value > 0.01);

  // Shifted by 0.2 sigma: expected D = Phi(0.1) - Phi(-0.1) = 0.0797. With n = 2000 each
  // (ne = 1000, lambda = 2.53) that is only p ~ 5e-6 on average, so n = 5000 each: ne = 2500,
  // lambda = (50 + 0.12) 0.0797 = 4.0, p ~ 2 e^-32 = 2.5e-14; p < 1e-6 needs D > 0.055, 2.5
  // standard deviations of D (~0.01) below its expectation.
  std::vector<double> c, d;
  append_normal(c, gauss, 5000, 0.0, 1.0);
  append_normal(d, gauss, 5000, 0.2, 1.0);
  const auto shifted = ks_two_sample(c, d);
  CHECK(shifted.p_value < 1e-6);
  CHECK_THAT(shifted.statistic, Catch::WithinAbs(0.0797, 0.03));
}
