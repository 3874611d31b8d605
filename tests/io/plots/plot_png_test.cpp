// Tests of io/plots/plot_png: plots are written, read back with OpenCV and probed where known data
// points must be drawn. The plot frame is found in the picture (the two columns and two rows of
// frame ink that run across most of it); with fixed x and y ranges a data value then has a known
// picture position, the same linear map write_plot_png uses.
//
// Tolerances: PNG is lossless, so painted colours read back exactly. Lines and markers are drawn
// anti-aliased at sub-pixel positions, so a data position is looked up within a small window
// (stated at each use) rather than at one pixel, and edge pixels of a mark are blends of its
// colour and the paper; cores of 2 px lines and of the filled point markers (radius 3.5 px) are
// the exact colour.
#include "io/plots/plot_png.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/base/detail/opencv_headers.hpp"
#include "core/base/error.hpp"
#include "support/picture.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using test::near;
using test::Rgb;
using test::rgb_at;
// Okabe & Ito colours, the first three entries of the series palette.
constexpr Rgb kBlue{0, 114, 178};
constexpr Rgb kBluishGreen{0, 158, 115};
constexpr Rgb kVermillion{213, 94, 0};
constexpr Rgb kInk{34, 34, 34};
constexpr Rgb kWhite{255, 255, 255};

cv::Mat read_png(const fs::path& file) {
  cv::Mat picture = cv::imread(file.string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(picture.empty());
  return picture;
}

/// The plot frame found in the picture, and the data -> picture map of fixed ranges.
struct Frame {
  int left = -1, right = -1, top = -1, bottom = -1;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double x(double v) const { return left + (v - x_min) / (x_max - x_min) * (right - left); }
  double y(double v) const { return bottom - (v - y_min) / (y_max - y_min) * (bottom - top); }
  int col(double v) const { return static_cast<int>(std::lround(x(v))); }
  int row(double v) const { return static_cast<int>(std::lround(y(v))); }
};

/// Frame lines are the only columns (rows) whose exact ink colour covers more than half of the
/// picture's height (width); text and ticks cover far less.
Frame find_frame(const cv::Mat& picture, double x_min, double x_max, double y_min, double y_max) {
  Frame f{-1, -1, -1, -1, x_min, x_max, y_min, y_max};
  for (int c = 0; c < picture.cols; ++c) {
    int count = 0;
    for (int r = 0; r < picture.rows; ++r) count += near(rgb_at(picture, r, c), kInk, 0);
    if (count > picture.rows / 2) {
      if (f.left < 0) f.left = c;
      f.right = c;
    }
  }
  for (int r = 0; r < picture.rows; ++r) {
    int count = 0;
    for (int c = 0; c < picture.cols; ++c) count += near(rgb_at(picture, r, c), kInk, 0);
    if (count > picture.cols / 2) {
      if (f.top < 0) f.top = r;
      f.bottom = r;
    }
  }
  REQUIRE(f.left >= 0);
  REQUIRE(f.top >= 0);
  REQUIRE(f.right - f.left > picture.cols / 2);
  REQUIRE(f.bottom - f.top > picture.rows / 3);
  return f;
}

/// Whether a pixel within `radius` of (row, col) has `colour` (within `tolerance` per channel).
bool colour_near(const cv::Mat& picture, int row, int col, int radius, const Rgb& colour,
                 int tolerance) {
  for (int r = std::max(0, row - radius); r <= std::min(picture.rows - 1, row + radius); ++r)
    for (int c = std::max(0, col - radius); c <= std::min(picture.cols - 1, col + radius); ++c)
      if (near(rgb_at(picture, r, c), colour, tolerance)) return true;
  return false;
}

/// Number of pixels in the rectangle with `colour` within `tolerance`.
int count_colour(const cv::Mat& picture, const cv::Rect& rect, const Rgb& colour, int tolerance) {
  int count = 0;
  const cv::Rect inside = rect & cv::Rect(0, 0, picture.cols, picture.rows);
  for (int r = inside.y; r < inside.y + inside.height; ++r)
    for (int c = inside.x; c < inside.x + inside.width; ++c)
      count += near(rgb_at(picture, r, c), colour, tolerance);
  return count;
}

/// Pixels that are neither paper nor the light grid (228) nor anti-aliased grid edges: some
/// channel below 200.
bool inked(const Rgb& p) { return p.r < 200 || p.g < 200 || p.b < 200; }

int count_inked(const cv::Mat& picture, const cv::Rect& rect) {
  int count = 0;
  const cv::Rect inside = rect & cv::Rect(0, 0, picture.cols, picture.rows);
  for (int r = inside.y; r < inside.y + inside.height; ++r)
    for (int c = inside.x; c < inside.x + inside.width; ++c) count += inked(rgb_at(picture, r, c));
  return count;
}

PlotSeries make_series(std::string label, std::vector<double> x, std::vector<double> y,
                       PlotStyle style) {
  PlotSeries series;
  series.label = std::move(label);
  series.x = std::move(x);
  series.y = std::move(y);
  series.style = style;
  return series;
}

PlotOptions fixed_ranges(double x0, double x1, double y0, double y1) {
  PlotOptions options;
  options.title = "test plot";
  options.x_label = "x";
  options.y_label = "y";
  options.x_range = std::pair{x0, x1};
  options.y_range = std::pair{y0, y1};
  return options;
}

}  // namespace

TEST_CASE("Plot: picture size and a line in the first palette colour through its points",
          "[plot]") {
  test::TempDir dir;
  // y = x on 0..10 with a NaN at x = 5: a gap between x = 4 and x = 6.
  PlotSeries line = make_series("", {}, {}, PlotStyle::line);
  for (int i = 0; i <= 10; ++i) {
    line.x.push_back(i);
    line.y.push_back(i == 5 ? kNaN : i);
  }
  const PlotOptions options = fixed_ranges(0, 10, 0, 10);
  write_plot_png(dir / "line.png", {line}, options);
  const cv::Mat picture = read_png(dir / "line.png");
  CHECK(picture.cols == 1000);
  CHECK(picture.rows == 600);
  const Frame f = find_frame(picture, 0, 10, 0, 10);

  // On the line, exact colour within 1 px of the computed position (the 2 px line's core).
  for (const double v : {1.0, 2.5, 3.0, 7.0, 8.5}) {
    INFO("x = y = " << v);
    CHECK(colour_near(picture, f.row(v), f.col(v), 1, kBlue, 0));
  }
  // The gap: around (5, 5), 4 px either way (the line is 2 px wide, its anti-aliased edge 1 px
  // more), nothing of the series' colour, not even blended (tolerance 100 per channel).
  CHECK(count_colour(picture, cv::Rect(f.col(5) - 4, f.row(5) - 4, 9, 9), kBlue, 100) == 0);
  // ... while the same window around (3, 3) holds the line.
  CHECK(count_colour(picture, cv::Rect(f.col(3) - 4, f.row(3) - 4, 9, 9), kBlue, 0) > 5);
  // Off the line: (2, 8) is paper or grid.
  CHECK(count_inked(picture, cv::Rect(f.col(2) - 3, f.row(8) - 3, 7, 7)) == 0);

  // A single unlabelled series has no legend: none of its colour above the frame.
  CHECK(count_colour(picture, cv::Rect(0, 0, picture.cols, f.top), kBlue, 60) == 0);

  // Other sizes are honoured exactly.
  PlotOptions small = options;
  small.width = 400;
  small.height = 300;
  write_plot_png(dir / "small.png", {line}, small);
  const cv::Mat small_picture = read_png(dir / "small.png");
  CHECK(small_picture.cols == 400);
  CHECK(small_picture.rows == 300);
}

TEST_CASE("Plot: points in an explicit colour, non-finite points skipped, error bars", "[plot]") {
  test::TempDir dir;
  PlotSeries points = make_series("measured", {1, 3, 5, 7}, {2, kNaN, 6, 4}, PlotStyle::points);
  points.colour = 2;  // vermillion
  points.y_error = {0.0, 0.0, 0.0, 2.0};
  const PlotOptions options = fixed_ranges(0, 8, 0, 8);
  write_plot_png(dir / "points.png", {points}, options);
  const cv::Mat picture = read_png(dir / "points.png");
  const Frame f = find_frame(picture, 0, 8, 0, 8);

  // Marker centres: exact colour within 1 px (rounding of the centre to a pixel).
  CHECK(colour_near(picture, f.row(2), f.col(1), 1, kVermillion, 0));
  CHECK(colour_near(picture, f.row(6), f.col(5), 1, kVermillion, 0));
  CHECK(colour_near(picture, f.row(4), f.col(7), 1, kVermillion, 0));
  // The NaN point at x = 3: nothing of the colour in its column band (marker radius 3.5 px + 1).
  CHECK(count_colour(picture, cv::Rect(f.col(3) - 5, f.top + 1, 11, f.bottom - f.top - 1),
                     kVermillion, 100) == 0);
  // Points are not joined: halfway between (5, 6) and (7, 4) is empty.
  CHECK(count_colour(picture, cv::Rect(f.col(6) - 3, f.row(5) - 3, 7, 7), kVermillion, 100) == 0);
  // Error bar of the point (7, 4) +- 2: a 1 px anti-aliased line, so look for ink within 2 px
  // of the column at 4 + 1.6 (inside the bar, clear of the marker) and none at 4 + 2.6 (above
  // the cap, which is at 4 + 2).
  CHECK(count_inked(picture, cv::Rect(f.col(7) - 2, f.row(5.6), 5, 1)) > 0);
  CHECK(count_inked(picture, cv::Rect(f.col(7) - 2, f.row(6.6), 5, 1)) == 0);

  // A labelled series gets a legend above the plot, with its colour.
  CHECK(count_colour(picture, cv::Rect(0, 0, picture.cols, f.top), kVermillion, 0) > 10);
}

TEST_CASE("Plot: steps outline at the bin heights, translucent fill, NaN bin left out", "[plot]") {
  test::TempDir dir;
  // Bins [0,1) = 1, [1,2) = 3, [2,3) = 2, [3,4) = NaN, [4,5) = 1.5.
  PlotSeries histogram =
      make_series("counts", {0, 1, 2, 3, 4, 5}, {1, 3, 2, kNaN, 1.5}, PlotStyle::steps);
  histogram.filled = true;
  const PlotOptions options = fixed_ranges(-0.5, 5.5, 0, 4);
  write_plot_png(dir / "steps.png", {histogram}, options);
  const cv::Mat picture = read_png(dir / "steps.png");
  const Frame f = find_frame(picture, -0.5, 5.5, 0, 4);

  // The topmost pixel of the series' exact colour in each bin's middle column sits on the bin's
  // height: the 2 px outline's core covers y(value) -1..+1 px, so within 2 px.
  const auto top_of_colour = [&](double x) {
    for (int r = f.top + 1; r < f.bottom; ++r)
      if (near(rgb_at(picture, r, f.col(x)), kBlue, 0)) return r;
    return -1;
  };
  const std::vector<std::pair<double, double>> bins{{0.5, 1}, {1.5, 3}, {2.5, 2}, {4.5, 1.5}};
  for (const auto& [middle, height] : bins) {
    INFO("bin at " << middle << ", height " << height);
    const int row = top_of_colour(middle);
    REQUIRE(row >= 0);
    CHECK(std::abs(row - f.y(height)) <= 2.0);
  }
  // Under the outline, the fill: 25% of the colour over white, each channel rounded once
  // (tolerance 1). Above it: paper or grid.
  const Rgb fill{static_cast<int>(std::lround(0.25 * kBlue.r + 0.75 * 255)),
                 static_cast<int>(std::lround(0.25 * kBlue.g + 0.75 * 255)),
                 static_cast<int>(std::lround(0.25 * kBlue.b + 0.75 * 255))};
  CHECK(near(rgb_at(picture, f.row(1.3), f.col(1.5)), fill, 1));
  CHECK(near(rgb_at(picture, f.row(0.5), f.col(0.5)), fill, 1));
  CHECK(count_inked(picture, cv::Rect(f.col(1.5) - 3, f.row(3.5) - 3, 7, 7)) == 0);
  // The NaN bin [3, 4): no outline and no fill in its middle (3 px from its edges, whose
  // vertical outline parts are 2 px wide), from the frame's top to just above the bottom frame.
  CHECK(
      count_colour(picture,
                   cv::Rect(f.col(3) + 3, f.top + 1, f.col(4) - f.col(3) - 6, f.bottom - f.top - 2),
                   kBlue, 200) == 0);
  // The fill reaches the baseline (y = 0 is the frame's bottom): just above it, still filled.
  CHECK(near(rgb_at(picture, f.bottom - 2, f.col(2.5)), fill, 1));
}

TEST_CASE("Plot: automatic colours skip explicit ones, legend, vertical markers", "[plot]") {
  test::TempDir dir;
  // Series 1 asks for nothing, series 2 for palette entry 0 (blue): series 1 gets the next
  // free entry, bluish green.
  PlotSeries a = make_series("", {0, 10}, {2, 2}, PlotStyle::line);
  PlotSeries b = make_series("", {0, 10}, {6, 6}, PlotStyle::line);
  b.colour = 0;
  PlotOptions options = fixed_ranges(0, 10, 0, 8);
  options.vertical_markers = {{2.5, "mean"}, {100.0, "outside the range"}};
  write_plot_png(dir / "colours.png", {a, b}, options);
  const cv::Mat picture = read_png(dir / "colours.png");
  const Frame f = find_frame(picture, 0, 10, 0, 8);
  CHECK(colour_near(picture, f.row(2), f.col(7), 1, kBluishGreen, 0));
  CHECK(colour_near(picture, f.row(6), f.col(7), 1, kBlue, 0));
  CHECK_FALSE(colour_near(picture, f.row(2), f.col(7), 3, kBlue, 60));
  // Two series without labels still get a legend ("series 1", "series 2"), with both colours.
  const cv::Rect above(0, 0, picture.cols, f.top);
  CHECK(count_colour(picture, above, kBluishGreen, 0) > 10);
  CHECK(count_colour(picture, above, kBlue, 0) > 10);

  // The marker at x = 2.5: a dashed grey line, 6 px dashes and 4 px gaps, so 40-80% of the
  // column between the frame lines is grey (x = 2.5 may fall between two pixel columns: take
  // the darker of the two neighbouring columns in each row; the label at the top counts too).
  const int column = static_cast<int>(std::floor(f.x(2.5)));
  int grey = 0;
  for (int r = f.top + 1; r < f.bottom; ++r)
    grey += inked(rgb_at(picture, r, column)) || inked(rgb_at(picture, r, column + 1));
  const double share = static_cast<double>(grey) / (f.bottom - f.top - 1);
  CHECK(share > 0.4);
  CHECK(share < 0.8);
}

TEST_CASE("Plot: automatic ranges include every finite point, y_from_zero starts at 0", "[plot]") {
  test::TempDir dir;
  PlotSeries points = make_series("", {6540, 6550, 6560}, {3.2, 3.6, kNaN}, PlotStyle::points);
  PlotOptions options;
  options.y_from_zero = true;
  write_plot_png(dir / "auto.png", {points}, options);
  const cv::Mat picture = read_png(dir / "auto.png");
  // x: 6540..6550 (the point at 6560 has no y, so no place) padded by 2% of 10 = 0.2 on each
  // side; y: 0 (not padded) .. 3.6 + 5% of 3.6.
  const Frame f = find_frame(picture, 6539.8, 6550.2, 0.0, 3.6 * 1.05);
  CHECK(colour_near(picture, f.row(3.2), f.col(6540), 1, kBlue, 0));
  CHECK(colour_near(picture, f.row(3.6), f.col(6550), 1, kBlue, 0));

  // A single point: a range around it.
  write_plot_png(dir / "one.png", {make_series("", {2.0}, {5.0}, PlotStyle::points)},
                 PlotOptions{});
  CHECK(read_png(dir / "one.png").cols == 1000);

  // Extreme magnitudes are drawn (tick values in scientific notation) as long as the range's
  // span is a finite double; beyond that, refused naming the file.
  CHECK_NOTHROW(write_plot_png(dir / "huge.png",
                               {make_series("", {0, 1, 2}, {1e300, -1e300, 0}, PlotStyle::line)},
                               PlotOptions{}));
  CHECK_THROWS_AS(write_plot_png(dir / "overflow.png",
                                 {make_series("", {0, 1}, {1.7e308, -1.7e308}, PlotStyle::line)},
                                 PlotOptions{}),
                  InputError);
  CHECK_THROWS_WITH(write_plot_png(dir / "overflow.png",
                                   {make_series("", {0, 1}, {1.7e308, -1.7e308}, PlotStyle::line)},
                                   PlotOptions{}),
                    Catch::Contains("overflow.png"));
}

TEST_CASE("Plot: bad sizes, bad series and unwritable files are refused", "[plot]") {
  test::TempDir dir;
  const PlotSeries good = make_series("good", {0, 1}, {0, 1}, PlotStyle::line);
  const fs::path file = dir / "p.png";

  PlotOptions options;
  options.width = 199;
  CHECK_THROWS_AS(write_plot_png(file, {good}, options), OptionError);
  options.width = 8001;
  CHECK_THROWS_AS(write_plot_png(file, {good}, options), OptionError);
  options = PlotOptions{};
  options.height = 150;
  CHECK_THROWS_WITH(write_plot_png(file, {good}, options), Catch::Contains("150"));
  options = PlotOptions{};
  options.x_range = std::pair{2.0, 1.0};
  CHECK_THROWS_AS(write_plot_png(file, {good}, options), OptionError);
  options.x_range = std::pair{0.0, kNaN};
  CHECK_THROWS_AS(write_plot_png(file, {good}, options), OptionError);
  options = PlotOptions{};

  CHECK_THROWS_AS(write_plot_png(file, {}, options), InputError);
  // Mismatched lengths: the message names the file and the series by number and label.
  const PlotSeries short_x = make_series("b", {0, 1}, {0, 1, 2}, PlotStyle::line);
  CHECK_THROWS_AS(write_plot_png(file, {good, short_x}, options), InputError);
  CHECK_THROWS_WITH(write_plot_png(file, {good, short_x}, options),
                    Catch::Contains(file.string()) && Catch::Contains("series 2 ('b')"));
  const PlotSeries steps_same = make_series("h", {0, 1, 2}, {1, 2, 3}, PlotStyle::steps);
  CHECK_THROWS_WITH(write_plot_png(file, {steps_same}, options),
                    Catch::Contains("series 1 ('h')") && Catch::Contains("bin edges"));
  PlotSeries bad_errors = good;
  bad_errors.y_error = {0.1};
  CHECK_THROWS_WITH(write_plot_png(file, {bad_errors}, options),
                    Catch::Contains("series 1 ('good')"));
  // Nothing finite anywhere: refused, naming the series.
  const PlotSeries nans = make_series("empty one", {kNaN, 1}, {0, kNaN}, PlotStyle::points);
  const PlotSeries none = make_series("", {}, {}, PlotStyle::line);
  CHECK_THROWS_AS(write_plot_png(file, {nans, none}, options), InputError);
  CHECK_THROWS_WITH(write_plot_png(file, {nans, none}, options),
                    Catch::Contains("no series has a finite point") &&
                        Catch::Contains("series 1 ('empty one')") && Catch::Contains("series 2"));
  // ... but one finite series among empty ones is drawn.
  CHECK_NOTHROW(write_plot_png(file, {nans, good}, options));
  CHECK(fs::exists(file));
  fs::remove(file);

  const fs::path unwritable = dir / "no such folder" / "plot.png";
  CHECK_THROWS_AS(write_plot_png(unwritable, {good}, options), OutputError);
  CHECK_THROWS_WITH(write_plot_png(unwritable, {good}, options),
                    Catch::Contains(unwritable.string()));
  CHECK_THROWS_AS(write_plot_png(dir.path(), {good}, options), OutputError);  // a folder
  // Nothing left behind by the failures: no file, no temporary.
  CHECK(fs::is_empty(dir.path()));
}
