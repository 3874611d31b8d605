// Tests of io/plots/png_preview: pictures are written, read back with OpenCV and probed at places
// given by map_preview_geometry (colours at block centres, colour bar, scale bar, outlines, legend
// colours); the colour range, tick and scale-bar rules; errors.
//
// Colour tolerances: PNG is lossless, so a pixel read back is exactly what was painted. The
// expected viridis colours are the published ends of the map (#440154 and #FDE725, matplotlib's
// _viridis_data scaled to 8 bits); OpenCV's table holds viridis sampled and rounded to 8 bits, so
// they may differ by 1 per channel.
#include "io/plots/png_preview.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/base/detail/opencv_headers.hpp"
#include "core/base/error.hpp"
#include "support/picture.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;
namespace fs = std::filesystem;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

using test::near;
using test::Rgb;
using test::rgb_at;
constexpr Rgb kViridisStart{68, 1, 84};   // #440154, dark purple
constexpr Rgb kViridisEnd{253, 231, 37};  // #FDE725, yellow
constexpr Rgb kNoValueGrey{80, 80, 80};

using test::text;

/// Picture pixel at the centre of value pixel (r, c)'s block.
Rgb block_centre(const cv::Mat& picture, const MapPreviewGeometry& g, int r, int c) {
  return rgb_at(picture, g.map_top + r * g.factor + g.factor / 2,
                g.map_left + c * g.factor + g.factor / 2);
}

cv::Mat read_png(const fs::path& file) {
  cv::Mat picture = cv::imread(file.string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(picture.empty());
  return picture;
}

/// 64x48 map: a ramp from 3.0 (left) to 4.0 (right), NaN in the top-left 8x8 corner.
Image<float> test_map() {
  Image<float> map(64, 48);
  for (std::size_t r = 0; r < 64; ++r)
    for (std::size_t c = 0; c < 48; ++c)
      map(r, c) = (r < 8 && c < 8) ? kNaN : static_cast<float>(3.0 + static_cast<double>(c) / 47.0);
  return map;
}

MapPreviewOptions test_options() {
  MapPreviewOptions options;
  options.scale = {3.0, 4.0, "Mn valence"};
  options.title = "test map";
  return options;
}

}  // namespace

TEST_CASE("Map preview: size, enlargement, viridis ends and NaN grey", "[png]") {
  test::TempDir dir;
  const Image<float> map = test_map();
  const MapPreviewOptions options = test_options();
  const fs::path file = dir / "map.png";
  write_map_png(file, map.view(), options);
  const cv::Mat picture = read_png(file);

  const MapPreviewGeometry g = map_preview_geometry(64, 48, options);
  CHECK(g.factor == 8);  // ceil(512 / 64)
  CHECK(g.map_height == 512);
  CHECK(g.map_width == 384);
  CHECK(picture.rows == g.canvas_height);
  CHECK(picture.cols == g.canvas_width);
  CHECK(g.map_left + g.map_width <= g.canvas_width);
  CHECK(g.map_top + g.map_height <= g.canvas_height);

  INFO("NaN " << text(block_centre(picture, g, 2, 2)));
  CHECK(near(block_centre(picture, g, 2, 2), kNoValueGrey, 0));
  // Column 0 is 3.0 = scale.min, column 47 is 4.0 = scale.max. Channel order matters: the dark
  // purple has more blue than red, the yellow far more red than blue.
  const Rgb low = block_centre(picture, g, 40, 0), high = block_centre(picture, g, 40, 47);
  INFO("min " << text(low) << ", max " << text(high));
  CHECK(near(low, kViridisStart, 1));
  CHECK(near(high, kViridisEnd, 1));

  // Nearest neighbour: every picture pixel of a block has the block's colour.
  const int top = g.map_top + 40 * g.factor, left = g.map_left + 20 * g.factor;
  const Rgb first = rgb_at(picture, top, left);
  for (int dy = 0; dy < g.factor; ++dy)
    for (int dx = 0; dx < g.factor; ++dx)
      CHECK(near(rgb_at(picture, top + dy, left + dx), first, 0));
  // ... and the neighbouring block (a value 1/47 higher) differs.
  CHECK_FALSE(near(rgb_at(picture, top, left + g.factor), first, 0));
}

TEST_CASE("Map preview: colour bar right of the map, max at the top", "[png]") {
  test::TempDir dir;
  const Image<float> map = test_map();
  const MapPreviewOptions options = test_options();
  write_map_png(dir / "map.png", map.view(), options);
  const cv::Mat picture = read_png(dir / "map.png");
  const MapPreviewGeometry g = map_preview_geometry(64, 48, options);

  CHECK(g.bar_left > g.map_left + g.map_width);
  CHECK(g.bar_left + g.bar_width < g.canvas_width);
  CHECK(g.bar_height >= 200);
  const int middle = g.bar_left + g.bar_width / 2;
  CHECK(near(rgb_at(picture, g.bar_top, middle), kViridisEnd, 1));
  CHECK(near(rgb_at(picture, g.bar_top + g.bar_height - 1, middle), kViridisStart, 1));
  // Halfway down: viridis' middle, a blue-green (#21918C); allow the bar's rounding of one row
  // (about 1 of 255 colour steps, a few units per channel).
  CHECK(near(rgb_at(picture, g.bar_top + (g.bar_height - 1) / 2, middle), {33, 145, 140}, 4));
  // Something (ticks, values) is drawn right of the bar.
  const cv::Mat right_of_bar =
      picture(cv::Rect(g.bar_left + g.bar_width + 1, g.bar_top,
                       g.canvas_width - g.bar_left - g.bar_width - 1, g.bar_height));
  cv::Mat grey;
  cv::extractChannel(right_of_bar, grey, 1);
  CHECK(cv::countNonZero(grey < 128) > 100);
}

TEST_CASE("Map preview: values outside the scale are clamped", "[png]") {
  test::TempDir dir;
  Image<float> map(32, 32, 3.5f);
  map(0, 0) = 2.0f;
  map(0, 1) = 5.0f;
  map(0, 2) = -std::numeric_limits<float>::infinity();
  map(0, 3) = std::numeric_limits<float>::infinity();
  const MapPreviewOptions options = test_options();
  write_map_png(dir / "clamped.png", map.view(), options);
  const cv::Mat picture = read_png(dir / "clamped.png");
  const MapPreviewGeometry g = map_preview_geometry(32, 32, options);
  CHECK(near(block_centre(picture, g, 0, 0), kViridisStart, 1));
  CHECK(near(block_centre(picture, g, 0, 1), kViridisEnd, 1));
  CHECK(near(block_centre(picture, g, 0, 2), kViridisStart, 1));
  CHECK(near(block_centre(picture, g, 0, 3), kViridisEnd, 1));
}

TEST_CASE("Map preview: scale bar length", "[png]") {
  test::TempDir dir;
  const Image<float> map = test_map();
  MapPreviewOptions options = test_options();
  options.pixel_size_um = 0.03;  // 48 columns = 1.44 um; 30% is 0.432 um -> a 0.2 um bar
  REQUIRE(scale_bar_length_um(48 * 0.03) == Approx(0.2));
  write_map_png(dir / "bar.png", map.view(), options);
  const cv::Mat picture = read_png(dir / "bar.png");
  const MapPreviewGeometry g = map_preview_geometry(64, 48, options);

  // The longest dark run starting at the map's left edge, below the map.
  int longest = 0;
  for (int row = g.map_top + g.map_height + 1; row < picture.rows; ++row) {
    int run = 0;
    while (g.map_left + run < picture.cols) {
      const Rgb p = rgb_at(picture, row, g.map_left + run);
      if (p.r > 80 || p.g > 80 || p.b > 80) break;
      ++run;
    }
    longest = std::max(longest, run);
  }
  // 0.2 um / 0.03 um per value pixel * 8 picture pixels per value pixel = 53.3 -> 53 pixels.
  CHECK(longest == 53);

  options.pixel_size_um = 0.0;  // no scale bar: nothing dark at the left below the map
  write_map_png(dir / "nobar.png", map.view(), options);
  const cv::Mat plain = read_png(dir / "nobar.png");
  const cv::Mat below = plain(cv::Rect(g.map_left, g.map_top + g.map_height + 1, g.map_width,
                                       plain.rows - g.map_top - g.map_height - 1));
  cv::Mat green;
  cv::extractChannel(below, green, 1);
  CHECK(cv::countNonZero(green < 128) == 0);
}

TEST_CASE("Map preview: particle outlines are white, interiors keep their colour", "[png]") {
  test::TempDir dir;
  Image<float> map(32, 32, 3.0f);
  Image<std::uint16_t> labels(32, 32, 0);
  for (std::size_t r = 8; r < 24; ++r)
    for (std::size_t c = 8; c < 24; ++c) labels(r, c) = 1;
  MapPreviewOptions options = test_options();
  options.outlines = &labels;
  write_map_png(dir / "outlined.png", map.view(), options);
  const cv::Mat picture = read_png(dir / "outlined.png");
  const MapPreviewGeometry g = map_preview_geometry(32, 32, options);
  REQUIRE(g.factor == 16);
  const Rgb white{255, 255, 255};
  // Pixel (8, 12) is on the particle's top edge: the first picture row of its block is white.
  CHECK(near(rgb_at(picture, g.map_top + 8 * 16, g.map_left + 12 * 16 + 8), white, 0));
  CHECK(near(block_centre(picture, g, 8, 12), kViridisStart, 1));   // below the line: the map
  CHECK(near(block_centre(picture, g, 16, 16), kViridisStart, 1));  // interior
  CHECK(near(block_centre(picture, g, 2, 2), kViridisStart, 1));    // background: no outline
  CHECK(near(rgb_at(picture, g.map_top + 7 * 16 + 15, g.map_left + 12 * 16 + 8), kViridisStart, 1));

  Image<std::uint16_t> wrong(16, 32, 0);
  options.outlines = &wrong;
  CHECK_THROWS_AS(write_map_png(dir / "wrong.png", map.view(), options), InputError);
}

TEST_CASE("Map preview geometry: enlargement factor", "[png]") {
  const MapPreviewOptions options = test_options();
  CHECK(map_preview_geometry(256, 256, options).factor == 2);
  CHECK(map_preview_geometry(100, 60, options).factor == 6);  // 600 x 360
  CHECK(map_preview_geometry(3, 10, options).factor == 52);   // 156 x 520
  CHECK(map_preview_geometry(511, 20, options).factor == 2);
  CHECK(map_preview_geometry(512, 20, options).factor == 1);
  CHECK(map_preview_geometry(1000, 2000, options).factor == 1);
  const MapPreviewGeometry big = map_preview_geometry(1000, 2000, options);
  CHECK(big.map_width == 2000);
  CHECK(big.canvas_width > 2000);
}

TEST_CASE("Map preview: bad options and outputs", "[png]") {
  test::TempDir dir;
  const Image<float> map = test_map();
  MapPreviewOptions options = test_options();

  options.scale = {4.0, 3.0, "reversed"};
  CHECK_THROWS_AS(write_map_png(dir / "a.png", map.view(), options), OptionError);
  options.scale = {3.0, 3.0, "empty"};
  CHECK_THROWS_AS(write_map_png(dir / "a.png", map.view(), options), OptionError);
  options.scale = {std::nan(""), 3.0, "NaN"};
  CHECK_THROWS_AS(write_map_png(dir / "a.png", map.view(), options), OptionError);
  options.scale = {3.0, std::numeric_limits<double>::infinity(), "inf"};
  CHECK_THROWS_AS(write_map_png(dir / "a.png", map.view(), options), OptionError);
  options = test_options();
  options.pixel_size_um = -0.03;
  CHECK_THROWS_AS(write_map_png(dir / "a.png", map.view(), options), OptionError);
  CHECK_FALSE(fs::exists(dir / "a.png"));

  options = test_options();
  const Image<float> empty;
  CHECK_THROWS_AS(write_map_png(dir / "a.png", empty.view(), options), InputError);

  const fs::path unwritable = dir / "no such folder" / "map.png";
  try {
    write_map_png(unwritable, map.view(), options);
    FAIL("no exception");
  } catch (const OutputError& e) {
    CHECK_THAT(e.what(), Catch::Contains(unwritable.string()));
  }
  CHECK_THROWS_AS(write_map_png(dir.path(), map.view(), options), OutputError);  // a folder
  const Image<std::uint8_t> codes(4, 4, 0);
  CHECK_THROWS_AS(write_category_png(unwritable, codes.view(), {{0, "ok"}}, "status"), OutputError);
}

TEST_CASE("Category preview: one distinct colour per code", "[png]") {
  test::TempDir dir;
  // Four 16x16 quadrants with codes 0, 1, 5, 9, and one pixel of code 200, not in the legend.
  Image<std::uint8_t> codes(32, 32);
  for (std::size_t r = 0; r < 32; ++r)
    for (std::size_t c = 0; c < 32; ++c)
      codes(r, c) = static_cast<std::uint8_t>(r < 16 ? (c < 16 ? 0 : 1) : (c < 16 ? 5 : 9));
  codes(31, 31) = 200;
  const std::vector<std::pair<std::uint8_t, std::string>> legend{
      {0, "no particle"}, {1, "ok"}, {5, "edge step too small"}, {9, "fit did not converge"}};
  write_category_png(dir / "status.png", codes.view(), legend, "Fit status");
  const cv::Mat picture = read_png(dir / "status.png");

  // Same map placement as a value map without colour bar options that matter: factor 16.
  const int factor = 16, margin = 16;
  CHECK(picture.cols > 32 * factor + 2 * margin);  // room for the legend
  // The map's top-left corner: the first non-white pixel inside the frame on the left margin.
  int top = 0;
  while (top < picture.rows && rgb_at(picture, top, margin).r == 255) ++top;
  REQUIRE(top < picture.rows);
  ++top;  // skip the frame line
  const auto centre = [&](int r, int c) {
    return rgb_at(picture, top + r * factor + factor / 2, margin + c * factor + factor / 2);
  };
  const std::vector<Rgb> colours{centre(4, 4), centre(4, 20), centre(20, 4), centre(20, 20)};
  CHECK(near(colours[0], {200, 200, 200}, 0));  // first entry: neutral light grey
  const Rgb other = centre(31, 31);
  CHECK(near(other, {0, 0, 0}, 0));  // unlisted code: black
  // Pairwise distinct by at least 60 in some channel, so clearly distinguishable on screen.
  std::vector<Rgb> all = colours;
  all.push_back(other);
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      INFO(text(all[i]) << " vs " << text(all[j]));
      CHECK_FALSE(near(all[i], all[j], 59));
    }

  CHECK_THROWS_AS(
      write_category_png(dir / "twice.png", codes.view(), {{1, "ok"}, {1, "again"}}, ""),
      OptionError);
  const Image<std::uint8_t> empty;
  CHECK_THROWS_AS(write_category_png(dir / "empty.png", empty.view(), legend, ""), InputError);
}

TEST_CASE("robust_scale: percentiles of the finite values", "[png]") {
  // 0, 1, ..., 100 in shuffled order, plus NaN and infinities that must be ignored.
  std::vector<float> values;
  for (int i = 0; i <= 100; ++i) values.push_back(static_cast<float>(i));
  std::mt19937 rng(7);
  std::shuffle(values.begin(), values.end(), rng);
  values.insert(values.begin() + 10, kNaN);
  values.push_back(std::numeric_limits<float>::infinity());
  values.push_back(-std::numeric_limits<float>::infinity());
  values.push_back(kNaN);
  const Image<float> ramp(1, values.size(), values);
  // 101 finite values: the 1st percentile sits at position 0.01 * 100 = 1 exactly -> 1.0, the
  // 99th at 99 -> 99.0. Integers in float and double: exact.
  ColourScale scale = robust_scale(ramp.view(), 0.0, "x");
  CHECK(scale.min == 1.0);
  CHECK(scale.max == 99.0);
  CHECK(scale.label == "x");

  // 1000 values 0..999: positions 9.99 and 989.01, interpolated between neighbours. The values
  // are integers, the interpolation weights 0.99 and 0.01 carry double rounding (~1e-13).
  Image<float> long_ramp(10, 100);
  for (std::size_t i = 0; i < 1000; ++i) long_ramp.pixels()[i] = static_cast<float>(999 - i);
  scale = robust_scale(long_ramp.view(), 0.0, "x");
  CHECK(scale.min == Approx(9.99).margin(1e-9));
  CHECK(scale.max == Approx(989.01).margin(1e-9));

  // Narrow maps are widened around their middle.
  Image<float> narrow(1, 101);
  for (std::size_t i = 0; i <= 100; ++i)
    narrow(0, i) = static_cast<float>(3.4 + 0.001 * static_cast<double>(i));
  scale = robust_scale(narrow.view(), 0.6, "Mn valence");
  // Percentiles 3.401 and 3.499 (float rounding of the values: ~1e-7) around 3.45.
  CHECK(scale.min == Approx(3.15).margin(1e-6));
  CHECK(scale.max == Approx(3.75).margin(1e-6));

  const Image<float> constant(4, 4, 2.0f);
  scale = robust_scale(constant.view(), 0.0, "x");
  CHECK(scale.min == 1.5);
  CHECK(scale.max == 2.5);

  const Image<float> nothing(4, 4, kNaN);
  scale = robust_scale(nothing.view(), 0.5, "x");
  CHECK(scale.min == 0.0);
  CHECK(scale.max == 1.0);

  CHECK_THROWS_AS(robust_scale(constant.view(), -1.0, "x"), OptionError);
}

TEST_CASE("Colour bar ticks are round and inside the scale", "[png]") {
  const auto check = [](double min, double max, std::vector<double> expected, int decimals) {
    const ColourBarTicks ticks = colour_bar_ticks(min, max);
    INFO(min << " .. " << max);
    REQUIRE(ticks.values.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
      CHECK(ticks.values[i] == Approx(expected[i]).margin(1e-12));
    CHECK(ticks.decimals == decimals);
  };
  check(3.2, 3.8, {3.2, 3.4, 3.6, 3.8}, 1);
  check(0.0, 1.0, {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}, 1);
  check(6550, 6560, {6550, 6552, 6554, 6556, 6558, 6560}, 0);
  check(-0.01, 0.012, {-0.01, -0.005, 0.0, 0.005, 0.01}, 3);
  check(3.191, 3.791, {3.2, 3.3, 3.4, 3.5, 3.6, 3.7}, 1);
  check(0.0, 0.75, {0.0, 0.2, 0.4, 0.6}, 1);
  // 2 gives 7 ticks, 5 gives 3: 2.5 steps, which need one more decimal.
  check(0.0, 13.0, {0.0, 2.5, 5.0, 7.5, 10.0, 12.5}, 1);
  check(0.0, 1.3, {0.0, 0.25, 0.5, 0.75, 1.0, 1.25}, 2);
  CHECK(colour_bar_ticks(-1.0, 1.0).values[2] == 0.0);  // exactly 0, not -0 or 1e-17
  CHECK_FALSE(std::signbit(colour_bar_ticks(-0.3, 0.3).values[3]));

  // Over many random ranges: always 3-7 ticks inside the range, evenly spaced by a round step;
  // 4-6 for the large majority (about 91% with these steps, see the header).
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int in_four_to_six = 0;
  const int trials = 20000;
  for (int t = 0; t < trials; ++t) {
    const double magnitude = std::pow(10.0, -4 + 8 * unit(rng));
    const double min = (20 * unit(rng) - 10) * magnitude;
    const double max = min + magnitude * (0.05 + 20 * unit(rng));
    const ColourBarTicks ticks = colour_bar_ticks(min, max);
    INFO(min << " .. " << max);
    REQUIRE(ticks.values.size() >= 3);
    REQUIRE(ticks.values.size() <= 7);
    if (ticks.values.size() >= 4 && ticks.values.size() <= 6) ++in_four_to_six;
    const double step = ticks.values[1] - ticks.values[0];
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    CHECK((std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 ||
           std::abs(mantissa - 2.5) < 1e-6 || std::abs(mantissa - 5) < 1e-6));
    const double slack = 1e-9 * (max - min);  // tick values are i * step, rounded
    CHECK(ticks.values.front() >= min - slack);
    CHECK(ticks.values.back() <= max + slack);
    // Printed with `decimals`, every tick is distinct and exact to a tenth of the step.
    std::set<std::string> printed;
    for (const double v : ticks.values) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%.*f", ticks.decimals, v);
      CHECK(std::abs(std::strtod(buffer, nullptr) - v) < 0.1 * step);
      printed.insert(buffer);
    }
    CHECK(printed.size() == ticks.values.size());
  }
  CHECK(in_four_to_six > trials * 88 / 100);

  // Ranges narrow for their magnitude still give a few ticks, and finish.
  CHECK(colour_bar_ticks(6550.0, 6550.0 + 1e-9).values.size() <= 7);
  CHECK(colour_bar_ticks(1e17, 1e17 + 64).values.size() <= 100);
  CHECK(colour_bar_ticks(-1e300, 1e300).values.size() == 5);  // -1e300, -5e299, 0, ...

  CHECK_THROWS_AS(colour_bar_ticks(1.0, 1.0), OptionError);
  CHECK_THROWS_AS(colour_bar_ticks(0.0, std::nan("")), OptionError);
}

TEST_CASE("Scale bar lengths are 1, 2 or 5 x 10^k um, 12-30% of the width", "[png]") {
  CHECK(scale_bar_length_um(256 * 0.03) == Approx(2.0));  // 7.68 um wide: 2 um (26%)
  CHECK(scale_bar_length_um(48 * 0.03) == Approx(0.2));
  CHECK(scale_bar_length_um(100.0) == Approx(20.0));
  CHECK(scale_bar_length_um(3.0) == Approx(0.5));
  CHECK(scale_bar_length_um(10.0) == Approx(2.0));
  for (double width = 0.01; width < 1e4; width *= 1.07) {
    const double length = scale_bar_length_um(width);
    CHECK(length <= 0.3 * width * (1 + 1e-9));
    CHECK(length > 0.12 * width);
  }
  CHECK_THROWS_AS(scale_bar_length_um(0.0), OptionError);
}

// ---------------------------------------------------------------------------------------------
// Panel figures (write_map_panels_png). Same tolerances as above: colours read back exactly;
// viridis ends within 1 per channel of the published values.

namespace {

/// Picture pixel at the centre of value pixel (r, c)'s block in panel `i`.
Rgb panel_block_centre(const cv::Mat& picture, const MapPanelsGeometry& g, std::size_t i, int r,
                       int c) {
  const MapPanelsGeometry::Panel& p = g.panels[i];
  return rgb_at(picture, p.map_top + r * g.factor + g.factor / 2,
                p.map_left + c * g.factor + g.factor / 2);
}

/// The longest run of dark pixels starting at column `left`, in the rows from `top` down.
int longest_dark_run(const cv::Mat& picture, int left, int top, int bottom) {
  int longest = 0;
  for (int row = top; row < bottom; ++row) {
    int run = 0;
    while (left + run < picture.cols) {
      const Rgb p = rgb_at(picture, row, left + run);
      if (p.r > 80 || p.g > 80 || p.b > 80) break;
      ++run;
    }
    longest = std::max(longest, run);
  }
  return longest;
}

}  // namespace

TEST_CASE("Map panels: layout, one shared colour scale, clamping and NaN grey", "[png]") {
  test::TempDir dir;
  // Panel A: 32x32 at 3.5 with a NaN block; panel B: 64x48 at 3.5 with values far above the
  // scale (5.0) in its bottom half.
  Image<float> a(32, 32, 3.5f), b(64, 48, 3.5f);
  a(0, 0) = kNaN;
  for (std::size_t r = 32; r < 64; ++r)
    for (std::size_t c = 0; c < 48; ++c) b(r, c) = 5.0f;
  const ColourScale scale{3.0, 4.0, "Mn valence"};
  const std::vector<MapPanel> panels{{a.view(), "before", 0.03, nullptr},
                                     {b.view(), "after", 0.05, nullptr}};
  write_map_panels_png(dir / "panels.png", panels, scale, "two panels");
  const cv::Mat picture = read_png(dir / "panels.png");
  const MapPanelsGeometry g = map_panels_geometry(panels, scale, "two panels");

  // One factor for both, from the largest panel (64 rows: ceil(512 / 64) = 8).
  CHECK(g.factor == 8);
  REQUIRE(g.panels.size() == 2);
  CHECK(g.panels[0].map_height == 256);
  CHECK(g.panels[1].map_height == 512);
  CHECK(g.panels[1].map_width == 384);
  CHECK(picture.rows == g.canvas_height);
  CHECK(picture.cols == g.canvas_width);
  // Left to right in one row, then the colour bar.
  CHECK(g.panels[0].map_left + g.panels[0].map_width < g.panels[1].map_left);
  CHECK(g.panels[0].map_top == g.panels[1].map_top);
  CHECK(g.bar_left > g.panels[1].map_left + g.panels[1].map_width);
  CHECK(g.bar_left + g.bar_width < g.canvas_width);

  // The same value is the same colour in both panels, and it is viridis' colour for 3.5
  // (index round(255 * 0.5) = 128, as on the colour bar halfway down).
  const Rgb in_a = panel_block_centre(picture, g, 0, 16, 16);
  const Rgb in_b = panel_block_centre(picture, g, 1, 10, 10);
  INFO("A " << text(in_a) << ", B " << text(in_b));
  CHECK(near(in_a, in_b, 0));
  CHECK(near(in_a, {33, 145, 140}, 4));  // #21918C, viridis' middle (see the colour-bar test)
  // Values above the scale are clamped to its top colour, and the bar shows an arrow head.
  CHECK(near(panel_block_centre(picture, g, 1, 40, 10), kViridisEnd, 1));
  CHECK(near(rgb_at(picture, g.bar_top - 4, g.bar_left + g.bar_width / 2), kViridisEnd, 1));
  CHECK(near(panel_block_centre(picture, g, 0, 0, 0), kNoValueGrey, 0));
  // The bar is the write_map_png bar: max at the top, min at the bottom.
  const int middle = g.bar_left + g.bar_width / 2;
  CHECK(near(rgb_at(picture, g.bar_top, middle), kViridisEnd, 1));
  CHECK(near(rgb_at(picture, g.bar_top + g.bar_height - 1, middle), kViridisStart, 1));

  // Each panel's own scale bar under it: A is 32 x 0.03 = 0.96 um wide -> 0.2 um =
  // 0.2 / 0.03 * 8 = 53.3 -> 53 px; B is 48 x 0.05 = 2.4 um wide -> 0.5 um = 80 px.
  for (std::size_t i = 0; i < 2; ++i) {
    const MapPanelsGeometry::Panel& p = g.panels[i];
    const int top = p.map_top + p.map_height + 1;
    CHECK(longest_dark_run(picture, p.map_left, top, std::min(picture.rows, top + 40)) ==
          (i == 0 ? 53 : 80));
  }
  // Panel titles: ink in the band above each map.
  for (const MapPanelsGeometry::Panel& p : g.panels) {
    const cv::Mat band = picture(cv::Rect(p.map_left, p.map_top - 20, p.map_width, 18));
    cv::Mat green;
    cv::extractChannel(band, green, 1);
    CHECK(cv::countNonZero(green < 128) > 20);
  }
}

TEST_CASE("Map panels: wrapping into rows, panels keep their relative sizes", "[png]") {
  test::TempDir dir;
  const Image<float> small(16, 16, 3.2f), large(128, 64, 3.8f);
  const ColourScale scale{3.0, 4.0, "Mn valence"};
  const std::vector<MapPanel> panels{{small.view(), "", 0.0, nullptr},
                                     {large.view(), "", 0.0, nullptr},
                                     {small.view(), "", 0.0, nullptr}};
  const MapPanelsGeometry g = map_panels_geometry(panels, scale, "", 2);
  CHECK(g.factor == 4);  // ceil(512 / 128)
  CHECK(g.panels[0].map_width == 64);
  CHECK(g.panels[1].map_height == 512);
  // Two columns: the third panel starts a second row, below the tallest of the first.
  CHECK(g.panels[2].map_top > g.panels[1].map_top + g.panels[1].map_height);
  CHECK(g.panels[2].map_left == g.panels[0].map_left);
  // The colour bar spans both rows.
  CHECK(g.bar_top + g.bar_height > g.panels[2].map_top);

  write_map_panels_png(dir / "rows.png", panels, scale, "", 2);
  const cv::Mat picture = read_png(dir / "rows.png");
  CHECK(picture.rows == g.canvas_height);
  CHECK(near(panel_block_centre(picture, g, 2, 8, 8), panel_block_centre(picture, g, 0, 8, 8), 0));
  CHECK_FALSE(
      near(panel_block_centre(picture, g, 1, 8, 8), panel_block_centre(picture, g, 0, 8, 8), 10));

  // write_map_png's rule for a single panel: the same factor and map size.
  const MapPreviewGeometry single = map_preview_geometry(128, 64, test_options());
  const MapPanelsGeometry one = map_panels_geometry({panels[1]}, scale, "");
  CHECK(one.factor == single.factor);
  CHECK(one.panels[0].map_height == single.map_height);
}

TEST_CASE("Map panels: bad panels, options and outputs", "[png]") {
  test::TempDir dir;
  const Image<float> map = test_map();
  const Image<float> empty;
  const ColourScale scale{3.0, 4.0, "Mn valence"};
  const fs::path file = dir / "p.png";
  const MapPanel good{map.view(), "good", 0.0, nullptr};

  CHECK_THROWS_AS(write_map_panels_png(file, {}, scale, "t"), InputError);
  const MapPanel hollow{empty.view(), "hollow", 0.0, nullptr};
  CHECK_THROWS_AS(write_map_panels_png(file, {good, hollow}, scale, "t"), InputError);
  CHECK_THROWS_WITH(write_map_panels_png(file, {good, hollow}, scale, "t"),
                    Catch::Contains("panel 2") && Catch::Contains("hollow"));
  CHECK_THROWS_AS(write_map_panels_png(file, {good}, {4.0, 3.0, "reversed"}, "t"), OptionError);
  CHECK_THROWS_AS(write_map_panels_png(file, {good}, scale, "t", -1), OptionError);
  MapPanel negative = good;
  negative.pixel_size_um = -0.1;
  CHECK_THROWS_AS(write_map_panels_png(file, {good, negative}, scale, "t"), OptionError);
  const Image<std::uint16_t> wrong(8, 8, 0);
  MapPanel outlined = good;
  outlined.outlines = &wrong;
  CHECK_THROWS_WITH(write_map_panels_png(file, {outlined}, scale, "t"),
                    Catch::Contains("panel 1") && Catch::Contains("outlines"));
  CHECK_FALSE(fs::exists(file));

  const fs::path unwritable = dir / "no such folder" / "panels.png";
  CHECK_THROWS_AS(write_map_panels_png(unwritable, {good}, scale, "t"), OutputError);
  CHECK_THROWS_WITH(write_map_panels_png(unwritable, {good}, scale, "t"),
                    Catch::Contains(unwritable.string()));
  CHECK(fs::is_empty(dir.path()));  // no file, no temporary left behind
}
