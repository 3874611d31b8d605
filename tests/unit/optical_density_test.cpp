#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/error.hpp"
#include "core/optical_density.hpp"

using namespace xanesmap;

namespace {
RawStack make_raw(std::vector<float> sample, std::vector<Image<float>> flats, Image<float> dark,
                  std::optional<double> saturation = 65535.0, std::size_t energies = 2) {
  std::vector<double> e;
  for (std::size_t i = 0; i < energies; ++i) e.push_back(6500.0 + static_cast<double>(i));
  const std::size_t h = 1, w = sample.size() / energies;
  return RawStack(EnergyStack(e, h, w, std::move(sample)), std::move(flats), std::move(dark), saturation);
}
}  // namespace

TEST_CASE("OD follows Beer-Lambert with per-energy flats and a dark", "[od]") {
  // Two energies, 1x2 pixels.
  Image<float> dark(1, 2, 100.0f);
  std::vector<Image<float>> flats{Image<float>(1, 2, 2100.0f), Image<float>(1, 2, 1100.0f)};
  auto raw = make_raw({1100.0f, 600.0f, 600.0f, 350.0f}, flats, dark);
  const auto result = compute_optical_density(raw);
  // Expected: -ln((I - D) / (F - D)); float arithmetic: 1e-6 absolute is ~10 float ulps at OD~1.
  CHECK_THAT(result.od.frame(0)(0, 0), Catch::WithinAbs(-std::log(1000.0 / 2000.0), 1e-6));
  CHECK_THAT(result.od.frame(0)(0, 1), Catch::WithinAbs(-std::log(500.0 / 2000.0), 1e-6));
  CHECK_THAT(result.od.frame(1)(0, 0), Catch::WithinAbs(-std::log(500.0 / 1000.0), 1e-6));
  CHECK_THAT(result.od.frame(1)(0, 1), Catch::WithinAbs(-std::log(250.0 / 1000.0), 1e-6));
  CHECK(result.invalid_pixels == 0);
}

TEST_CASE("A single flat is used for every energy; no dark means zero", "[od]") {
  std::vector<Image<float>> flats{Image<float>(1, 1, 1000.0f)};
  auto raw = make_raw({500.0f, 250.0f}, flats, Image<float>());
  const auto result = compute_optical_density(raw);
  CHECK_THAT(result.od.frame(0)(0, 0), Catch::WithinAbs(std::log(2.0), 1e-6));
  CHECK_THAT(result.od.frame(1)(0, 0), Catch::WithinAbs(std::log(4.0), 1e-6));
}

TEST_CASE("Invalid values are NaN, flagged per pixel and counted, never clipped", "[od]") {
  // Pixels: 0 sample below dark at e0; 1 flat at dark; 2 saturated sample at e1; 3 NaN; 4 fine.
  Image<float> dark(1, 5, 100.0f);
  Image<float> flat(1, 5, 1000.0f);
  flat(0, 1) = 100.0f;
  std::vector<float> sample{90.0f, 500.0f, 500.0f, NAN, 500.0f,   // e0
                            500.0f, 500.0f, 65535.0f, 500.0f, 500.0f};  // e1
  auto raw = make_raw(sample, {flat}, dark, 65535.0);
  const auto r = compute_optical_density(raw);
  CHECK(std::isnan(r.od.frame(0)(0, 0)));
  CHECK_FALSE(std::isnan(r.od.frame(1)(0, 0)));
  CHECK(r.flags(0, 0) == od_sample_not_above_dark);
  CHECK(r.flags(0, 1) == od_flat_not_above_dark);
  CHECK(r.flags(0, 2) == od_saturated);
  CHECK(std::isnan(r.od.frame(1)(0, 2)));
  CHECK_FALSE(std::isnan(r.od.frame(0)(0, 2)));
  CHECK(r.flags(0, 3) == od_not_finite);
  CHECK(r.flags(0, 4) == 0);
  CHECK(r.invalid_pixels == 4);
  CHECK(r.pixels_by_flag == std::array<std::size_t, 5>{1, 1, 1, 1, 0});
  CHECK(r.invalid_per_energy == std::vector<std::size_t>{3, 2});
}

TEST_CASE("Saturation can be set for float data and must be positive", "[od]") {
  std::vector<Image<float>> flats{Image<float>(1, 1, 1000.0f)};
  auto raw = make_raw({900.0f, 500.0f}, flats, Image<float>(), std::nullopt);
  OpticalDensityOptions options;
  options.saturation_counts = 800.0;
  const auto r = compute_optical_density(raw, options);
  CHECK(r.flags(0, 0) == od_saturated);  // the flat (1000) is above 800 too
  options.saturation_counts = -1.0;
  CHECK_THROWS_AS(compute_optical_density(raw, options), OptionError);
}

TEST_CASE("RawStack refuses flats and darks of the wrong size or count", "[od]") {
  EnergyStack counts({6500.0, 6501.0, 6502.0}, 2, 2, std::vector<float>(12, 1.0f));
  CHECK_THROWS_WITH(RawStack(counts, {Image<float>(2, 3)}, Image<float>(), 65535.0),
                    Catch::Contains("flat field 0 is 2x3 but the stack is 2x2"));
  CHECK_THROWS_WITH(RawStack(counts, {Image<float>(2, 2), Image<float>(2, 2)}, Image<float>(), 65535.0),
                    Catch::Contains("2 flat fields for 3 energies"));
  CHECK_THROWS_WITH(RawStack(counts, {Image<float>(2, 2)}, Image<float>(3, 2), 65535.0),
                    Catch::Contains("dark field is 3x2"));
  CHECK_THROWS_AS(RawStack(counts, {}, Image<float>(), 65535.0), InputError);
}

TEST_CASE("Averaging frames keeps saturation visible", "[od]") {
  std::vector<Image<float>> frames{Image<float>(1, 2, 100.0f), Image<float>(1, 2, 200.0f)};
  frames[1](0, 1) = 65535.0f;
  const auto mean = average_frames(frames, 65535.0);
  CHECK(mean(0, 0) == 150.0f);
  CHECK(mean(0, 1) == 65535.0f);
}

// Guards the vectorized logarithm of the OD pass: within 1 float ulp of -std::log over the
// normal floats (every 997th bit pattern), and exactly 0 at 1 (measured: at most 1 ulp).
TEST_CASE("The OD pass's logarithm is within one ulp of std::log", "[od][reference]") {
  long worst = 0;
  for (std::uint32_t bits = 0x00800000u; bits < 0x7f800000u; bits += 997) {
    const auto x = std::bit_cast<float>(bits);
    const float a = minus_log(x), b = -std::log(x);
    const long ulps = std::labs(static_cast<long>(std::bit_cast<std::int32_t>(a)) - static_cast<long>(std::bit_cast<std::int32_t>(b)));
    // Opposite signs only happen around x = 1, where both are tiny: compare the values there.
    worst = std::max(worst, (a < 0) == (b < 0) ? ulps : (std::abs(a - b) <= 1e-37f ? 0L : 1000L));
  }
  CHECK(worst <= 1);
  CHECK(minus_log(1.0f) == 0.0f);
}

// Guards the in-place OD: the same values and flags as the copying pass, on a stack with every
// kind of invalid value and ratios outside the normal floats.
TEST_CASE("OD in place equals OD into a new stack", "[od][reference]") {
  const std::size_t w = 8, energies = 3;
  std::vector<float> sample;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (std::size_t e = 0; e < energies; ++e)
    for (const float v : {1100.0f, 600.0f + static_cast<float>(e), 65535.0f, 50.0f, nan, inf, 100.0f + 1e-3f, 3e4f})
      sample.push_back(v);
  std::vector<Image<float>> flats;
  for (std::size_t e = 0; e < energies; ++e) {
    Image<float> f(1, w, 2100.0f);
    f(0, 3) = 90.0f;  // flat below the dark
    flats.push_back(f);
  }
  const RawStack raw = make_raw(sample, flats, Image<float>(1, w, 100.0f), 65535.0, energies);
  const OpticalDensityResult copied = compute_optical_density(raw);
  const OpticalDensityResult in_place = compute_optical_density(RawStack(raw));
  REQUIRE(copied.invalid_pixels == in_place.invalid_pixels);
  CHECK(copied.invalid_per_energy == in_place.invalid_per_energy);
  for (std::size_t p = 0; p < w; ++p) CHECK(copied.flags.data()[p] == in_place.flags.data()[p]);
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const float a = copied.od.values()[i], b = in_place.od.values()[i];
    CHECK((std::isnan(a) ? std::isnan(b) : a == b));
  }
}
