#include "core/spectral/lcf_noise.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

using namespace xanesmap;

TEST_CASE("LCF noise propagation: a known variance", "[lcf_noise]") {
  // One reference, c = 1, M = 1 at every point, step 2: w_j = 0.5; sigma 3 on the 10 pre-edge
  // points and 1 on the other 30: variance = 10 * 9 * 0.25 + 30 * 0.25 = 30. Every value is a
  // small binary fraction, so the sums are exact and the comparison can be.
  const std::vector<double> noise_map(40, 1.0);
  const LcfNoiseModel model{noise_map, 1, 40, 0, 10};
  LcfNoisePixel pixel;
  pixel.gradient[0] = 1.0, pixel.edge_step_od = 2.0, pixel.pre_noise_od = 3.0,
  pixel.fit_noise_od = 1.0;
  CHECK(lcf_valence_variance(model, pixel) == 30.0);
  const std::vector<LcfNoisePixel> five(5, pixel);
  std::vector<double> variance(5);
  lcf_valence_variances(model, five, variance);
  for (const double v : variance) CHECK(v == 30.0);
}

TEST_CASE("Batched LCF variances refuse inconsistent inputs", "[lcf_noise]") {
  const std::vector<double> noise_map(10, 1.0);
  const std::vector<LcfNoisePixel> pixels(2);
  std::vector<double> variance(1);
  CHECK_THROWS_AS(lcf_valence_variances({noise_map, 1, 10, 0, 2}, pixels, variance),
                  std::invalid_argument);
  variance.resize(2);
  CHECK_THROWS_AS(lcf_valence_variances({noise_map, 2, 10, 0, 2}, pixels, variance),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      lcf_valence_variances({noise_map, kMaxLcfReferences + 1, 1, 0, 0}, pixels, variance),
      std::invalid_argument);
}
