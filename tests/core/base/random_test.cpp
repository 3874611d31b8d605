#include "core/base/random.hpp"

#include <catch2/catch.hpp>
#include <cmath>

using namespace xanesmap;

TEST_CASE("Random streams are deterministic and keyed", "[random]") {
  Random a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4};
  for (int i = 0; i < 5; ++i) {
    const auto va = a.next_u64();
    CHECK(va == b.next_u64());
    CHECK(va != c.next_u64());
  }
}

TEST_CASE("Deviates have the right mean and variance", "[random]") {
  // n = 200000 draws: the standard error of a mean is sigma/sqrt(n) ~ 0.0022 sigma and of a
  // variance ~ sqrt(2/n) ~ 0.32 % of it; tolerances are ~5 standard errors.
  const int n = 200000;
  for (const double mean : {0.5, 4.0, 30.0, 20000.0}) {
    Random rng{42, static_cast<std::uint64_t>(mean * 10)};
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
      const double k = static_cast<double>(rng.poisson(mean));
      sum += k, sum2 += k * k;
    }
    const double m = sum / n, var = sum2 / n - m * m;
    INFO("Poisson mean " << mean);
    CHECK_THAT(m, Catch::WithinAbs(mean, 5.0 * std::sqrt(mean / n)));
    CHECK_THAT(var, Catch::WithinRel(mean, 0.02));
  }
  Random rng{7};
  double sum = 0, sum2 = 0, uniform_sum = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    sum += z, sum2 += z * z;
    uniform_sum += rng.uniform();
  }
  CHECK_THAT(sum / n, Catch::WithinAbs(0.0, 0.012));
  CHECK_THAT(sum2 / n, Catch::WithinAbs(1.0, 0.016));
  CHECK_THAT(uniform_sum / n, Catch::WithinAbs(0.5, 0.0035));
}
