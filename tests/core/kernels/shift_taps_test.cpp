// The cubic shift's row kernels: every version gives the plain version's bits.
#include "core/kernels/shift_taps.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "support/kernel_isas.hpp"

using namespace xanesmap;

namespace {

// Values with NaN, +-inf and the largest floats among ordinary ones, so that the bounds, the
// clamp and the marks meet every case.
std::vector<float> row_values(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-100.0f, 100.0f);
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = u(rng);
    if (i % 29 == 5) v[i] = std::numeric_limits<float>::quiet_NaN();
    if (i % 31 == 7) v[i] = std::numeric_limits<float>::infinity();
    if (i % 37 == 9) v[i] = -std::numeric_limits<float>::max();
    if (i % 41 == 11) v[i] = std::numeric_limits<float>::max();
  }
  return v;
}

bool same_bytes(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

// Lengths 0..70 and 1000 leave every vector tail of 4, 8 and 16 floats.
TEST_CASE("Every version of the shift's row filters gives the plain version's bits",
          "[kernels][reference]") {
  const std::vector<float> src = row_values(1003, 1);
  const float weights[4] = {-0.0703125f, 0.8671875f, 0.2265625f, -0.0234375f};  // Keys at t = 0.25
  for (const kernels::Isa isa : test::isas_to_test()) {
    INFO("isa " << kernels::isa_name(isa));
    const auto cubic = kernels::detail::cubic_row_for(isa);
    const auto copy = kernels::detail::copy_row_for(isa);
    std::vector<std::size_t> lengths(71);
    for (std::size_t n = 0; n < lengths.size(); ++n) lengths[n] = n;
    lengths.push_back(1000);
    for (const std::size_t n : lengths) {
      INFO("n " << n);
      std::vector<float> d(n), lo(n), hi(n), pd(n), plo(n), phi(n);
      cubic(src.data(), n, weights, d.data(), lo.data(), hi.data());
      kernels::plain::cubic_row(src.data(), n, weights, pd.data(), plo.data(), phi.data());
      CHECK((same_bytes(d, pd) && same_bytes(lo, plo) && same_bytes(hi, phi)));
      copy(src.data() + 1, n, d.data(), lo.data(), hi.data());
      kernels::plain::copy_row(src.data() + 1, n, pd.data(), plo.data(), phi.data());
      CHECK((same_bytes(d, pd) && same_bytes(lo, plo) && same_bytes(hi, phi)));
    }
  }
  // The dispatched versions, with a row to request ahead.
  const std::size_t n = 1000;
  std::vector<float> d(n), lo(n), hi(n), pd(n), plo(n), phi(n);
  kernels::cubic_row(src.data(), n, weights, d.data(), lo.data(), hi.data(),
                     {src.data(), src.size()});
  kernels::plain::cubic_row(src.data(), n, weights, pd.data(), plo.data(), phi.data());
  CHECK((same_bytes(d, pd) && same_bytes(lo, plo) && same_bytes(hi, phi)));
}

TEST_CASE("Every version of the shift's row combination gives the plain version's bits",
          "[kernels][reference]") {
  const std::size_t w = 1000;
  const std::vector<float> f0 = row_values(w, 2), f1 = row_values(w, 3), f2 = row_values(w, 4),
                           f3 = row_values(w, 5);
  std::vector<float> low0 = row_values(w, 6), low1 = row_values(w, 7), high0 = low0, high1 = low1;
  for (std::size_t c = 0; c < w; ++c)
    high0[c] += 10.0f, high1[c] += 3.0f;  // ordinary bounds mostly
  const float* f[4] = {f0.data(), f1.data(), f2.data(), f3.data()};
  const float weights[4] = {-0.0703125f, 0.8671875f, 0.2265625f, -0.0234375f};
  for (const kernels::Isa isa : test::isas_to_test()) {
    const auto combine = kernels::detail::combine_rows_for(isa);
    const auto mark = kernels::detail::mark_not_finite_for(isa);
    for (const int count : {1, 2, 4})
      for (const std::size_t n :
           {std::size_t{0}, std::size_t{3}, std::size_t{17}, std::size_t{63}, w}) {
        INFO("isa " << kernels::isa_name(isa) << ", taps " << count << ", n " << n);
        std::vector<float> out(n), want(n);
        std::vector<std::uint8_t> marks(n, 0), want_marks(n, 0);
        for (std::size_t c = 0; c < n; c += 5)
          marks[c] = want_marks[c] = 1;  // ORed into, not overwritten
        combine(f, count, weights, low0.data(), low1.data(), high0.data(), high1.data(), n,
                out.data(), marks.data());
        kernels::plain::combine_rows(f, count, weights, low0.data(), low1.data(), high0.data(),
                                     high1.data(), n, want.data(), want_marks.data());
        CHECK(same_bytes(out, want));
        CHECK(marks == want_marks);
        std::vector<std::uint8_t> m(n, 0), want_m(n, 0);
        mark(f0.data(), n, m.data());
        kernels::plain::mark_not_finite(f0.data(), n, want_m.data());
        CHECK(m == want_m);
      }
  }
}
