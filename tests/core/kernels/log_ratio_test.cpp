// Optical density's row kernels: every version gives the plain version's bits.
#include "core/kernels/log_ratio.hpp"

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "support/kernel_isas.hpp"

using namespace xanesmap;

// Guards the logarithm's vector versions (AVX-512 or AVX2: four vectors interleaved, then a
// tail; or the plain loop): each value is kernels::minus_log of its ratio, bit for bit, on rows
// of 10007 values (156 blocks of 64 or 312 of 32, and a tail of 23) and every length up to 200,
// with ratios spread over about 1e-30 .. 1e30.
TEST_CASE("Every version of the OD logarithm row is minus_log bit for bit",
          "[kernels][reference]") {
  const std::size_t w = 10007;
  std::vector<float> ratio(w);
  for (std::size_t c = 0; c < w; ++c) {
    const double t = static_cast<double>(c) / static_cast<double>(w - 1);  // 0..1
    ratio[c] = static_cast<float>(std::pow(10.0, -30.0 + 60.0 * std::fmod(7.0 * t, 1.0)));
  }
  for (const kernels::Isa isa : test::isas_to_test()) {
    INFO("isa " << kernels::isa_name(isa));
    const auto log_row = kernels::detail::minus_log_row_for(isa);
    std::vector<float> od(w, -1.0f);
    log_row(ratio.data(), od.data(), w);
    std::size_t wrong = 0;
    for (std::size_t c = 0; c < w; ++c)
      wrong += std::bit_cast<std::uint32_t>(od[c]) !=
               std::bit_cast<std::uint32_t>(kernels::minus_log(ratio[c]));
    CHECK(wrong == 0);
    for (std::size_t n = 0; n <= 200; ++n) {
      std::vector<float> short_row(n + 1, -1.0f);
      log_row(ratio.data() + 3, short_row.data(), n);
      for (std::size_t c = 0; c < n; ++c)
        wrong += std::bit_cast<std::uint32_t>(short_row[c]) !=
                 std::bit_cast<std::uint32_t>(kernels::minus_log(ratio[3 + c]));
      wrong += short_row[n] != -1.0f;  // nothing written past the end
    }
    CHECK(wrong == 0);
  }
  std::vector<float> a(w), b(w);
  kernels::minus_log_row(ratio.data(), a.data(), w);
  kernels::plain::minus_log_row(ratio.data(), b.data(), w);
  CHECK(std::memcmp(a.data(), b.data(), w * sizeof(float)) == 0);
}

namespace {

// Every combination of ordinary, saturated, at-dark, zero, huge, tiny, negative, infinite and
// NaN sample, flat and dark values (one per column), as float and (where representable) uint16
// flats.
struct RatioInputs {
  std::vector<float> sample, flat, dark;
  std::vector<std::uint16_t> flat16;
};

RatioInputs ratio_inputs() {
  const float nan = std::numeric_limits<float>::quiet_NaN(),
              inf = std::numeric_limits<float>::infinity();
  const std::vector<float> kinds = {1500.0f,  200.0f,
                                    100.0f,   100.0f + 1e-3f,
                                    0.0f,     -5.0f,
                                    65535.0f, 70000.0f,
                                    3e38f,    std::numeric_limits<float>::max(),
                                    -3e38f,   std::numeric_limits<float>::denorm_min(),
                                    1e-30f,   inf,
                                    -inf,     nan};
  RatioInputs in;
  for (const float s : kinds)
    for (const float f : kinds)
      for (const float d : kinds) {
        in.sample.push_back(s), in.flat.push_back(f), in.dark.push_back(d);
        in.flat16.push_back(static_cast<std::uint16_t>(
            std::isfinite(f) && f >= 0.0f && f <= 65535.0f ? f : 1234.0f));
      }
  return in;
}

template <typename Flat>
void check_ratio_versions(const RatioInputs& in, const std::vector<Flat>& flat, float saturation) {
  const std::size_t w = in.sample.size();
  std::vector<float> want_q(w);
  std::vector<std::uint8_t> want_slow(w);
  const unsigned want_any =
      kernels::plain::od_ratio_row(in.sample.data(), flat.data(), in.dark.data(), w, saturation,
                                   want_q.data(), want_slow.data());
  CHECK(want_any != 0);
  auto check = [&](auto&& ratio_row) {
    // Offsets and lengths that leave every kind of vector tail.
    for (const std::size_t begin : {std::size_t{0}, std::size_t{5}})
      for (const std::size_t n : {w - begin, std::size_t{37}, std::size_t{300}}) {
        std::vector<float> q(n);
        std::vector<std::uint8_t> slow(n);
        const unsigned any =
            ratio_row(in.sample.data() + begin, flat.data() + begin, in.dark.data() + begin, n,
                      saturation, q.data(), slow.data());
        unsigned want = 0;
        for (std::size_t c = 0; c < n; ++c) want |= want_slow[begin + c];
        CHECK((any != 0) == (want != 0));
        CHECK(std::memcmp(q.data(), want_q.data() + begin, n * sizeof(float)) == 0);
        CHECK(std::memcmp(slow.data(), want_slow.data() + begin, n) == 0);
      }
  };
  for (const kernels::Isa isa : test::isas_to_test()) {
    INFO("isa " << kernels::isa_name(isa) << ", saturation " << saturation);
    check(kernels::detail::od_ratio_row_for<Flat>(isa));
  }
  INFO("dispatched, in runs with cache hints");
  check([](auto... args) { return kernels::od_ratio_row(args...); });
}

}  // namespace

// Guards the fast pass's test and ratio: each version sends the same values to the exact path
// and computes the same ratios for the others, bit for bit, for float and uint16 flats, with and
// without a saturation level (without one, +inf must still fail "< saturation").
TEST_CASE("Every version of the OD ratio row gives the plain version's values",
          "[kernels][reference]") {
  const RatioInputs in = ratio_inputs();
  for (const float saturation : {65535.0f, std::numeric_limits<float>::infinity()}) {
    check_ratio_versions(in, in.flat, saturation);
    check_ratio_versions(in, in.flat16, saturation);
  }
}
