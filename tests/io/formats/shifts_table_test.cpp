// Tests of io/formats/shifts_table: the CSV round trip (exact: shortest round-trip formatting),
// comments and blank lines, every reading error, writing errors, and the drift plot (written,
// readable by OpenCV, the expected size, the series and flag colours present, errors).
#include "io/formats/shifts_table.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/base/detail/opencv_headers.hpp"
#include "core/base/error.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// 110 energies from 6450 to 6700 eV with a random-walk drift; frames 17, 58, 59 and 93 have a
/// poor quality (0.3).
std::vector<ShiftRow> random_walk_rows() {
  std::mt19937 rng(7);
  std::normal_distribution<double> step(0.0, 0.35);
  std::vector<ShiftRow> rows;
  double dy = 0, dx = 0;
  for (int i = 0; i < 110; ++i) {
    dy += step(rng);
    dx += step(rng) + 0.03;
    const bool poor = i == 17 || i == 58 || i == 59 || i == 93;
    rows.push_back({6450.0 + 250.0 * i / 109.0, dy, dx, poor ? 0.3 : 0.9 + 0.025 * (i % 3)});
  }
  return rows;
}

/// Number of pixels within `tolerance` (per channel) of the RGB colour (r, g, b).
int count_colour(const cv::Mat& picture, int r, int g, int b, int tolerance) {
  int count = 0;
  for (int y = 0; y < picture.rows; ++y)
    for (int x = 0; x < picture.cols; ++x) {
      const cv::Vec3b p = picture.at<cv::Vec3b>(y, x);
      count += std::abs(p[2] - r) <= tolerance && std::abs(p[1] - g) <= tolerance &&
               std::abs(p[0] - b) <= tolerance;
    }
  return count;
}

}  // namespace

TEST_CASE("The shifts table round-trips exactly", "[shifts_table]") {
  test::TempDir dir;
  const std::vector<ShiftRow> rows{{6450.0, 0.1, -0.2, 0.95},
                                   {6450.5, 1.0 / 3.0, -2.0 / 7.0, 1.0},
                                   {6700.123456789012, -1e-17, 123456.78901234567, 0.0},
                                   {6701.0, 0.0, -0.0, -5e-300}};
  write_shifts_csv(dir / "shifts.csv", rows);
  const std::string text = read_text(dir / "shifts.csv");
  CHECK(text.rfind("energy_ev,dy_px,dx_px,quality\n6450,0.1,-0.2,0.95\n", 0) == 0);
  const std::vector<ShiftRow> back = read_shifts_csv(dir / "shifts.csv");
  REQUIRE(back.size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i);
    // Exact: the shortest round-trip representation reads back to the same double.
    CHECK(back[i].energy_ev == rows[i].energy_ev);
    CHECK(back[i].dy_px == rows[i].dy_px);
    CHECK(back[i].dx_px == rows[i].dx_px);
    CHECK(back[i].quality == rows[i].quality);
  }
  // Comment lines (e.g. the frames a map run left out) go above the header, one line each, and
  // the table reads back the same.
  write_shifts_csv(dir / "commented.csv", rows, {"excluded: frame 1", "two\nlines"});
  CHECK(read_text(dir / "commented.csv").rfind("# excluded: frame 1\n# two lines\nenergy_ev,", 0) ==
        0);
  CHECK(read_shifts_csv(dir / "commented.csv").size() == rows.size());
  // No rows: just the header, read back as an empty table.
  write_shifts_csv(dir / "empty.csv", {});
  CHECK(read_text(dir / "empty.csv") == "energy_ev,dy_px,dx_px,quality\n");
  CHECK(read_shifts_csv(dir / "empty.csv").empty());
}

TEST_CASE("The shifts table reader accepts comments, blank lines and CRLF", "[shifts_table]") {
  test::TempDir dir;
  write_text(dir / "s.csv",
             "# drift of sample A\n\n  energy_ev,dy_px,dx_px,quality\r\n"
             "# reference frame\n6540, 0.5 ,-1.25,0.9\r\n\n+6541,1e-3,-2,1\n   \n");
  const auto rows = read_shifts_csv(dir / "s.csv");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].energy_ev == 6540.0);
  CHECK(rows[0].dy_px == 0.5);
  CHECK(rows[0].dx_px == -1.25);
  CHECK(rows[0].quality == 0.9);
  CHECK(rows[1].energy_ev == 6541.0);
  CHECK(rows[1].dy_px == 1e-3);
}

TEST_CASE("Bad shifts tables are refused with the file and line", "[shifts_table]") {
  test::TempDir dir;
  const fs::path file = dir / "s.csv";
  const std::string header = "energy_ev,dy_px,dx_px,quality\n";
  const auto fails_with = [&](const std::string& text, const std::string& what) {
    write_text(file, text);
    INFO(text);
    CHECK_THROWS_AS(read_shifts_csv(file), InputError);
    CHECK_THROWS_WITH(read_shifts_csv(file),
                      Catch::Contains(file.string()) && Catch::Contains(what));
  };
  SECTION("missing file") {
    CHECK_THROWS_WITH(read_shifts_csv(dir / "nope.csv"),
                      Catch::Contains("nope.csv") && Catch::Contains("not found"));
    CHECK_THROWS_WITH(read_shifts_csv(dir.path()), Catch::Contains("folder"));
  }
  SECTION("wrong or missing header") {
    fails_with("energy,dy,dx,quality\n6540,0,0,1\n", "line 1: expected the header");
    fails_with("# only a comment\n6540,0,0,1\n", "line 2: expected the header");
    fails_with("energy_ev,dx_px,dy_px,quality\n", "line 1");  // swapped columns
    fails_with("", "no header");
    fails_with("# comment\n\n", "no header");
  }
  SECTION("wrong column count") {
    fails_with(header + "6540,0,0,1\n6541,0,0\n", "line 3: 3 comma-separated fields, expected 4");
    fails_with(header + "6540,0,0,1,7\n", "line 2: 5 comma-separated fields");
    fails_with(header + "6540 0 0 1\n", "line 2");
  }
  SECTION("non-numbers") {
    fails_with(header + "6540,zero,0,1\n", "line 2: dy_px 'zero' is not a number");
    fails_with(header + "6540,0,,1\n", "line 2: dx_px '' is not a number");
    fails_with(header + "6540,0,0,1x\n", "quality '1x'");
    fails_with(header + "6540,0,0,1\n6541,0,0,1 # note\n", "line 3");
  }
  SECTION("NaN and infinities") {
    fails_with(header + "6540,nan,0,1\n", "line 2: dy_px is nan");
    fails_with(header + "6540,0,0,NaN\n", "quality is NaN");
    fails_with(header + "inf,0,0,1\n", "energy_ev is inf");
  }
}

TEST_CASE("Writing a shifts table reports the file it cannot write", "[shifts_table]") {
  test::TempDir dir;
  CHECK_THROWS_AS(write_shifts_csv(dir / "no" / "such" / "folder.csv", {{6540, 0, 0, 1}}),
                  OutputError);
  CHECK_THROWS_WITH(write_shifts_csv(dir.path(), {}), Catch::Contains(dir.path().string()));
  // A value that could not be read back: refused, and no file is left behind.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(
      write_shifts_csv(dir / "nan.csv", {{6540, 0, 0, 1}, {6541, 0.5, 0, nan}}),
      Catch::Contains("nan.csv") && Catch::Contains("row 1") && Catch::Contains("quality"));
  CHECK_FALSE(fs::exists(dir / "nan.csv"));
}

TEST_CASE("The drift plot is a readable PNG showing both series and the flagged frames",
          "[shifts_table]") {
  test::TempDir dir;
  const auto rows = random_walk_rows();
  write_drift_plot_png(dir / "drift.png", rows, 0.5, "Drift, sample A");
  const cv::Mat picture = cv::imread((dir / "drift.png").string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(picture.empty());
  CHECK(picture.cols == 1000);
  CHECK(picture.rows == 600);
  // The series colours (Okabe & Ito blue and bluish green) and the vermillion rings are painted:
  // PNG is lossless, so the cores of lines and markers keep the exact colour. Thresholds are far
  // below what 110 points with 2 px lines paint (thousands of pixels each) and far above zero.
  CHECK(count_colour(picture, 0, 114, 178, 0) > 500);
  CHECK(count_colour(picture, 0, 158, 115, 0) > 500);
  CHECK(count_colour(picture, 213, 94, 0, 0) > 100);
  // Mostly white paper.
  CHECK(count_colour(picture, 255, 255, 255, 0) > picture.rows * picture.cols / 2);

  // Without flagged frames no vermillion is painted but the legend ring: far fewer pixels.
  write_drift_plot_png(dir / "clean.png", rows, -1.0, "");
  const cv::Mat clean = cv::imread((dir / "clean.png").string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(clean.empty());
  CHECK(count_colour(clean, 213, 94, 0, 0) < count_colour(picture, 213, 94, 0, 0) / 3);
}

TEST_CASE("The drift plot copes with degenerate data and refuses what it cannot draw",
          "[shifts_table]") {
  test::TempDir dir;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // One frame, all zero; unsorted energies with a gap (NaN dx) and a NaN quality (flagged).
  write_drift_plot_png(dir / "one.png", {{6540, 0, 0, 1}}, 0.5, "one frame");
  write_drift_plot_png(dir / "gap.png",
                       {{6560, 0.2, nan, 1}, {6540, -0.1, 0.3, 1}, {6550, 0.1, 0.2, nan}}, 0.5,
                       "a title much too long for the plot: " + std::string(200, 'x'));
  CHECK_FALSE(cv::imread((dir / "one.png").string()).empty());
  CHECK_FALSE(cv::imread((dir / "gap.png").string()).empty());

  CHECK_THROWS_AS(write_drift_plot_png(dir / "none.png", {}, 0.5, "t"), InputError);
  CHECK_THROWS_AS(write_drift_plot_png(dir / "nan.png", {{6540, 0, 0, 1}}, nan, "t"), OptionError);
  CHECK_THROWS_WITH(write_drift_plot_png(dir / "missing" / "d.png", {{6540, 0, 0, 1}}, 0.5, "t"),
                    Catch::Contains("d.png"));
  CHECK_THROWS_AS(write_drift_plot_png(dir / "missing" / "d.png", {{6540, 0, 0, 1}}, 0.5, "t"),
                  OutputError);
}
