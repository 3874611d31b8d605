// The batched LCF noise propagation: every version gives the one-pixel function's bits.
#include "core/kernels/lcf_variance.hpp"

#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "support/kernel_isas.hpp"

using namespace xanesmap;

// The AVX2 version runs four pixels per vector and the rest one at a time; each lane must do the
// one-pixel function's operations in its order, so any reordering of the products or sums shows
// in the last bits of some of these random values.
TEST_CASE("Every version of the batched LCF variances is the one-pixel formula bit for bit",
          "[kernels][reference]") {
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
      p.edge_step_od = positive(rng), p.pre_noise_od = 0.1 * positive(rng),
      p.fit_noise_od = 0.1 * positive(rng);
    }
    auto check = [&](const std::vector<double>& variance) {
      for (std::size_t i = 0; i < pixels.size(); ++i) {
        const double one = lcf_valence_variance(model, pixels[i]);
        CHECK(std::bit_cast<std::uint64_t>(variance[i]) == std::bit_cast<std::uint64_t>(one));
        ++compared;
      }
    };
    for (const kernels::Isa isa : test::isas_to_test()) {
      INFO("isa " << kernels::isa_name(isa) << ", references " << k);
      std::vector<double> variance(pixels.size());
      kernels::detail::lcf_valence_variances_for(isa)(model, pixels, variance);
      check(variance);
    }
    std::vector<double> variance(pixels.size());
    kernels::lcf_valence_variances(model, pixels, variance);
    check(variance);
  }
  CHECK(compared == kMaxLcfReferences * 23 * (test::isas_to_test().size() + 1));
}
