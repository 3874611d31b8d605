// Internal drawing helpers shared by the PNG writers (io/plots/png_preview.cpp,
// io/plots/plot_png.cpp, io/formats/shifts_table.cpp): colours, Hershey text, sub-pixel marks, the
// frame of an x-y plot (title, axes, grid, round ticks, legend) and the PNG write. For .cpp files
// of xanesmap::io only: it includes OpenCV, which no public header does.
//
// OpenCV 4.6 calls, as documented in its reference (docs.opencv.org, imgproc and imgcodecs):
// - cv::putText draws text whose `org` is the left end of the baseline; cv::getTextSize returns
//   the size above the baseline and, in *baseLine, the depth below it. The Hershey fonts have
//   printable ASCII only (other bytes come out as '?'), hence hershey_text().
// - cv::line, cv::circle and cv::fillConvexPoly take points with `shift` fractional bits: a
//   coordinate c is passed as round(c * 16) with shift 4, which places marks with sub-pixel
//   precision. Drawing is clipped to the cv::Mat drawn on (also to a ROI of a larger picture).
// - cv::imencode(".png", ...) and our own file write instead of cv::imwrite: imwrite chooses the
//   encoder from the file's extension and reports a failure only as `false`.
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/detail/opencv_headers.hpp"
#include "io/plots/png_preview.hpp"  // ColourBarTicks

namespace xanesmap::plot_draw {

// ---------------------------------------------------------------------------------------------
// Colours (cv::Scalar in OpenCV's BGR order)

inline cv::Scalar rgb(int r, int g, int b) { return cv::Scalar(b, g, r); }

inline const cv::Scalar kPaper = rgb(255, 255, 255);
inline const cv::Scalar kInk = rgb(34, 34, 34);  // text, ticks, frames
inline const cv::Scalar kGrid = rgb(228, 228, 228);

/// Okabe & Ito's colour-blind-safe palette ("Color Universal Design", 2008).
namespace okabe_ito {
inline const cv::Scalar orange = rgb(230, 159, 0);
inline const cv::Scalar sky_blue = rgb(86, 180, 233);
inline const cv::Scalar bluish_green = rgb(0, 158, 115);
inline const cv::Scalar yellow = rgb(240, 228, 66);
inline const cv::Scalar blue = rgb(0, 114, 178);
inline const cv::Scalar vermillion = rgb(213, 94, 0);
inline const cv::Scalar reddish_purple = rgb(204, 121, 167);
inline const cv::Scalar black = rgb(0, 0, 0);
}  // namespace okabe_ito

/// Colour of the i-th data series of a plot: Okabe & Ito's colours in the order blue, bluish
/// green, vermillion, orange, sky blue, reddish purple, black, yellow (the faintest on white
/// last), then again from the start.
cv::Scalar series_colour(std::size_t i);
inline constexpr std::size_t kSeriesColours = 8;

// ---------------------------------------------------------------------------------------------
// Numbers and names

std::string quoted(const std::filesystem::path& file);  ///< 'file'
std::string format_fixed(double value, int decimals);   ///< printf("%.*f")

// ---------------------------------------------------------------------------------------------
// Text

inline constexpr int kFontFace = cv::FONT_HERSHEY_DUPLEX;

/// Text as the Hershey fonts can draw it: printable ASCII, with the micro signs (U+00B5, U+03BC)
/// written as 'u' at the recorded positions (draw_text adds their descender); any other
/// non-ASCII character becomes one '?', control characters a blank.
struct Text {
  std::string ascii;
  std::vector<std::size_t> micro;
};
Text hershey_text(std::string_view utf8);

struct Font {
  double scale = 0.5;
  int thickness = 1;
};

struct TextBox {
  int width = 0;
  int ascent = 0;   // above the baseline
  int descent = 0;  // below the baseline
  int height() const { return ascent + descent; }
};

TextBox measure(const Text& text, const Font& font);

/// Draws `text` with the left end of its baseline at `origin`.
void draw_text(cv::Mat& picture, const Text& text, cv::Point origin, const Font& font,
               const cv::Scalar& colour);

/// Draws `text` turned 90 degrees anticlockwise (reading bottom to top) on a `background` box;
/// `top_left` is the top-left corner of the turned text's box, which is measure().height() wide
/// and measure().width tall.
void draw_text_upwards(cv::Mat& picture, const Text& text, cv::Point top_left, const Font& font,
                       const cv::Scalar& colour, const cv::Scalar& background = kPaper);

/// `text` at the largest scale in [min_scale, font.scale] whose width fits `width`; if even the
/// smallest does not fit, cut with "..." at that scale.
std::pair<Text, Font> fit_text(Text text, Font font, double min_scale, int width);

/// Sizes that grow with the picture: lengths in pixels at scale 1 times u, rounded, at least 1.
struct Style {
  double u = 1.0;
  int px(double v) const;
  Font font(double scale) const;  ///< {scale * u, max(1, round(u))}
};

// ---------------------------------------------------------------------------------------------
// Marks placed with sub-pixel precision (anti-aliased). Coordinates are picture pixels.

inline constexpr int kSubPixelBits = 4;
cv::Point fixed_point(double x, double y);
int fixed_length(double length);

void draw_segment(cv::Mat& picture, double x0, double y0, double x1, double y1, int thickness,
                  const cv::Scalar& colour);
void draw_circle_marker(cv::Mat& picture, double x, double y, double radius,
                        const cv::Scalar& colour);
void draw_square_marker(cv::Mat& picture, double x, double y, double half,
                        const cv::Scalar& colour);
void draw_ring(cv::Mat& picture, double x, double y, double radius, int thickness,
               const cv::Scalar& colour);

/// Cuts the segment (x0, y0)-(x1, y1) to the rectangle [left, right] x [top, bottom]
/// (Liang-Barsky); false when nothing of it is inside. Keeps coordinates of far-off points small
/// enough for OpenCV's int arithmetic.
bool clip_segment(double& x0, double& y0, double& x1, double& y1, double left, double top,
                  double right, double bottom);

// ---------------------------------------------------------------------------------------------
// The frame of an x-y plot
//
//     title (centred over the plot)
//     [sample] legend entry   [sample] legend entry ...   <- rows above the plot, wrapping
//     +---------------------------------------------+
//   y |  light grid at round ticks                  |
//   l |                                             |
//     +---------------------------------------------+
//              tick values, x label

struct LegendItem {
  Text text;
  int sample_width = 34;  ///< at style scale 1
  /// Draws the sample symbol in [left, left + sample width] centred on the row's `middle`.
  std::function<void(cv::Mat& picture, int left, int middle)> draw_sample;
};

/// Tick values as printed on plot axes: with ticks.decimals decimals, or, when the largest
/// magnitude is >= 1e6 or below 1e-4, in scientific notation with just enough digits ("2.5e+07").
std::vector<std::string> tick_labels(const ColourBarTicks& ticks);

/// The style of an x-y plot `width` x `height` pixels: sizes of a 1000x600 plot scaled by the
/// smaller of width / 1000 and height / 600, kept within [0.5, 4].
Style plot_style(int width, int height);

struct AxesSpec {
  int width = 1000, height = 600;  ///< the picture's size
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;  ///< the ranges shown (min < max, finite)
  std::vector<LegendItem> legend;                     ///< none: no legend rows
};

class Axes {
 public:
  /// Lays out the plot; sample widths of `spec.legend` are scaled by the style here.
  explicit Axes(AxesSpec spec);

  const Style& style() const { return style_; }
  int left() const { return left_; }
  int right() const { return right_; }
  int top() const { return top_; }
  int bottom() const { return bottom_; }
  /// Picture coordinates of a data value.
  double x(double value) const;
  double y(double value) const;

  /// Title, grid at the tick values, tick marks and values, axis labels.
  void draw_grid(cv::Mat& picture) const;
  /// The frame around the plot area.
  void draw_frame(cv::Mat& picture) const;
  /// The legend rows.
  void draw_legend(cv::Mat& picture) const;

 private:
  AxesSpec spec_;
  Style style_;
  int margin_ = 16, tick_length_ = 5;
  Font title_font_, tick_font_, label_font_, legend_font_;
  Text title_, x_label_, y_label_;
  std::vector<double> x_ticks_, y_ticks_;
  std::vector<Text> x_texts_, y_texts_;
  std::size_t x_text_stride_ = 1, y_text_stride_ = 1;
  struct Placed {
    int left = 0, middle = 0, row = 0;
  };
  std::vector<Placed> legend_places_;
  std::vector<int> legend_middles_;
  int left_ = 0, right_ = 0, top_ = 0, bottom_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Output

/// Encodes `picture` (CV_8UC3, BGR) as PNG and writes it to `file` through a temporary file in
/// the same folder renamed over `file`, so that `file` is never left half-written. Throws
/// OutputError naming `file` (and `what`, e.g. "drift plot") with the system's reason.
void write_png(const std::filesystem::path& file, const cv::Mat& picture, const std::string& what);

}  // namespace xanesmap::plot_draw
