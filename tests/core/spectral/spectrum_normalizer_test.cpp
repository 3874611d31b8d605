#include "core/spectral/spectrum_normalizer.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "core/base/error.hpp"

using namespace xanesmap;

namespace {
std::vector<double> grid() {
  std::vector<double> g;
  for (double e = 6450; e < 6530; e += 5) g.push_back(e);
  for (double e = 6530; e < 6570; e += 0.5) g.push_back(e);
  for (double e = 6570; e <= 6700; e += 10) g.push_back(e);
  return g;
}
}  // namespace

TEST_CASE("The per-pixel normalizer matches the single-spectrum routine", "[normalizer]") {
  const auto e = grid();
  std::vector<double> mu;
  for (const double x : e) {
    const double t = x - 6552.0;
    mu.push_back(0.3 - 0.0005 * t +
                 0.7 * 0.5 * (1.0 + std::erf(t / 2.0)) * (1.0 - 0.0003 * std::max(t, 0.0)));
  }
  NormalizationOptions options;
  const auto reference = normalize_spectrum(e, mu, options, 6552.0);
  const SpectrumNormalizer normalizer(e, 6552.0, options);
  std::vector<double> out(e.size());
  const auto r = normalizer(mu, out);
  // One implementation of the maths: normalize_spectrum applies a SpectrumNormalizer, so the
  // results are the same bits (flattened: options.flatten is true by default).
  CHECK(r.edge_step == reference.edge_step);
  for (std::size_t i = 0; i < e.size(); ++i) CHECK(out[i] == reference.flattened[i]);
  options.flatten = false;
  const auto r_plain = SpectrumNormalizer(e, 6552.0, options)(mu, out);
  CHECK(r_plain.edge_step == reference.edge_step);
  for (std::size_t i = 0; i < e.size(); ++i) CHECK(out[i] == reference.normalized[i]);
  // A noise-free line: the pre-edge residual is only rounding.
  CHECK(r.pre_edge_rms < 1e-9);
}

TEST_CASE("Pre-edge noise is estimated from the line's residual", "[normalizer]") {
  std::vector<double> e, mu;
  for (int i = 0; i < 80; ++i) {  // 6450-6608 eV every 2 eV
    e.push_back(6450.0 + 2.0 * i);
    mu.push_back((i % 2 ? 0.01 : -0.01) + (e.back() > 6552 ? 1.0 : 0.0));
  }
  NormalizationOptions options;
  options.post_edge_order = 1;
  options.post_edge_ev = {10.0, 30.0};
  const SpectrumNormalizer normalizer(e, 6552.0, options);
  std::vector<double> out(e.size());
  const auto r = normalizer(mu, out);
  // Alternating +-0.01 about a line: RMS residual 0.01, slightly inflated by n/(n-2).
  CHECK_THAT(r.pre_edge_rms, Catch::WithinRel(0.01, 0.08));
}

TEST_CASE("Too few energies in a window is an error naming the window", "[normalizer][bad]") {
  std::vector<double> e;
  for (double x = 6540; x <= 6700; x += 1.0) e.push_back(x);
  NormalizationOptions options;
  CHECK_THROWS_WITH(SpectrumNormalizer(e, 6552.0, options),
                    Catch::Contains("pre-edge window") && Catch::Contains("holds 0"));
  std::vector<double> sparse{6400, 6450, 6500, 6520, 6530, 6550, 6560, 6600, 6700};
  options.post_edge_order = 2;  // a quadratic plus one degree of freedom: 4 points
  CHECK_THROWS_WITH(SpectrumNormalizer(sparse, 6552.0, options),
                    Catch::Contains("post-edge window") && Catch::Contains("needs at least 4"));
}

// Guards the batched fits of the per-pixel pass: fit_columns reads spectra frame-major, as the
// stack stores them, and must give each spectrum exactly (bit for bit) what fit() gives it; 600
// spectra span three of its column tiles (256, 256 and 88).
TEST_CASE("Frame-major fits of many spectra equal the one-spectrum fits",
          "[normalizer][reference]") {
  const auto e = grid();
  for (const std::size_t count : {std::size_t{37}, std::size_t{600}})
    for (const int order : {1, 2}) {
      NormalizationOptions options;
      options.post_edge_order = order;
      const SpectrumNormalizer normalizer(e, 6552.0, options);
      const std::size_t n = e.size();
      std::vector<float> values(n * count);  // value i of spectrum c at [i * count + c]
      for (std::size_t c = 0; c < count; ++c)
        for (std::size_t i = 0; i < n; ++i) {
          const double t =
              e[i] - 6552.0 + 0.3 * static_cast<double>(c % 37);  // edges inside the grid
          values[i * count + c] = static_cast<float>(
              0.1 * static_cast<double>(c % 5) - 0.0004 * t + 0.5 * (1.0 + std::erf(t / 2.0)) +
              0.01 * std::sin(7.0 * static_cast<double>(i + c)));
        }
      std::vector<SpectrumNormalizer::Fit> fits(count);
      normalizer.fit_columns(values.data(), count, fits);
      for (std::size_t c = 0; c < count; ++c) {
        std::vector<double> mu(n);
        for (std::size_t i = 0; i < n; ++i) mu[i] = values[i * count + c];
        const SpectrumNormalizer::Fit f = normalizer.fit(mu);
        CHECK(fits[c].pre_intercept == f.pre_intercept);
        CHECK(fits[c].pre_slope == f.pre_slope);
        CHECK(fits[c].post == f.post);
        CHECK(fits[c].result.edge_step == f.result.edge_step);
        CHECK(fits[c].result.pre_edge_rms == f.result.pre_edge_rms);
        CHECK(fits[c].result.edge_step_sigma == f.result.edge_step_sigma);
        // apply() with the fit normalizes as operator() does.
        std::vector<double> a(n), b(n);
        normalizer.apply(fits[c], mu, a);
        normalizer(mu, b);
        CHECK(a == b);
      }
    }
}

// apply() runs as two branch-free loops split at e0 (AVX2 or plain, chosen at run time); the
// straightforward per-point loop with the x >= 0 test is the reference, bit for bit. e0 is put
// between grid points, on one, below the grid and above it, so the split falls everywhere.
TEST_CASE("Normalization of a spectrum equals the per-point formula bit for bit",
          "[normalizer][reference]") {
  const auto e = grid();
  const std::size_t n = e.size();
  for (const double e0 : {6552.0, e[40], e[41] + 0.3, e.front() - 1.0, e.back() + 1.0})
    for (const bool flatten : {true, false}) {
      NormalizationOptions options;
      options.flatten = flatten;
      // Windows relative to e0 that stay on the grid for every e0 above.
      options.pre_edge_ev = {-(e0 - e.front()) + 1.0, -(e0 - e.front()) + 60.0};
      options.post_edge_ev = {e.back() - e0 - 120.0, e.back() - e0 - 1.0};
      const SpectrumNormalizer normalizer(e, e0, options);
      std::vector<double> mu(n), got(n);
      for (std::size_t i = 0; i < n; ++i)
        mu[i] = 0.2 + 0.5 * (1.0 + std::erf((e[i] - 6552.0) / 3.0)) +
                0.01 * std::sin(3.0 * static_cast<double>(i));
      const SpectrumNormalizer::Fit f = normalizer.fit(mu);
      REQUIRE(f.result.edge_step > 0.0);
      normalizer.apply(f, mu, got);
      const double inv_step = 1.0 / f.result.edge_step;
      for (std::size_t i = 0; i < n; ++i) {
        const double x = e[i] - e0;
        const double pre = f.pre_intercept + f.pre_slope * x;
        double want = (mu[i] - pre) * inv_step;
        if (flatten && x >= 0.0) {
          const double post = f.post[0] + x * (f.post[1] + x * f.post[2]);
          want -= (post - pre) * inv_step - 1.0;
        }
        CHECK(got[i] == want);
      }
    }
}

TEST_CASE("Normalization refuses energies that do not increase", "[normalizer]") {
  auto e = grid();
  std::swap(e[10], e[11]);
  CHECK_THROWS_WITH(SpectrumNormalizer(e, 6552.0, NormalizationOptions{}),
                    Catch::Contains("strictly increasing") && Catch::Contains("point 11"));
  e = grid();
  e[20] = e[19];
  CHECK_THROWS_AS(SpectrumNormalizer(e, 6552.0, NormalizationOptions{}), InputError);
}
