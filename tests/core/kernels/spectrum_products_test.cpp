// The correlation surface's kernels: the weighted cross-power row and the climb's fused pass
// give their plain versions' bits, and the fused pass the sums of the stored row in each
// instruction set's order; the row sums' versions agree to rounding.
#include "core/kernels/spectrum_products.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "support/kernel_isas.hpp"

using namespace xanesmap;

namespace {

// Two rows of n complex values, and per-column low-pass factors and squared frequencies.
struct Rows {
  std::size_t n;
  std::vector<float> a, b;
  std::vector<double> gx, fx2;
  kernels::CrossPowerRow row(bool gradient) const {
    return {a.data(), b.data(),         n, 0.875, 0.0123, gx.data(), fx2.data(),
            gradient, 39.47841760435743};
  }
};

Rows random_rows(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Rows r{n, std::vector<float>(2 * n), std::vector<float>(2 * n), std::vector<double>(n),
         std::vector<double>(n)};
  for (std::size_t i = 0; i < 2 * n; ++i)
    r.a[i] = static_cast<float>(1e3 * u(rng)), r.b[i] = static_cast<float>(1e3 * u(rng));
  for (std::size_t c = 0; c < n; ++c) {
    const double f = static_cast<double>(c) / static_cast<double>(2 * n);
    r.gx[c] = std::exp(-4.0 * f * f), r.fx2[c] = f * f;
  }
  return r;
}

// Six tables of n values (three x points' cosine and sine), and the same duplicated.
struct Tables {
  std::vector<double> single, duplicated;
  const double* single_ptr[6];
  const double* duplicated_ptr[6];
};

Tables random_tables(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-2.0, 2.0);
  Tables t{std::vector<double>(6 * n), std::vector<double>(12 * n), {}, {}};
  for (std::size_t k = 0; k < 6 * n; ++k) t.single[k] = u(rng);
  for (std::size_t g = 0; g < 6; ++g) {
    for (std::size_t k = 0; k < n; ++k)
      t.duplicated[g * 2 * n + 2 * k] = t.duplicated[g * 2 * n + 2 * k + 1] = t.single[g * n + k];
    t.single_ptr[g] = t.single.data() + g * n;
    t.duplicated_ptr[g] = t.duplicated.data() + g * 2 * n;
  }
  return t;
}

bool same_bytes(const void* a, const void* b, std::size_t bytes) {
  return std::memcmp(a, b, bytes) == 0;
}

}  // namespace

// Lengths 1..12 and 64..67 leave every tail of the 4-column vectors (and of the 8-number loop).
TEST_CASE("Every version of the weighted cross-power row gives the plain version's bits",
          "[kernels][reference]") {
  for (const std::size_t n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 64, 65, 66, 67}) {
    const Rows rows = random_rows(n, static_cast<unsigned>(n));
    for (const bool gradient : {false, true}) {
      std::vector<double> want_product(2 * n);
      std::vector<float> want(2 * n);
      kernels::plain::weighted_row(rows.row(gradient), want_product.data(), want.data());
      for (const kernels::Isa isa : test::isas_to_test()) {
        INFO("isa " << kernels::isa_name(isa) << ", n " << n << ", gradient " << gradient);
        std::vector<double> product(2 * n);
        std::vector<float> out(2 * n), alone(2 * n);
        kernels::detail::weighted_row_for(isa)(rows.row(gradient), product.data(), out.data());
        kernels::detail::weighted_row_for(isa)(rows.row(gradient), nullptr, alone.data());
        CHECK(same_bytes(product.data(), want_product.data(), 2 * n * sizeof(double)));
        CHECK(same_bytes(out.data(), want.data(), 2 * n * sizeof(float)));
        CHECK(same_bytes(alone.data(), want.data(), 2 * n * sizeof(float)));
      }
    }
  }
}

// Guards the climb's fast path: for each instruction set, its fused pass gives the bits of that
// set's weighted row followed by its row sums (<6> over the weighted values, <2> over the plain
// products), for 1-3 points, each centre, and every tail length.
TEST_CASE("Every version of the climb's fused row pass equals the stored row's sums bit for bit",
          "[kernels][reference]") {
  for (const std::size_t n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 64, 65, 66, 67}) {
    const Rows rows = random_rows(n, 100 + static_cast<unsigned>(n));
    const Tables t = random_tables(n, 200 + static_cast<unsigned>(n));
    for (const kernels::Isa isa : test::isas_to_test())
      for (const bool gradient : {false, true}) {
        std::vector<double> product(2 * n);
        std::vector<float> weighted(2 * n);
        kernels::detail::weighted_row_for(isa)(rows.row(gradient), product.data(), weighted.data());
        double want_even[6], want_odd[6];
        kernels::detail::spectrum_row_sums_for<6, float>(isa)(
            weighted.data(), 2 * n, t.duplicated_ptr, want_even, want_odd);
        for (int points = 1; points <= 3; ++points)
          for (int centre = 0; centre < points; ++centre) {
            INFO("isa " << kernels::isa_name(isa) << ", n " << n << ", gradient " << gradient
                        << ", points " << points << ", centre " << centre);
            double want_plain_even[2], want_plain_odd[2];
            const double* centre_tables[2] = {t.duplicated_ptr[2 * centre],
                                              t.duplicated_ptr[2 * centre + 1]};
            kernels::detail::spectrum_row_sums_for<2, double>(isa)(
                product.data(), 2 * n, centre_tables, want_plain_even, want_plain_odd);
            double even[6], odd[6], plain_even[2], plain_odd[2];
            kernels::detail::climb_row_sums_for(isa)(rows.row(gradient), t.single_ptr, points,
                                                     centre, even, odd, plain_even, plain_odd);
            const auto tables = static_cast<std::size_t>(2 * points);
            CHECK(same_bytes(even, want_even, tables * sizeof(double)));
            CHECK(same_bytes(odd, want_odd, tables * sizeof(double)));
            CHECK(same_bytes(plain_even, want_plain_even, sizeof plain_even));
            CHECK(same_bytes(plain_odd, want_plain_odd, sizeof plain_odd));
          }
      }
  }
}

// The row sums' versions add in different orders (two-double against four-double lanes), so
// they agree to rounding only: each sum of m products p_k is within (m - 1) u sum |p_k| of the
// exact one (u = 2^-53, any order of additions; Higham, Accuracy and Stability of Numerical
// Algorithms, 2nd ed., eq. 4.4), so two versions within twice that.
TEST_CASE("The row sums' versions agree to rounding", "[kernels][reference]") {
  for (const std::size_t n : {1, 2, 3, 4, 5, 64, 65, 66, 67, 1025}) {
    const Rows rows = random_rows(n, 300 + static_cast<unsigned>(n));
    const Tables t = random_tables(n, 400 + static_cast<unsigned>(n));
    double want_even[6], want_odd[6];
    kernels::plain::spectrum_row_sums<6, float>(rows.a.data(), 2 * n, t.duplicated_ptr, want_even,
                                                want_odd);
    for (const kernels::Isa isa : test::isas_to_test()) {
      double even[6], odd[6];
      kernels::detail::spectrum_row_sums_for<6, float>(isa)(rows.a.data(), 2 * n, t.duplicated_ptr,
                                                            even, odd);
      for (std::size_t g = 0; g < 6; ++g) {
        double abs_even = 0.0, abs_odd = 0.0;
        for (std::size_t k = 0; k < n; ++k) {
          abs_even += std::abs(static_cast<double>(rows.a[2 * k]) * t.single[g * n + k]);
          abs_odd += std::abs(static_cast<double>(rows.a[2 * k + 1]) * t.single[g * n + k]);
        }
        const double bound =
            2.0 * static_cast<double>(n) * std::numeric_limits<double>::epsilon() / 2.0;
        INFO("isa " << kernels::isa_name(isa) << ", n " << n << ", table " << g);
        CHECK(std::abs(even[g] - want_even[g]) <= bound * abs_even);
        CHECK(std::abs(odd[g] - want_odd[g]) <= bound * abs_odd);
      }
    }
  }
}
