// PNG previews drawn with OpenCV (core, imgproc, imgcodecs). The contract is in png_preview.hpp.
//
// OpenCV 4.6 calls used, as documented in its reference (docs.opencv.org, modules imgproc and
// imgcodecs):
// - cv::applyColorMap(src CV_8UC1, dst, COLORMAP_VIRIDIS) gives CV_8UC3 pixels in BGR order. It is
//   applied once to a 0..255 ramp to get a 256-entry lookup table; the maps are then painted
//   block by block from that table, which is the exact integer nearest-neighbour enlargement
//   (cv::resize with INTER_NEAREST computes source indices in floating point).
// - Text (Hershey fonts, micro sign), the Okabe & Ito colours and the PNG write are shared with
//   the other pictures in io/plots/plot_draw.hpp.
#include "io/plots/png_preview.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string_view>

#include "core/base/detail/opencv_headers.hpp"
#include "core/base/error.hpp"
#include "io/plots/plot_draw.hpp"

namespace xanesmap {
namespace {

namespace fs = std::filesystem;

using plot_draw::draw_text;
using plot_draw::draw_text_upwards;
using plot_draw::fit_text;
using plot_draw::Font;
using plot_draw::format_fixed;
using plot_draw::hershey_text;
using plot_draw::kInk;
using plot_draw::kPaper;
using plot_draw::measure;
using plot_draw::Style;
using plot_draw::Text;
using plot_draw::TextBox;

using Bgr = cv::Vec3b;

const Bgr kNoValue(80, 80, 80);  // NaN: neutral, darker than anything in viridis but its start
const Bgr kOtherCode(0, 0, 0);   // codes missing from a category legend
const Bgr kOutline(255, 255, 255);
constexpr std::size_t kMinLongSide = 512;    // enlarge smaller maps to at least this
constexpr std::size_t kMaxLongSide = 16384;  // refuse larger pictures (~800 MB of BGR)
constexpr int kMaxCanvasSide = 32767;        // refuse panel figures larger than this

// ---------------------------------------------------------------------------------------------
// Colours

std::array<Bgr, 256> viridis_table() {
  cv::Mat ramp(1, 256, CV_8UC1);
  for (int i = 0; i < 256; ++i) ramp.at<unsigned char>(0, i) = static_cast<unsigned char>(i);
  cv::Mat colours;
  cv::applyColorMap(ramp, colours, cv::COLORMAP_VIRIDIS);
  std::array<Bgr, 256> table{};
  for (int i = 0; i < 256; ++i) table[static_cast<std::size_t>(i)] = colours.at<Bgr>(0, i);
  return table;
}

/// Colour-map index of a non-NaN value: the scale's ends map to 0 and 255, outside is clamped.
std::size_t colour_index(double value, const ColourScale& scale) {
  const double t = (value - scale.min) / (scale.max - scale.min);
  if (!(t > 0.0)) return 0;
  if (t >= 1.0) return 255;
  return static_cast<std::size_t>(std::lround(255.0 * t));
}

Bgr rgb(int r, int g, int b) {
  return {static_cast<unsigned char>(b), static_cast<unsigned char>(g),
          static_cast<unsigned char>(r)};
}

Bgr bgr(const cv::Scalar& colour) {
  return {cv::saturate_cast<unsigned char>(colour[0]), cv::saturate_cast<unsigned char>(colour[1]),
          cv::saturate_cast<unsigned char>(colour[2])};
}

/// Colour of the i-th legend entry: a neutral light grey for the first (by convention the
/// background or "not analysed" code), then Okabe & Ito's colour-blind-safe palette ("Color
/// Universal Design", 2008) without its black, then further well-separated colours, then hues
/// spaced by the golden angle.
Bgr category_colour(std::size_t i) {
  namespace oi = plot_draw::okabe_ito;
  static const std::array<Bgr, 16> palette{
      rgb(200, 200, 200), bgr(oi::bluish_green), bgr(oi::orange),         bgr(oi::vermillion),
      bgr(oi::blue),      bgr(oi::sky_blue),     bgr(oi::reddish_purple), bgr(oi::yellow),
      rgb(140, 86, 75),   rgb(188, 189, 34),     rgb(148, 103, 189),      rgb(255, 152, 150),
      rgb(44, 160, 44),   rgb(174, 199, 232),    rgb(255, 187, 120),      rgb(23, 190, 207)};
  if (i < palette.size()) return palette[i];
  const double hue = std::fmod(static_cast<double>(i) * 137.507764, 360.0);  // degrees
  cv::Mat hsv(1, 1, CV_8UC3,
              cv::Scalar(hue / 2.0, i % 2 ? 170.0 : 230.0, i % 3 ? 200.0 : 150.0));  // H in 0..180
  cv::Mat converted;
  cv::cvtColor(hsv, converted, cv::COLOR_HSV2BGR);
  return converted.at<Bgr>(0, 0);
}

// ---------------------------------------------------------------------------------------------
// Layout shared by all kinds of picture

struct MapArea {
  int factor = 1;
  int height = 0, width = 0;  // in picture pixels
  Style style;
};

MapArea map_area(std::size_t height, std::size_t width) {
  if (height == 0 || width == 0)
    throw InputError("cannot draw a preview of an empty (" + size_text(height, width) + ") map");
  const std::size_t long_side = std::max(height, width);
  if (long_side > kMaxLongSide)
    throw InputError("cannot draw a preview of a " + size_text(height, width) +
                     " map: the long side is limited to " + std::to_string(kMaxLongSide));
  const std::size_t factor =
      long_side < kMinLongSide ? (kMinLongSide + long_side - 1) / long_side : 1;
  MapArea area;
  area.factor = static_cast<int>(factor);
  area.height = static_cast<int>(height * factor);
  area.width = static_cast<int>(width * factor);
  area.style.u =
      std::clamp(static_cast<double>(std::max(area.height, area.width)) / 560.0, 1.0, 4.0);
  return area;
}

struct Title {
  Text text;
  Font font;
  int block_height = 0;  // from the top margin to the map's top
};

/// The title laid out for a canvas at least `width` wide; widens `width` (up to 800 px at scale 1)
/// for a long title, then shrinks or cuts the title.
Title layout_title(const std::string& title, const Style& style, int& width) {
  Title laid;
  laid.text = hershey_text(title);
  laid.font = style.font(0.8);
  if (laid.text.ascii.empty()) return laid;
  const int margin = style.px(16);
  const int wanted = measure(laid.text, laid.font).width + 2 * margin;
  width = std::max(width, std::min(wanted, std::max(width, style.px(800))));
  std::tie(laid.text, laid.font) =
      fit_text(laid.text, laid.font, 0.55 * style.u, width - 2 * margin);
  const TextBox box = measure(laid.text, laid.font);
  laid.block_height = box.height() + style.px(12);
  return laid;
}

void draw_title(cv::Mat& picture, const Title& title, int map_left, int map_width, int margin) {
  if (title.text.ascii.empty()) return;
  const TextBox box = measure(title.text, title.font);
  int x = map_left + (map_width - box.width) / 2;  // centred over the map when it fits there
  x = std::min(x, picture.cols - margin - box.width);
  x = std::max(x, margin);
  draw_text(picture, title.text, {x, margin + box.ascent}, title.font, kInk);
}

/// Paints map pixels as factor x factor blocks with the map's top-left corner at (top, left);
/// `colour(r, c)` gives each value pixel's colour. Then the frame around the map.
template <typename ColourOf>
void paint_map(cv::Mat& picture, std::size_t height, std::size_t width, int top, int left,
               int factor, ColourOf colour) {
  const auto f = static_cast<std::size_t>(factor);
  std::vector<Bgr> row(width * f);
  for (std::size_t r = 0; r < height; ++r) {
    for (std::size_t c = 0; c < width; ++c)
      std::fill_n(row.begin() + static_cast<std::ptrdiff_t>(c * f), f, colour(r, c));
    for (std::size_t dy = 0; dy < f; ++dy)
      std::copy(row.begin(), row.end(), picture.ptr<Bgr>(top + static_cast<int>(r * f + dy), left));
  }
  cv::rectangle(picture, cv::Point(left - 1, top - 1),
                cv::Point(left + static_cast<int>(width * f), top + static_cast<int>(height * f)),
                kInk, 1);
}

/// White lines along the boundaries of nonzero labels, inside each labelled pixel.
void paint_outlines(cv::Mat& picture, const Image<std::uint16_t>& labels, int top, int left,
                    int factor) {
  const int line = std::max(1, (factor + 2) / 4);
  const std::size_t height = labels.height(), width = labels.width();
  for (std::size_t r = 0; r < height; ++r)
    for (std::size_t c = 0; c < width; ++c) {
      const std::uint16_t label = labels(r, c);
      if (label == 0) continue;
      const bool up = r > 0 && labels(r - 1, c) != label;
      const bool down = r + 1 < height && labels(r + 1, c) != label;
      const bool before = c > 0 && labels(r, c - 1) != label;
      const bool after = c + 1 < width && labels(r, c + 1) != label;
      if (!(up || down || before || after)) continue;
      for (int dy = 0; dy < factor; ++dy) {
        auto* out = picture.ptr<Bgr>(top + static_cast<int>(r) * factor + dy,
                                     left + static_cast<int>(c) * factor);
        for (int dx = 0; dx < factor; ++dx)
          if ((up && dy < line) || (down && dy >= factor - line) || (before && dx < line) ||
              (after && dx >= factor - line))
            out[dx] = kOutline;
      }
    }
}

// ---------------------------------------------------------------------------------------------
// Pieces of the value-map pictures: options, colour bar, scale bar, "no value" key

void validate_scale(const ColourScale& s) {
  if (!std::isfinite(s.min) || !std::isfinite(s.max) || !(s.max > s.min))
    throw OptionError("scale", "needs finite min < max, got min " + format_fixed(s.min, 6) +
                                   ", max " + format_fixed(s.max, 6));
}

void validate_pixel_size(double pixel_size_um, const std::string& context) {
  if (!std::isfinite(pixel_size_um) || pixel_size_um < 0.0)
    throw OptionError("pixel-size", context + "must be >= 0 micrometres (0 = no scale bar), got " +
                                        format_fixed(pixel_size_um, 6));
}

/// The colour bar with its tick values and turned label, beside a map area `area_height` tall
/// whose top is at y = 0 until place() moves it down.
struct ColourBarLayout {
  int left = 0, top = 0, width = 0, height = 0;  // the bar itself
  int triangle = 0;  // height of the out-of-range arrow heads above and below the bar
  ColourBarTicks ticks;
  std::vector<Text> tick_texts;
  Font tick_font, label_font;
  int tick_length = 0, tick_text_left = 0;
  Text label;
  cv::Point label_top_left;
  int right = 0;  // right end of everything drawn (label, ticks, "no value" key)

  void place(int area_top) {
    top = area_top + triangle + 1;
    label_top_left.y += area_top;
  }
};

/// At least 260 px (scale 1) tall, with room for the arrow heads; `left` is the bar's left edge.
ColourBarLayout layout_colour_bar(const ColourScale& scale, const Style& s, int left,
                                  int area_height, const Font& small_font) {
  ColourBarLayout b;
  b.tick_font = s.font(0.55);
  b.label_font = s.font(0.65);
  b.triangle = s.px(11);
  b.left = left;
  b.width = s.px(20);
  b.height = area_height - 2 * (b.triangle + 1);
  b.tick_length = s.px(5);
  b.tick_text_left = b.left + b.width + b.tick_length + s.px(5);
  b.ticks = colour_bar_ticks(scale.min, scale.max);
  int tick_text_width = 0;
  for (const double value : b.ticks.values) {
    b.tick_texts.push_back(hershey_text(format_fixed(value, b.ticks.decimals)));
    tick_text_width = std::max(tick_text_width, measure(b.tick_texts.back(), b.tick_font).width);
  }
  int right = b.tick_text_left + tick_text_width;

  // Label, turned, right of the tick values; shrunk or cut to the bar's height.
  std::tie(b.label, b.label_font) =
      fit_text(hershey_text(scale.label), b.label_font, 0.45 * s.u, area_height);
  const TextBox label_box = measure(b.label, b.label_font);
  if (label_box.width > 0) {
    b.label_top_left = {right + s.px(12), (area_height - label_box.width) / 2};  // y: + area top
    right = b.label_top_left.x + label_box.height();
  }
  // The "no value" key under the bar.
  b.right = std::max(
      right, b.left + b.width + s.px(6) + measure(hershey_text("no value"), small_font).width);
  return b;
}

/// Height of the row under a map (scale bar, "no value" key).
int under_row_height(const Style& s, const Font& small_font) {
  return std::max(s.px(16), measure(hershey_text("no value 0"), small_font).height());
}

struct MapLayout {
  MapPreviewGeometry g;
  Style style;
  int margin = 0;
  Title title;
  ColourBarLayout bar;
  Font small_font;
  int row_middle = 0;  // vertical centre of the row under the map (scale bar, "no value")
};

MapLayout layout_map(std::size_t height, std::size_t width, const MapPreviewOptions& options) {
  validate_scale(options.scale);
  validate_pixel_size(options.pixel_size_um, "");
  const MapArea area = map_area(height, width);
  MapLayout l;
  l.style = area.style;
  const Style& s = l.style;
  l.margin = s.px(16);
  l.g.factor = area.factor;
  l.g.map_height = area.height;
  l.g.map_width = area.width;
  l.g.map_left = l.margin;
  l.small_font = s.font(0.5);

  // Colour bar beside the map, at least 260 px (scale 1) tall.
  const int area_height = std::max(area.height, s.px(260));
  l.bar = layout_colour_bar(options.scale, s, l.g.map_left + area.width + s.px(24), area_height,
                            l.small_font);
  l.g.canvas_width = l.bar.right + l.margin;

  l.title = layout_title(options.title, s, l.g.canvas_width);
  l.g.map_top = l.margin + l.title.block_height;
  l.bar.place(l.g.map_top);
  const int row_height = under_row_height(s, l.small_font);
  const int row_top = l.g.map_top + area_height + s.px(12);
  l.row_middle = row_top + row_height / 2;
  l.g.canvas_height = row_top + row_height + l.margin;
  l.g.bar_top = l.bar.top;
  l.g.bar_left = l.bar.left;
  l.g.bar_height = l.bar.height;
  l.g.bar_width = l.bar.width;
  return l;
}

void draw_colour_bar(cv::Mat& picture, const ColourBarLayout& b, const Style& style,
                     const ColourScale& scale, const std::array<Bgr, 256>& table, bool above,
                     bool below) {
  for (int y = 0; y < b.height; ++y) {
    const double t = b.height > 1 ? static_cast<double>(b.height - 1 - y) / (b.height - 1) : 1.0;
    const Bgr& colour = table[static_cast<std::size_t>(std::lround(255.0 * t))];
    auto* out = picture.ptr<Bgr>(b.top + y, b.left);
    std::fill_n(out, b.width, colour);
  }
  const int left = b.left - 1, right = b.left + b.width;
  const int top = b.top - 1, bottom = b.top + b.height;
  const auto arrow_head = [&](int base_y, int tip_y, const Bgr& colour) {
    const std::array<cv::Point, 3> corners{cv::Point(left, base_y), cv::Point(right, base_y),
                                           cv::Point((left + right + 1) / 2, tip_y)};
    cv::fillConvexPoly(picture, corners.data(), 3, cv::Scalar(colour), cv::LINE_AA);
    // The two slanted sides only: the base lies on the bar's frame, and an anti-aliased stroke
    // along it would bleed into the bar's first (last) row.
    const std::array<cv::Point, 3> sides{corners[0], corners[2], corners[1]};
    const cv::Point* polygon = sides.data();
    const int count = 3;
    cv::polylines(picture, &polygon, &count, 1, false, kInk, 1, cv::LINE_AA);
  };
  if (above) arrow_head(top, top - b.triangle, table[255]);
  if (below) arrow_head(bottom, bottom + b.triangle, table[0]);
  cv::rectangle(picture, cv::Point(left, top), cv::Point(right, bottom), kInk, 1);

  for (std::size_t i = 0; i < b.ticks.values.size(); ++i) {
    const double fraction = (scale.max - b.ticks.values[i]) / (scale.max - scale.min);
    const int y = b.top + static_cast<int>(std::lround(fraction * (b.height - 1)));
    cv::line(picture, {right, y}, {right + b.tick_length, y}, kInk, std::max(1, style.px(1)));
    const TextBox box = measure(b.tick_texts[i], b.tick_font);
    draw_text(picture, b.tick_texts[i], {b.tick_text_left, y + box.ascent / 2}, b.tick_font, kInk);
  }
  draw_text_upwards(picture, b.label, b.label_top_left, b.label_font, kInk);
}

/// A scale bar starting at `left`, vertically centred on `middle`, for a map `width` value pixels
/// wide drawn `factor` times enlarged.
void draw_scale_bar(cv::Mat& picture, int left, int middle, int factor, std::size_t width,
                    double pixel_size_um, const Style& style, const Font& font) {
  const double width_um = static_cast<double>(width) * pixel_size_um;
  const double length_um = scale_bar_length_um(width_um);
  const int length = std::max(1, static_cast<int>(std::lround(length_um / pixel_size_um * factor)));
  const int thickness = style.px(5);
  const int top = middle - thickness / 2;
  cv::rectangle(picture, cv::Point(left, top), cv::Point(left + length - 1, top + thickness - 1),
                kInk, cv::FILLED);
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(length_um) + 1e-9)));
  const Text text = hershey_text(format_fixed(length_um, decimals) + " \u00b5m");
  const TextBox box = measure(text, font);
  draw_text(picture, text, {left + length + style.px(8), middle + box.ascent / 2}, font, kInk);
}

/// The NaN swatch and "no value" under the colour bar, vertically centred on `middle`.
void draw_no_value_key(cv::Mat& picture, const ColourBarLayout& b, int middle, const Style& style,
                       const Font& font) {
  const int size = style.px(14);
  const int top = middle - size / 2;
  const cv::Rect swatch(b.left, top, b.width, size);
  cv::rectangle(picture, swatch, cv::Scalar(kNoValue), cv::FILLED);
  cv::rectangle(picture, cv::Point(swatch.x - 1, swatch.y - 1),
                cv::Point(swatch.x + swatch.width, swatch.y + swatch.height), kInk, 1);
  const Text text = hershey_text("no value");
  const TextBox box = measure(text, font);
  draw_text(picture, text, {swatch.x + swatch.width + style.px(6), middle + box.ascent / 2}, font,
            kInk);
}

/// What a value map holds relative to the scale: decides the arrow heads and the NaN key.
struct ValueSummary {
  bool any_nan = false, above = false, below = false;
  void add(ImageView<const float> values, const ColourScale& scale) {
    for (std::size_t r = 0; r < values.height(); ++r)
      for (std::size_t c = 0; c < values.width(); ++c) {
        const float v = values(r, c);
        any_nan = any_nan || std::isnan(v);
        above = above || v > scale.max;
        below = below || v < scale.min;
      }
  }
};

/// Paints a value map in viridis (NaN grey) with optional outlines; see paint_map.
void paint_values(cv::Mat& picture, ImageView<const float> values, const ColourScale& scale,
                  const std::array<Bgr, 256>& table, const Image<std::uint16_t>* outlines, int top,
                  int left, int factor) {
  paint_map(picture, values.height(), values.width(), top, left, factor,
            [&](std::size_t r, std::size_t c) {
              const float v = values(r, c);
              return std::isnan(v) ? kNoValue : table[colour_index(v, scale)];
            });
  if (outlines) paint_outlines(picture, *outlines, top, left, factor);
}

void check_outlines(const Image<std::uint16_t>* outlines, std::size_t height, std::size_t width,
                    const std::string& context) {
  if (outlines && (outlines->height() != height || outlines->width() != width))
    throw InputError(context + "particle outlines are " +
                     size_text(outlines->height(), outlines->width()) + " but the map is " +
                     size_text(height, width));
}

// ---------------------------------------------------------------------------------------------
// Panel figure layout

std::string panel_name(const std::vector<MapPanel>& panels, std::size_t i) {
  std::string name = "panel " + std::to_string(i + 1) + " of " + std::to_string(panels.size());
  if (!panels[i].title.empty()) name += " ('" + panels[i].title + "')";
  return name;
}

struct PanelsLayout {
  MapPanelsGeometry g;
  Style style;
  int margin = 0, grid_width = 0;
  Title title;
  ColourBarLayout bar;
  Font small_font;
  struct Panel {
    Text title;
    Font title_font;
    cv::Point title_origin;
    int row_middle = 0;  // the scale bar's row
  };
  std::vector<Panel> panels;
  int key_middle = 0;  // the "no value" key's row, under the colour bar
};

PanelsLayout layout_panels(const std::vector<MapPanel>& panels, const ColourScale& scale,
                           const std::string& title, int columns) {
  if (panels.empty()) throw InputError("cannot draw a panel figure without panels");
  validate_scale(scale);
  if (columns < 0)
    throw OptionError("columns",
                      "must be >= 0 (0 = all panels in one row), got " + std::to_string(columns));
  std::size_t largest = 0, longest = 0;
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const MapPanel& p = panels[i];
    const std::string name = panel_name(panels, i);
    try {
      map_area(p.values.height(), p.values.width());  // empty or too large
    } catch (const Error& e) {
      rethrow_with_context(e, name);
    }
    validate_pixel_size(p.pixel_size_um, name + ": ");
    check_outlines(p.outlines, p.values.height(), p.values.width(), name + ": ");
    const std::size_t long_side = std::max(p.values.height(), p.values.width());
    if (long_side > longest) {
      longest = long_side;
      largest = i;
    }
  }
  const MapArea area = map_area(panels[largest].values.height(), panels[largest].values.width());
  PanelsLayout l;
  l.style = area.style;
  const Style& s = l.style;
  const int f = area.factor;
  l.g.factor = f;
  l.margin = s.px(16);
  l.small_font = s.font(0.5);
  const Font panel_font = s.font(0.65);

  const std::size_t n = panels.size();
  const std::size_t cols = columns == 0 ? n : std::min(n, static_cast<std::size_t>(columns));
  const std::size_t rows = (n + cols - 1) / cols;
  int cell_width = 0, cell_height = 0;
  bool any_title = false, any_scale_bar = false;
  for (const MapPanel& p : panels) {
    cell_width = std::max(cell_width, static_cast<int>(p.values.width()) * f);
    cell_height = std::max(cell_height, static_cast<int>(p.values.height()) * f);
    any_title = any_title || !hershey_text(p.title).ascii.empty();
    any_scale_bar = any_scale_bar || p.pixel_size_um > 0;
  }
  const int title_height = any_title ? measure(Text{"Ag", {}}, panel_font).height() + s.px(8) : 0;
  const int row_height = under_row_height(s, l.small_font);
  const int under_height = any_scale_bar ? s.px(12) + row_height : 0;
  const int column_gap = s.px(24), row_gap = s.px(16);
  const int block = title_height + cell_height + under_height;
  const auto rows_i = static_cast<int>(rows), cols_i = static_cast<int>(cols);
  // In 64-bit first: many large panels could overflow int.
  const long long grid_width =
      static_cast<long long>(cols_i) * cell_width + static_cast<long long>(cols_i - 1) * column_gap;
  const long long grid_height =
      static_cast<long long>(rows_i) * block + static_cast<long long>(rows_i - 1) * row_gap;
  if (grid_width > kMaxCanvasSide || grid_height > kMaxCanvasSide)
    throw InputError("the " + std::to_string(n) + " panels would make a picture larger than " +
                     std::to_string(kMaxCanvasSide) +
                     " pixels on a side; use more or fewer columns");
  l.grid_width = static_cast<int>(grid_width);

  // The colour bar spans from the first row's maps to the last row's.
  const int span = (rows_i - 1) * (block + row_gap) + cell_height;
  const int area_height = std::max(span, s.px(260));
  l.bar =
      layout_colour_bar(scale, s, l.margin + l.grid_width + s.px(24), area_height, l.small_font);
  l.g.canvas_width = l.bar.right + l.margin;
  l.title = layout_title(title, s, l.g.canvas_width);
  const int grid_top = l.margin + l.title.block_height;
  l.bar.place(grid_top + title_height);
  const int key_top = grid_top + title_height + area_height + s.px(12);
  l.key_middle = key_top + row_height / 2;
  l.g.canvas_height =
      std::max(grid_top + static_cast<int>(grid_height), key_top + row_height) + l.margin;
  if (l.g.canvas_width > kMaxCanvasSide || l.g.canvas_height > kMaxCanvasSide)
    throw InputError("the " + std::to_string(n) + " panels would make a " +
                     size_text(static_cast<std::size_t>(l.g.canvas_height),
                               static_cast<std::size_t>(l.g.canvas_width)) +
                     " picture; the limit is " + std::to_string(kMaxCanvasSide) +
                     " pixels on a side");
  l.g.bar_top = l.bar.top;
  l.g.bar_left = l.bar.left;
  l.g.bar_height = l.bar.height;
  l.g.bar_width = l.bar.width;

  for (std::size_t i = 0; i < n; ++i) {
    const auto row = static_cast<int>(i / cols), column = static_cast<int>(i % cols);
    const int cell_left = l.margin + column * (cell_width + column_gap);
    const int cell_top = grid_top + row * (block + row_gap);
    MapPanelsGeometry::Panel g;
    g.map_height = static_cast<int>(panels[i].values.height()) * f;
    g.map_width = static_cast<int>(panels[i].values.width()) * f;
    g.map_top = cell_top + title_height;
    g.map_left = cell_left + (cell_width - g.map_width) / 2;
    l.g.panels.push_back(g);

    PanelsLayout::Panel p;
    std::tie(p.title, p.title_font) =
        fit_text(hershey_text(panels[i].title), panel_font, 0.45 * s.u, cell_width);
    const TextBox box = measure(p.title, p.title_font);
    int x = g.map_left + (g.map_width - box.width) / 2;  // centred over the map, inside the cell
    x = std::max(cell_left, std::min(x, cell_left + cell_width - box.width));
    p.title_origin = {x, g.map_top - s.px(8) - box.descent};
    p.row_middle = g.map_top + g.map_height + s.px(12) + row_height / 2;
    l.panels.push_back(p);
  }
  return l;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public functions

ColourBarTicks colour_bar_ticks(double min, double max) {
  if (!std::isfinite(min) || !std::isfinite(max) || !(max > min) || !std::isfinite(max - min))
    throw OptionError("scale", "needs finite min < max, got min " + format_fixed(min, 6) +
                                   ", max " + format_fixed(max, 6));
  struct Candidate {
    double step = 0, first = 0, last = 0;
    int decimals = 0;
    double badness = std::numeric_limits<double>::infinity();
  };
  Candidate best;
  const int top_exponent = static_cast<int>(std::floor(std::log10(max - min)));
  for (int exponent = top_exponent - 2; exponent <= top_exponent + 1; ++exponent) {
    const double power = std::pow(10.0, exponent);
    for (const double mantissa : {1.0, 2.0, 2.5, 5.0}) {
      const double step = mantissa * power;
      const double first = std::ceil(min / step - 1e-9), last = std::floor(max / step + 1e-9);
      const double count = last - first + 1;
      // 0 inside 4..6 ticks, else how far outside; 2.5 steps (0.25, 25...) and 4 or 6 ticks are
      // less tidy than 1/2/5 steps and 5 ticks.
      double badness = count < 4 ? 4 - count : count > 6 ? count - 6 : 0;
      badness = 10 * badness + (mantissa == 2.5 ? 1 : 0) + 0.1 * std::abs(count - 5);
      if (badness < best.badness) {
        best = {step, first, last, 0, badness};
        best.decimals = std::max(0, (mantissa == 2.5 ? 1 : 0) - exponent);
      }
    }
  }
  ColourBarTicks ticks;
  ticks.decimals = best.decimals;
  // At most 7 ticks by construction, unless the range is so narrow for its magnitude (below
  // ~1e-12 relative) that doubles cannot tell the ticks apart; the cap keeps that case finite.
  const auto count = static_cast<int>(std::clamp(best.last - best.first + 1, 0.0, 100.0));
  for (int k = 0; k < count; ++k) {
    double value = (best.first + k) * best.step;
    if (std::abs(value) < 1e-9 * best.step) value = 0.0;  // no "-0.0"
    ticks.values.push_back(value);
  }
  return ticks;
}

double scale_bar_length_um(double width_um) {
  if (!std::isfinite(width_um) || !(width_um > 0))
    throw OptionError("pixel-size", "a scale bar needs a map of positive width, got " +
                                        format_fixed(width_um, 6) + " um");
  const double target = 0.3 * width_um;
  const double power = std::pow(10.0, std::floor(std::log10(target)));
  for (const double mantissa : {5.0, 2.0, 1.0})
    if (mantissa * power <= target * (1 + 1e-9)) return mantissa * power;
  return power;  // target is at least power by construction; kept for rounding at the edge
}

MapPreviewGeometry map_preview_geometry(std::size_t height, std::size_t width,
                                        const MapPreviewOptions& options) {
  return layout_map(height, width, options).g;
}

void write_map_png(const fs::path& file, ImageView<const float> values,
                   const MapPreviewOptions& options) {
  const std::size_t height = values.height(), width = values.width();
  const MapLayout l = layout_map(height, width, options);
  check_outlines(options.outlines, height, width, "");
  const std::array<Bgr, 256> table = viridis_table();
  ValueSummary summary;
  summary.add(values, options.scale);

  cv::Mat picture(l.g.canvas_height, l.g.canvas_width, CV_8UC3, kPaper);
  draw_title(picture, l.title, l.g.map_left, l.g.map_width, l.margin);
  paint_values(picture, values, options.scale, table, options.outlines, l.g.map_top, l.g.map_left,
               l.g.factor);
  draw_colour_bar(picture, l.bar, l.style, options.scale, table, summary.above, summary.below);
  if (options.pixel_size_um > 0)
    draw_scale_bar(picture, l.g.map_left, l.row_middle, l.g.factor, width, options.pixel_size_um,
                   l.style, l.small_font);
  if (summary.any_nan) draw_no_value_key(picture, l.bar, l.row_middle, l.style, l.small_font);
  plot_draw::write_png(file, picture, "PNG preview");
}

MapPanelsGeometry map_panels_geometry(const std::vector<MapPanel>& panels, const ColourScale& scale,
                                      const std::string& title, int columns) {
  return layout_panels(panels, scale, title, columns).g;
}

void write_map_panels_png(const fs::path& file, const std::vector<MapPanel>& panels,
                          const ColourScale& scale, const std::string& title, int columns) {
  const PanelsLayout l = layout_panels(panels, scale, title, columns);
  const std::array<Bgr, 256> table = viridis_table();
  ValueSummary summary;
  for (const MapPanel& p : panels) summary.add(p.values, scale);

  cv::Mat picture(l.g.canvas_height, l.g.canvas_width, CV_8UC3, kPaper);
  draw_title(picture, l.title, l.margin, l.grid_width, l.margin);
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const MapPanel& p = panels[i];
    const MapPanelsGeometry::Panel& g = l.g.panels[i];
    paint_values(picture, p.values, scale, table, p.outlines, g.map_top, g.map_left, l.g.factor);
    draw_text(picture, l.panels[i].title, l.panels[i].title_origin, l.panels[i].title_font, kInk);
    if (p.pixel_size_um > 0)
      draw_scale_bar(picture, g.map_left, l.panels[i].row_middle, l.g.factor, p.values.width(),
                     p.pixel_size_um, l.style, l.small_font);
  }
  draw_colour_bar(picture, l.bar, l.style, scale, table, summary.above, summary.below);
  if (summary.any_nan) draw_no_value_key(picture, l.bar, l.key_middle, l.style, l.small_font);
  plot_draw::write_png(file, picture, "PNG preview");
}

void write_category_png(const fs::path& file, ImageView<const std::uint8_t> codes,
                        const std::vector<std::pair<std::uint8_t, std::string>>& legend,
                        const std::string& title) {
  const std::size_t height = codes.height(), width = codes.width();
  const MapArea area = map_area(height, width);
  const Style& s = area.style;

  // Colour per code, pixel counts.
  std::array<int, 256> entry_of{};
  entry_of.fill(-1);
  for (std::size_t i = 0; i < legend.size(); ++i) {
    const std::uint8_t code = legend[i].first;
    if (entry_of[code] >= 0)
      throw OptionError("legend", "code " + std::to_string(code) + " is listed twice ('" +
                                      legend[static_cast<std::size_t>(entry_of[code])].second +
                                      "' and '" + legend[i].second + "')");
    entry_of[code] = static_cast<int>(i);
  }
  std::array<std::size_t, 256> counts{};
  for (std::size_t r = 0; r < height; ++r)
    for (std::size_t c = 0; c < width; ++c) ++counts[codes(r, c)];
  std::size_t other = 0;
  for (std::size_t code = 0; code < 256; ++code)
    if (entry_of[code] < 0) other += counts[code];
  std::array<Bgr, 256> colour_of;
  colour_of.fill(kOtherCode);
  for (std::size_t i = 0; i < legend.size(); ++i) colour_of[legend[i].first] = category_colour(i);

  // Legend entries "code: name (share)".
  const double total = static_cast<double>(height * width);
  const auto share = [&](std::size_t count) {
    if (count == 0) return std::string("0%");
    const double percent = 100.0 * static_cast<double>(count) / total;
    return percent < 0.1 ? std::string("<0.1%") : format_fixed(percent, 1) + "%";
  };
  struct Entry {
    Text text;
    Bgr colour;
  };
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < legend.size(); ++i)
    entries.push_back({hershey_text(std::to_string(legend[i].first) + ": " + legend[i].second +
                                    " (" + share(counts[legend[i].first]) + ")"),
                       category_colour(i)});
  if (other > 0)
    entries.push_back({hershey_text("other codes (" + share(other) + ")"), kOtherCode});

  const int margin = s.px(16);
  const Font font = s.font(0.55);
  const int swatch = s.px(18), pitch = s.px(27);
  const int map_left = margin;
  const int legend_left = map_left + area.width + s.px(24);
  const int text_left = legend_left + swatch + s.px(8);
  int text_width = 0;
  for (const Entry& e : entries) text_width = std::max(text_width, measure(e.text, font).width);
  int canvas_width = text_left + text_width + margin;
  const Title laid_title = layout_title(title, s, canvas_width);
  const int map_top = margin + laid_title.block_height;
  const int legend_height = static_cast<int>(entries.size()) * pitch;
  const int canvas_height = map_top + std::max(area.height, legend_height) + margin;

  cv::Mat picture(canvas_height, canvas_width, CV_8UC3, kPaper);
  draw_title(picture, laid_title, map_left, area.width, margin);
  paint_map(picture, height, width, map_top, map_left, area.factor,
            [&](std::size_t r, std::size_t c) { return colour_of[codes(r, c)]; });
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const int top = map_top + static_cast<int>(i) * pitch;
    cv::rectangle(picture, cv::Rect(legend_left, top, swatch, swatch),
                  cv::Scalar(entries[i].colour), cv::FILLED);
    cv::rectangle(picture, cv::Point(legend_left - 1, top - 1),
                  cv::Point(legend_left + swatch, top + swatch), kInk, 1);
    const TextBox box = measure(entries[i].text, font);
    draw_text(picture, entries[i].text, {text_left, top + (swatch + box.ascent) / 2}, font, kInk);
  }
  plot_draw::write_png(file, picture, "PNG preview");
}

ColourScale robust_scale(ImageView<const float> values, double min_span, std::string label) {
  if (!std::isfinite(min_span) || min_span < 0)
    throw OptionError("colour-range",
                      "minimum span must be >= 0, got " + format_fixed(min_span, 6));
  std::vector<float> finite;
  finite.reserve(values.height() * values.width());
  for (std::size_t r = 0; r < values.height(); ++r)
    for (std::size_t c = 0; c < values.width(); ++c)
      if (std::isfinite(values(r, c))) finite.push_back(values(r, c));
  if (finite.empty()) return {0.0, 1.0, std::move(label)};

  // Linear interpolation between the order statistics around p * (n - 1).
  const auto percentile = [&finite](double p) {
    const double position = p * static_cast<double>(finite.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const double weight = position - static_cast<double>(below);
    const auto nth = finite.begin() + static_cast<std::ptrdiff_t>(below);
    std::nth_element(finite.begin(), nth, finite.end());
    const double low = *nth;
    if (weight == 0.0 || below + 1 >= finite.size()) return low;
    const double high = *std::min_element(nth + 1, finite.end());
    return low + weight * (high - low);
  };
  double low = percentile(0.01), high = percentile(0.99);
  const double middle = 0.5 * (low + high);
  if (high - low < min_span) {
    low = middle - 0.5 * min_span;
    high = middle + 0.5 * min_span;
  }
  if (!(high > low)) {  // constant map and min_span 0: any span shows it; 1 unless |middle| is huge
    const double half = std::max(0.5, 1e-6 * std::abs(middle));
    low = middle - half;
    high = middle + half;
  }
  return {low, high, std::move(label)};
}

}  // namespace xanesmap
