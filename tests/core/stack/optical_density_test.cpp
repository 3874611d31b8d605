#include "core/stack/optical_density.hpp"

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <variant>

#include "core/base/error.hpp"

using namespace xanesmap;

namespace {
RawStack make_raw(std::vector<float> sample, std::vector<Image<float>> flats, Image<float> dark,
                  std::optional<double> saturation = 65535.0, std::size_t energies = 2) {
  std::vector<double> e;
  for (std::size_t i = 0; i < energies; ++i) e.push_back(6500.0 + static_cast<double>(i));
  const std::size_t h = 1, w = sample.size() / energies;
  return RawStack(EnergyStack(e, h, w, std::move(sample)), std::move(flats), std::move(dark),
                  saturation);
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

TEST_CASE("A single flat is used for every energy, no dark means zero", "[od]") {
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
  std::vector<float> sample{90.0f,  500.0f, 500.0f,   NAN,    500.0f,   // e0
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
  CHECK_THROWS_WITH(
      RawStack(counts, {Image<float>(2, 2), Image<float>(2, 2)}, Image<float>(), 65535.0),
      Catch::Contains("2 flat fields for 3 energies"));
  CHECK_THROWS_WITH(RawStack(counts, {Image<float>(2, 2)}, Image<float>(3, 2), 65535.0),
                    Catch::Contains("dark field is 3x2"));
  CHECK_THROWS_AS(RawStack(counts, std::vector<Image<float>>{}, Image<float>(), 65535.0),
                  InputError);
}

TEST_CASE("RawStack refuses uint16 flats of the wrong size or count with the same messages",
          "[od]") {
  using U16 = Image<std::uint16_t>;
  EnergyStack counts({6500.0, 6501.0, 6502.0}, 2, 2, std::vector<float>(12, 1.0f));
  CHECK_THROWS_WITH(RawStack(counts, {U16(2, 3)}, Image<float>(), 65535.0),
                    Catch::Contains("flat field 0 is 2x3 but the stack is 2x2"));
  CHECK_THROWS_WITH(RawStack(counts, {U16(2, 2), U16(2, 2), U16(3, 2)}, Image<float>(), 65535.0),
                    Catch::Contains("flat field 2 is 3x2 but the stack is 2x2"));
  CHECK_THROWS_WITH(RawStack(counts, {U16(2, 2), U16(2, 2)}, Image<float>(), 65535.0),
                    Catch::Contains("2 flat fields for 3 energies"));
  CHECK_THROWS_WITH(RawStack(counts, {U16(2, 2)}, Image<float>(3, 2), 65535.0),
                    Catch::Contains("dark field is 3x2"));
  CHECK_THROWS_WITH(RawStack(counts, std::vector<U16>{}, Image<float>(), 65535.0),
                    Catch::Contains("no flat field given"));
  CHECK_THROWS_AS(RawStack(counts, {U16(2, 2)}, Image<float>(), -1.0), OptionError);
}

TEST_CASE("RawStack keeps uint16 flats as uint16 and counts their real size", "[od]") {
  EnergyStack counts({6500.0, 6501.0}, 2, 3, std::vector<float>(12, 1.0f));
  std::vector<Image<std::uint16_t>> flats{Image<std::uint16_t>(2, 3, 7),
                                          Image<std::uint16_t>(2, 3, 65535)};
  flats[0](1, 2) = 9;
  const RawStack raw(counts, flats, Image<float>(2, 3, 0.5f), 65535.0);
  CHECK(raw.flats_are_uint16());
  CHECK(raw.flat_count() == 2);
  CHECK(raw.per_energy_flats());
  CHECK(raw.flat_value(0, 1, 2) == 9.0f);
  CHECK(raw.flat_value(1, 0, 0) == 65535.0f);
  REQUIRE(std::holds_alternative<ImageView<const std::uint16_t>>(raw.flat(1)));
  CHECK(std::get<ImageView<const std::uint16_t>>(raw.flat(0)).data() != nullptr);
  // counts 12 x 4 bytes, flats 12 x 2, dark 6 x 4.
  CHECK(raw.flat_bytes() == 24);
  CHECK(raw.bytes() == 48 + 24 + 24);
  const RawStack single(counts, std::vector<Image<float>>{Image<float>(2, 3, 3.0f)}, Image<float>(),
                        std::nullopt);
  CHECK_FALSE(single.flats_are_uint16());
  CHECK(single.flat_value(1, 1, 1) == 3.0f);  // the single flat serves every energy
  CHECK(single.bytes() == 48 + 24);
}

TEST_CASE("Averaging frames keeps saturation visible", "[od]") {
  std::vector<Image<float>> frames{Image<float>(1, 2, 100.0f), Image<float>(1, 2, 200.0f)};
  frames[1](0, 1) = 65535.0f;
  const auto mean = average_frames(frames, 65535.0);
  CHECK(mean(0, 0) == 150.0f);
  CHECK(mean(0, 1) == 65535.0f);
}

TEST_CASE("Averaging uint16 frames gives the values of averaging them as float", "[od]") {
  std::vector<Image<std::uint16_t>> frames{Image<std::uint16_t>(1, 4, 100),
                                           Image<std::uint16_t>(1, 4, 201),
                                           Image<std::uint16_t>(1, 4, 65535)};
  frames[2](0, 0) = 7, frames[2](0, 1) = 0, frames[2](0, 2) = 40000;
  std::vector<Image<float>> as_float;
  for (const auto& f : frames) {
    Image<float> g(f.height(), f.width());
    for (std::size_t c = 0; c < f.width(); ++c) g(0, c) = static_cast<float>(f(0, c));
    as_float.push_back(g);
  }
  for (const std::optional<double> saturation :
       {std::optional<double>(65535.0), std::optional<double>()}) {
    const auto a = average_frames(frames, saturation), b = average_frames(as_float, saturation);
    // Exact: both sum the same exactly converted values in double.
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  }
  CHECK(average_frames(frames, 65535.0)(0, 3) == 65535.0f);  // saturated in one frame
}

// Guards the vectorized logarithm of the OD pass: within 1 float ulp of -std::log over the
// normal floats (every 997th bit pattern), and exactly 0 at 1 (measured: at most 1 ulp).
TEST_CASE("The OD pass's logarithm is within one ulp of std::log", "[od][reference]") {
  long worst = 0;
  for (std::uint32_t bits = 0x00800000u; bits < 0x7f800000u; bits += 997) {
    const auto x = std::bit_cast<float>(bits);
    const float a = minus_log(x), b = -std::log(x);
    const long ulps = std::labs(static_cast<long>(std::bit_cast<std::int32_t>(a)) -
                                static_cast<long>(std::bit_cast<std::int32_t>(b)));
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
  const float nan = std::numeric_limits<float>::quiet_NaN(),
              inf = std::numeric_limits<float>::infinity();
  for (std::size_t e = 0; e < energies; ++e)
    for (const float v :
         {1100.0f, 600.0f + static_cast<float>(e), 65535.0f, 50.0f, nan, inf, 100.0f + 1e-3f, 3e4f})
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

namespace {
// The same flats as uint16 and as float (the uint16 values converted, exactly).
std::vector<Image<float>> as_float(const std::vector<Image<std::uint16_t>>& flats) {
  std::vector<Image<float>> out;
  for (const auto& f : flats) {
    Image<float> g(f.height(), f.width());
    for (std::size_t p = 0; p < f.size(); ++p) g.data()[p] = static_cast<float>(f.data()[p]);
    out.push_back(std::move(g));
  }
  return out;
}

void check_bit_identical(const OpticalDensityResult& a, const OpticalDensityResult& b) {
  REQUIRE(a.od.values().size() == b.od.values().size());
  // Exact: the uint16 -> float conversion is exact and the kernels do the same operations.
  CHECK(std::memcmp(a.od.values().data(), b.od.values().data(),
                    a.od.values().size() * sizeof(float)) == 0);
  CHECK(std::memcmp(a.flags.data(), b.flags.data(), a.flags.size()) == 0);
  CHECK(a.invalid_pixels == b.invalid_pixels);
  CHECK(a.pixels_by_flag == b.pixels_by_flag);
  CHECK(a.invalid_per_energy == b.invalid_per_energy);
}
}  // namespace

// Guards the uint16 flat kernels: the OD from uint16 flats is the OD from the same flats as
// float, bit for bit, for both overloads, with flats at saturation, at and below the dark and
// zero, on a width of 37 (four 8-wide AVX2 blocks and a tail of 5).
TEST_CASE("OD from uint16 flats equals OD from the same flats as float, bit for bit",
          "[od][reference]") {
  const std::size_t h = 3, w = 37, energies = 4, frame = h * w;
  const float nan = std::numeric_limits<float>::quiet_NaN(),
              inf = std::numeric_limits<float>::infinity();
  std::vector<double> e;
  for (std::size_t i = 0; i < energies; ++i) e.push_back(6500.0 + static_cast<double>(i));
  std::vector<float> sample(energies * frame);
  std::vector<Image<std::uint16_t>> flats;
  Image<float> dark(h, w);
  for (std::size_t p = 0; p < frame; ++p) dark.data()[p] = 95.0f + static_cast<float>(p % 11);
  for (std::size_t k = 0; k < energies; ++k) {
    Image<std::uint16_t> f(h, w);
    for (std::size_t p = 0; p < frame; ++p) {
      // Mostly ordinary values (a few thousand counts, varied), with the special cases spread
      // over the row so that they land in vector blocks and in the tail.
      auto v = static_cast<std::uint16_t>(2000 + (p * 7919 + k * 104729) % 30000);
      switch ((p + k) % 13) {
        case 0:
          v = 65535;
          break;  // saturated flat
        case 3:
          v = static_cast<std::uint16_t>(dark.data()[p]);
          break;  // flat at the dark
        case 5:
          v = static_cast<std::uint16_t>(dark.data()[p] - 3);
          break;  // below the dark
        case 8:
          v = 0;
          break;  // dead pixel
        default:
          break;
      }
      f.data()[p] = v;
      float s = 0.3f * static_cast<float>(v) + 80.0f + static_cast<float>(p % 17);
      switch ((p * 3 + k) % 19) {
        case 1:
          s = 65535.0f;
          break;  // saturated sample
        case 4:
          s = dark.data()[p];
          break;  // sample at the dark
        case 7:
          s = nan;
          break;
        case 9:
          s = inf;
          break;
        case 12:
          s = dark.data()[p] + 1e-3f;
          break;  // tiny ratio
        case 15:
          s = static_cast<float>(v) * 1.5f;
          break;  // sample above the flat (OD < 0)
        default:
          break;
      }
      sample[k * frame + p] = s;
    }
    flats.push_back(std::move(f));
  }
  for (const bool with_dark : {true, false}) {
    for (const bool single_flat : {false, true}) {
      DYNAMIC_SECTION("dark " << with_dark << ", single flat " << single_flat) {
        std::vector<Image<std::uint16_t>> u16 = flats;
        if (single_flat) u16.resize(1);
        const Image<float> d = with_dark ? dark : Image<float>();
        const RawStack from_u16(EnergyStack(e, h, w, sample), u16, d, 65535.0);
        const RawStack from_float(EnergyStack(e, h, w, sample), as_float(u16), d, 65535.0);
        REQUIRE(from_u16.flats_are_uint16());
        const OpticalDensityResult copied_u16 = compute_optical_density(from_u16);
        const OpticalDensityResult copied_float = compute_optical_density(from_float);
        CHECK(copied_float.invalid_pixels > 0);      // the special cases are there
        CHECK(copied_float.invalid_pixels < frame);  // and ordinary values too
        check_bit_identical(copied_u16, copied_float);
        check_bit_identical(compute_optical_density(RawStack(from_u16)), copied_float);
        check_bit_identical(compute_optical_density(RawStack(from_float)), copied_float);
      }
    }
  }
}

// Guards the banded pass: rows in bands of 4, each band through every frame, bands grouped for
// progress. Each pixel of a 45 x 13 x 7 stack (45 rows: 12 groups, the last band of 1 row) with
// invalid values scattered over frames must get exactly what the same pixel gets alone in a 1 x 1
// stack: its OD values bit for bit, its flags, and its share of the per-energy NaN counts.
TEST_CASE("OD in bands of rows equals OD pixel by pixel", "[od][reference]") {
  const std::size_t h = 45, w = 13, n = 7;
  std::vector<double> energies;
  for (std::size_t e = 0; e < n; ++e) energies.push_back(6500.0 + static_cast<double>(e));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> sample(n * h * w);
  std::vector<Image<float>> flats(n, Image<float>(h, w));
  Image<float> dark(h, w);
  for (std::size_t p = 0; p < h * w; ++p) dark.data()[p] = 95.0f + static_cast<float>(p % 11);
  for (std::size_t e = 0; e < n; ++e)
    for (std::size_t p = 0; p < h * w; ++p) {
      const std::size_t k = (p * 7 + e * 13) % 101;
      float v = 300.0f + static_cast<float>((p * 37 + e * 91) % 3000);
      if (k == 3) v = nan;
      if (k == 7) v = 65535.0f;  // saturated
      if (k == 11) v = 50.0f;    // below the dark
      sample[e * h * w + p] = v;
      flats[e].data()[p] =
          k == 17 ? 80.0f : 3500.0f + static_cast<float>((p + e) % 200);  // 80: flat below the dark
    }
  const RawStack raw(EnergyStack(energies, h, w, sample), flats, dark, 65535.0);
  const OpticalDensityResult all = compute_optical_density(raw);
  std::vector<std::size_t> per_energy(n, 0);
  for (std::size_t p = 0; p < h * w; ++p) {
    std::vector<float> one(n);
    std::vector<Image<float>> one_flats;
    for (std::size_t e = 0; e < n; ++e) {
      one[e] = sample[e * h * w + p];
      one_flats.emplace_back(1, 1, flats[e].data()[p]);
    }
    const OpticalDensityResult alone = compute_optical_density(RawStack(
        EnergyStack(energies, 1, 1, one), one_flats, Image<float>(1, 1, dark.data()[p]), 65535.0));
    CHECK(all.flags.data()[p] == alone.flags.data()[0]);
    for (std::size_t e = 0; e < n; ++e) {
      const float a = all.od.values()[e * h * w + p], b = alone.od.values()[e];
      CHECK(std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b));
      per_energy[e] += alone.invalid_per_energy[e];
    }
  }
  CHECK(all.invalid_per_energy == per_energy);
  // Every kind of invalid value occurred (the test would not show a miscount otherwise).
  CHECK(std::count(per_energy.begin(), per_energy.end(), std::size_t{0}) == 0);
}

// Guards the fast path's test (one branch-free pass decides which values it computes): every
// combination of ordinary, saturated, at-dark, zero, huge, tiny, negative, infinite and NaN
// sample, float flat and dark values, with and without a saturation level, must give what the
// definition gives: NaN and the flags of classify() for an invalid value, else -ln((s - d) / (f -
// d)), by minus_log for a normal ratio and std::log otherwise, bit for bit.
TEST_CASE("OD of every kind of input value equals its definition", "[od][reference]") {
  const float nan = std::numeric_limits<float>::quiet_NaN(),
              inf = std::numeric_limits<float>::infinity();
  const float big = std::numeric_limits<float>::max(),
              tiny = std::numeric_limits<float>::denorm_min();
  const std::vector<float> kinds = {
      1500.0f, 200.0f, 100.0f, 100.0f + 1e-3f, 0.0f,   -5.0f, 65535.0f, 70000.0f,
      3e38f,   big,    -3e38f, tiny,           1e-30f, inf,   -inf,     nan};
  // A known saturation level, and none (float files): then nothing is saturated and +inf must
  // still fail the fast path's "< saturation".
  for (const std::optional<double> level :
       {std::optional<double>(65535.0), std::optional<double>()}) {
    const float saturation = level ? static_cast<float>(*level) : inf;
    // One pixel per (sample, flat, dark) triple; one frame.
    const std::size_t w = kinds.size() * kinds.size() * kinds.size();
    std::vector<float> sample(w);
    Image<float> flat(1, w), dark(1, w);
    std::size_t p = 0;
    for (const float s : kinds)
      for (const float f : kinds)
        for (const float d : kinds) sample[p] = s, flat(0, p) = f, dark(0, p) = d, ++p;
    const RawStack raw(EnergyStack({6550.0}, 1, w, sample), std::vector<Image<float>>{flat}, dark,
                       level);
    const OpticalDensityResult r = compute_optical_density(raw);
    std::size_t invalid = 0, fast = 0, slow = 0;
    for (std::size_t i = 0; i < w; ++i) {
      const float s = sample[i], f = flat(0, i), d = dark(0, i);
      std::uint8_t flags = 0;
      if (!std::isfinite(s) || !std::isfinite(f) || !std::isfinite(d)) {
        flags = od_not_finite;
      } else {
        if (s >= saturation || f >= saturation) flags |= od_saturated;
        if (s - d <= 0.0f) flags |= od_sample_not_above_dark;
        if (f - d <= 0.0f) flags |= od_flat_not_above_dark;
      }
      const float got = r.od.values()[i];
      INFO("sample " << s << ", flat " << f << ", dark " << d << ", saturation " << saturation);
      CHECK(r.flags.data()[i] == flags);
      if (flags) {
        CHECK(std::isnan(got));
        ++invalid;
        continue;
      }
      const float x = (s - d) / (f - d);
      const bool normal = std::isnormal(x);
      const float want = normal ? minus_log(x) : -std::log(x);
      CHECK(std::bit_cast<std::uint32_t>(got) == std::bit_cast<std::uint32_t>(want));
      ++(normal ? fast : slow);
    }
    CHECK(r.invalid_per_energy[0] == invalid);
    // Every branch is exercised: invalid values, normal ratios and ratios outside the normals.
    CHECK(invalid > 0);
    CHECK(fast > 0);
    CHECK(slow > 0);
  }
}
