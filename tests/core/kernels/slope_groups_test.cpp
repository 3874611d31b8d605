// The edge finder's four-slope kernel: every version is four separate dot products, bit for bit.
#include "core/kernels/slope_groups.hpp"

#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "support/kernel_isas.hpp"

using namespace xanesmap;

TEST_CASE("Every version of the four-slope sum is four dot products bit for bit",
          "[kernels][reference]") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (const std::size_t count :
       {std::size_t{1}, std::size_t{3}, std::size_t{5}, std::size_t{9}, std::size_t{40}}) {
    std::vector<double> w(4 * count), y(count + 3);
    for (double& v : w) v = u(rng);
    for (double& v : y) v = 1e3 * u(rng);
    double want[4];
    for (std::size_t q = 0; q < 4; ++q) {
      double sum = 0.0;
      for (std::size_t j = 0; j < count; ++j) sum += w[4 * j + q] * y[q + j];
      want[q] = sum;
    }
    auto check = [&](const double* got) {
      for (std::size_t q = 0; q < 4; ++q)
        CHECK(std::bit_cast<std::uint64_t>(got[q]) == std::bit_cast<std::uint64_t>(want[q]));
    };
    for (const kernels::Isa isa : test::isas_to_test()) {
      INFO("isa " << kernels::isa_name(isa) << ", count " << count);
      double got[4];
      kernels::detail::four_slopes_for(isa)(w.data(), y.data(), count, got);
      check(got);
    }
    double got[4];
    kernels::four_slopes(w.data(), y.data(), count, got);
    check(got);
  }
}
