#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <stdexcept>
#include <random>
#include <vector>

#include "core/kernels/cpu_features.hpp"
#include "core/spectral/lcf_noise.hpp"

using namespace xanesmap;

TEST_CASE("LCF noise propagation: a known variance", "[lcf_noise]") {
  // One reference, c = 1, M = 1 at every point, step 2: w_j = 0.5; sigma 3 on the 10 pre-edge
  // points and 1 on the other 30: variance = 10 * 9 * 0.25 + 30 * 0.25 = 30. Every value is a
  // small binary fraction, so the sums are exact and the comparison can be.
  const std::vector<double> noise_map(40, 1.0);
  const LcfNoiseModel model{noise_map, 1, 40, 0, 10};
  LcfNoisePixel pixel;
  pixel.gradient[0] = 1.0, pixel.edge_step_od = 2.0, pixel.pre_noise_od = 3.0, pixel.fit_noise_od = 1.0;
  CHECK(lcf_valence_variance(model, pixel) == 30.0);
  const std::vector<LcfNoisePixel> five(5, pixel);
  std::vector<double> variance(5);
  lcf_valence_variances(model, five, variance);
  for (const double v : variance) CHECK(v == 30.0);
}

TEST_CASE("Batched LCF variances equal the one-pixel formula bit for bit", "[lcf_noise][reference]") {
  // The batch runs four pixels per AVX2 vector and the rest one at a time; each lane must do the
  // one-pixel function's operations in its order, so any reordering of the products or sums
  // shows in the last bits of some of these random values.
  if (!has_avx2()) WARN("no AVX2 (or XANESMAP_NO_AVX2 set): the batch runs the one-pixel function, compared with itself");
  std::mt19937_64 rng(6);
  std::uniform_real_distribution<double> u(-1.0, 1.0), positive(0.01, 2.0);
  std::size_t compared = 0;
  for (std::size_t k = 1; k <= kMaxLcfReferences; ++k) {
    const std::size_t n = 97;
    std::vector<double> noise_map(k * n);
    for (double& m : noise_map) m = u(rng);
    const LcfNoiseModel model{noise_map, k, n, 3, 31};
    std::vector<LcfNoisePixel> pixels(4 * 5 + 3);  // a leftover of 3 after the vectors
    for (auto& p : pixels) {
      for (std::size_t kk = 0; kk < k; ++kk) p.gradient[kk] = 3.0 * u(rng);
      p.edge_step_od = positive(rng), p.pre_noise_od = 0.1 * positive(rng), p.fit_noise_od = 0.1 * positive(rng);
    }
    std::vector<double> variance(pixels.size());
    lcf_valence_variances(model, pixels, variance);
    for (std::size_t i = 0; i < pixels.size(); ++i) {
      const double one = lcf_valence_variance(model, pixels[i]);
      CHECK(std::bit_cast<std::uint64_t>(variance[i]) == std::bit_cast<std::uint64_t>(one));
      ++compared;
    }
  }
  CHECK(compared == kMaxLcfReferences * 23);
}

TEST_CASE("Batched LCF variances refuse inconsistent inputs", "[lcf_noise]") {
  const std::vector<double> noise_map(10, 1.0);
  const std::vector<LcfNoisePixel> pixels(2);
  std::vector<double> variance(1);
  CHECK_THROWS_AS(lcf_valence_variances({noise_map, 1, 10, 0, 2}, pixels, variance), std::invalid_argument);
  variance.resize(2);
  CHECK_THROWS_AS(lcf_valence_variances({noise_map, 2, 10, 0, 2}, pixels, variance), std::invalid_argument);
  CHECK_THROWS_AS(lcf_valence_variances({noise_map, kMaxLcfReferences + 1, 1, 0, 0}, pixels, variance),
                  std::invalid_argument);
}
