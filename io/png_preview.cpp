// PNG previews drawn with OpenCV (core, imgproc, imgcodecs). The contract is in png_preview.hpp.
//
// OpenCV 4.6 calls used, as documented in its reference (docs.opencv.org, modules imgproc and
// imgcodecs):
// - cv::applyColorMap(src CV_8UC1, dst, COLORMAP_VIRIDIS) gives CV_8UC3 pixels in BGR order. It is
//   applied once to a 0..255 ramp to get a 256-entry lookup table; the maps are then painted
//   block by block from that table, which is the exact integer nearest-neighbour enlargement
//   (cv::resize with INTER_NEAREST computes source indices in floating point).
// - cv::putText draws text whose `org` is the left end of the baseline; cv::getTextSize returns
//   the size above the baseline and, in *baseLine, the depth below it. The Hershey fonts have
//   printable ASCII only (other bytes come out as '?'), hence hershey_text() below.
// - cv::imencode(".png", ...) and our own file write instead of cv::imwrite: imwrite chooses the
//   encoder from the file's extension and reports a failure only as `false` (plus a message on
//   stderr); writing the bytes ourselves gives an OutputError with the system's reason.
#include "io/png_preview.hpp"

#include "io/opencv_headers.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>

#include "core/error.hpp"

namespace xanesmap {
namespace {

namespace fs = std::filesystem;

using Bgr = cv::Vec3b;

const cv::Scalar kPaper(255, 255, 255);
const cv::Scalar kInk(34, 34, 34);  // text, ticks, frames
const Bgr kNoValue(80, 80, 80);     // NaN: neutral, darker than anything in viridis but its start
const Bgr kOtherCode(0, 0, 0);      // codes missing from a category legend
const Bgr kOutline(255, 255, 255);
constexpr int kFontFace = cv::FONT_HERSHEY_DUPLEX;
constexpr std::size_t kMinLongSide = 512;    // enlarge smaller maps to at least this
constexpr std::size_t kMaxLongSide = 16384;  // refuse larger pictures (~800 MB of BGR)

std::string quoted(const fs::path& file) { return "'" + file.string() + "'"; }

std::string format_fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  return buffer.data();
}

// ---------------------------------------------------------------------------------------------
// Text

/// Text as the Hershey fonts can draw it: printable ASCII, with the micro signs written as 'u' at
/// the recorded positions (draw_text adds their descender).
struct Text {
  std::string ascii;
  std::vector<std::size_t> micro;
};

Text hershey_text(std::string_view utf8) {
  Text text;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    if (lead < 0x80) {
      text.ascii += (lead >= 0x20 && lead < 0x7f) ? static_cast<char>(lead) : ' ';
      ++i;
      continue;
    }
    const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    bool valid = lead >= 0xC2 && lead <= 0xF4 && i + length <= utf8.size();
    char32_t code = length == 2 ? (lead & 0x1Fu) : length == 3 ? (lead & 0x0Fu) : (lead & 0x07u);
    for (std::size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(utf8[i + k]);
      valid = (next & 0xC0u) == 0x80u;
      code = (code << 6) | (next & 0x3Fu);
    }
    if (!valid) {
      text.ascii += '?';
      ++i;
      continue;
    }
    if (code == 0xB5 || code == 0x3BC) {  // MICRO SIGN, GREEK SMALL LETTER MU
      text.micro.push_back(text.ascii.size());
      text.ascii += 'u';
    } else {
      text.ascii += '?';
    }
    i += length;
  }
  return text;
}

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

TextBox measure(const Text& text, const Font& font) {
  if (text.ascii.empty()) return {};
  int baseline = 0;
  const cv::Size size =
      cv::getTextSize(text.ascii, kFontFace, font.scale, font.thickness, &baseline);
  return {size.width, size.height, baseline};
}

/// The left stem of the font's 'u', found by drawing one: ink columns [left, right] and the
/// x-height.
struct Stem {
  int left = 0, right = 0, x_height = 0;
};

Stem u_stem(const Font& font) {
  const TextBox box = measure(Text{"u", {}}, font);
  const int pad = 4;
  cv::Mat scratch(box.height() + 2 * pad, box.width + 2 * pad, CV_8UC1, cv::Scalar(0));
  const int baseline = pad + box.ascent;
  cv::putText(scratch, "u", {pad, baseline}, kFontFace, font.scale, cv::Scalar(255), font.thickness,
              cv::LINE_AA);
  Stem stem{0, 0, box.ascent};
  const int row = baseline - std::max(1, box.ascent / 2);  // halfway up the x-height
  const auto* ink = scratch.ptr<unsigned char>(row);
  int c = 0;
  while (c < scratch.cols && ink[c] < 128) ++c;
  stem.left = c - pad;
  while (c < scratch.cols && ink[c] >= 128) ++c;
  stem.right = c - 1 - pad;
  return stem;
}

/// Draws `text` with the left end of its baseline at `origin`.
void draw_text(cv::Mat& picture, const Text& text, cv::Point origin, const Font& font,
               const cv::Scalar& colour) {
  if (text.ascii.empty()) return;
  cv::putText(picture, text.ascii, origin, kFontFace, font.scale, colour, font.thickness,
              cv::LINE_AA);
  if (text.micro.empty()) return;
  const Stem stem = u_stem(font);
  const int descender = std::max(2, static_cast<int>(std::lround(0.45 * stem.x_height)));
  for (const std::size_t position : text.micro) {
    const int x = origin.x + measure(Text{text.ascii.substr(0, position), {}}, font).width;
    cv::rectangle(picture, cv::Point(x + stem.left, origin.y - stem.x_height / 2),
                  cv::Point(x + stem.right, origin.y + descender), colour, cv::FILLED);
  }
}

/// Draws `text` turned 90 degrees anticlockwise (reading bottom to top); `top_left` is the
/// top-left corner of the turned text's box, which is measure().height() wide.
void draw_text_upwards(cv::Mat& picture, const Text& text, cv::Point top_left, const Font& font,
                       const cv::Scalar& colour) {
  const TextBox box = measure(text, font);
  if (box.width == 0) return;
  cv::Mat patch(box.height(), box.width, CV_8UC3, kPaper);
  draw_text(patch, text, {0, box.ascent}, font, colour);
  cv::Mat turned;
  cv::rotate(patch, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect target =
      cv::Rect(top_left, turned.size()) & cv::Rect(0, 0, picture.cols, picture.rows);
  if (target.empty()) return;
  turned(cv::Rect(target.tl() - top_left, target.size())).copyTo(picture(target));
}

/// `text` at the largest scale in [min_scale, font.scale] whose width fits `width`; if even the
/// smallest does not fit, cut with "..." at that scale.
std::pair<Text, Font> fit_text(Text text, Font font, double min_scale, int width) {
  while (measure(text, font).width > width && font.scale > min_scale)
    font.scale = std::max(min_scale, font.scale * 0.92);
  if (measure(text, font).width <= width) return {text, font};
  while (!text.ascii.empty() && measure(Text{text.ascii + "...", {}}, font).width > width) {
    text.ascii.pop_back();
    while (!text.micro.empty() && text.micro.back() >= text.ascii.size()) text.micro.pop_back();
  }
  text.ascii += "...";
  return {text, font};
}

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

/// Colour of the i-th legend entry: a neutral light grey for the first (by convention the
/// background or "not analysed" code), then Okabe & Ito's colour-blind-safe palette ("Color
/// Universal Design", 2008) without its black, then further well-separated colours, then hues
/// spaced by the golden angle.
Bgr category_colour(std::size_t i) {
  static const std::array<Bgr, 16> palette{
      rgb(200, 200, 200), rgb(0, 158, 115),   rgb(230, 159, 0),   rgb(213, 94, 0),
      rgb(0, 114, 178),   rgb(86, 180, 233),  rgb(204, 121, 167), rgb(240, 228, 66),
      rgb(140, 86, 75),   rgb(188, 189, 34),  rgb(148, 103, 189), rgb(255, 152, 150),
      rgb(44, 160, 44),   rgb(174, 199, 232), rgb(255, 187, 120), rgb(23, 190, 207)};
  if (i < palette.size()) return palette[i];
  const double hue = std::fmod(static_cast<double>(i) * 137.507764, 360.0);  // degrees
  cv::Mat hsv(1, 1, CV_8UC3,
              cv::Scalar(hue / 2.0, i % 2 ? 170.0 : 230.0, i % 3 ? 200.0 : 150.0));  // H in 0..180
  cv::Mat bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  return bgr.at<Bgr>(0, 0);
}

// ---------------------------------------------------------------------------------------------
// Layout shared by both kinds of picture

struct Style {
  double u = 1.0;  // grows with the picture so text stays legible on large maps
  int px(double v) const { return std::max(1, static_cast<int>(std::lround(v * u))); }
  Font font(double scale) const {
    return {scale * u, std::max(1, static_cast<int>(std::lround(u)))};
  }
};

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

void write_png(const fs::path& file, const cv::Mat& picture) {
  std::vector<unsigned char> bytes;
  try {
    if (!cv::imencode(".png", picture, bytes, {cv::IMWRITE_PNG_COMPRESSION, 6}))
      throw OutputError(quoted(file) + ": OpenCV could not encode the PNG preview");
  } catch (const cv::Exception& e) {
    throw OutputError(quoted(file) + ": OpenCV could not encode the PNG preview (" + e.what() +
                      ")");
  }
  std::FILE* out = std::fopen(file.c_str(), "wb");
  if (!out)
    throw OutputError(quoted(file) + ": cannot create the PNG preview: " + std::strerror(errno));
  const std::size_t written = std::fwrite(bytes.data(), 1, bytes.size(), out);
  int error = written == bytes.size() ? 0 : errno;
  if (std::fclose(out) != 0 && error == 0) error = errno;
  if (written != bytes.size() || error != 0) {
    std::error_code ignored;
    fs::remove(file, ignored);
    throw OutputError(quoted(file) +
                      ": cannot write the PNG preview: " + std::strerror(error != 0 ? error : EIO));
  }
}

// ---------------------------------------------------------------------------------------------
// Map preview layout

void validate(const MapPreviewOptions& options) {
  const ColourScale& s = options.scale;
  if (!std::isfinite(s.min) || !std::isfinite(s.max) || !(s.max > s.min))
    throw OptionError("colour scale", "needs finite min < max, got min " + format_fixed(s.min, 6) +
                                          ", max " + format_fixed(s.max, 6));
  if (!std::isfinite(options.pixel_size_um) || options.pixel_size_um < 0.0)
    throw OptionError("pixel size", "must be >= 0 micrometres (0 = no scale bar), got " +
                                        format_fixed(options.pixel_size_um, 6));
}

struct MapLayout {
  MapPreviewGeometry g;
  Style style;
  int margin = 0;
  Title title;
  ColourBarTicks ticks;
  std::vector<Text> tick_texts;
  Font tick_font, label_font, small_font;
  int tick_length = 0, tick_text_left = 0;
  Text label;
  cv::Point label_top_left;
  int triangle = 0;    // height of the out-of-range arrow heads above and below the bar
  int row_middle = 0;  // vertical centre of the row under the map (scale bar, "no value")
};

MapLayout layout_map(std::size_t height, std::size_t width, const MapPreviewOptions& options) {
  validate(options);
  const MapArea area = map_area(height, width);
  MapLayout l;
  l.style = area.style;
  const Style& s = l.style;
  l.margin = s.px(16);
  l.g.factor = area.factor;
  l.g.map_height = area.height;
  l.g.map_width = area.width;
  l.g.map_left = l.margin;
  l.tick_font = s.font(0.55);
  l.label_font = s.font(0.65);
  l.small_font = s.font(0.5);

  // Colour bar beside the map, at least 260 px (scale 1) tall, with room for the arrow heads.
  const int area_height = std::max(area.height, s.px(260));
  l.triangle = s.px(11);
  l.g.bar_left = l.g.map_left + area.width + s.px(24);
  l.g.bar_width = s.px(20);
  l.g.bar_height = area_height - 2 * (l.triangle + 1);
  l.tick_length = s.px(5);
  l.tick_text_left = l.g.bar_left + l.g.bar_width + l.tick_length + s.px(5);
  l.ticks = colour_bar_ticks(options.scale.min, options.scale.max);
  int tick_text_width = 0;
  for (const double value : l.ticks.values) {
    l.tick_texts.push_back(hershey_text(format_fixed(value, l.ticks.decimals)));
    tick_text_width = std::max(tick_text_width, measure(l.tick_texts.back(), l.tick_font).width);
  }
  int right = l.tick_text_left + tick_text_width;

  // Label, turned, right of the tick values; shrunk or cut to the bar's height.
  std::tie(l.label, l.label_font) =
      fit_text(hershey_text(options.scale.label), l.label_font, 0.45 * s.u, area_height);
  const TextBox label_box = measure(l.label, l.label_font);
  if (label_box.width > 0) {
    l.label_top_left = {right + s.px(12), (area_height - label_box.width) / 2};  // y: + map_top
    right = l.label_top_left.x + label_box.height();
  }

  // Row under the map: scale bar at the left, "no value" swatch under the colour bar.
  const int row_height =
      std::max(s.px(16), measure(hershey_text("no value 0"), l.small_font).height());
  right = std::max(right, l.g.bar_left + l.g.bar_width + s.px(6) +
                              measure(hershey_text("no value"), l.small_font).width);
  l.g.canvas_width = right + l.margin;

  l.title = layout_title(options.title, s, l.g.canvas_width);
  l.g.map_top = l.margin + l.title.block_height;
  l.g.bar_top = l.g.map_top + l.triangle + 1;
  l.label_top_left.y += l.g.map_top;
  const int row_top = l.g.map_top + area_height + s.px(12);
  l.row_middle = row_top + row_height / 2;
  l.g.canvas_height = row_top + row_height + l.margin;
  return l;
}

void draw_colour_bar(cv::Mat& picture, const MapLayout& l, const ColourScale& scale,
                     const std::array<Bgr, 256>& table, bool above, bool below) {
  const MapPreviewGeometry& g = l.g;
  for (int y = 0; y < g.bar_height; ++y) {
    const double t =
        g.bar_height > 1 ? static_cast<double>(g.bar_height - 1 - y) / (g.bar_height - 1) : 1.0;
    const Bgr& colour = table[static_cast<std::size_t>(std::lround(255.0 * t))];
    auto* out = picture.ptr<Bgr>(g.bar_top + y, g.bar_left);
    std::fill_n(out, g.bar_width, colour);
  }
  const int left = g.bar_left - 1, right = g.bar_left + g.bar_width;
  const int top = g.bar_top - 1, bottom = g.bar_top + g.bar_height;
  const auto arrow_head = [&](int base_y, int tip_y, const Bgr& colour) {
    const std::array<cv::Point, 3> corners{cv::Point(left, base_y), cv::Point(right, base_y),
                                           cv::Point((left + right + 1) / 2, tip_y)};
    cv::fillConvexPoly(picture, corners.data(), 3, cv::Scalar(colour), cv::LINE_AA);
    const cv::Point* polygon = corners.data();
    const int count = 3;
    cv::polylines(picture, &polygon, &count, 1, true, kInk, 1, cv::LINE_AA);
  };
  if (above) arrow_head(top, top - l.triangle, table[255]);
  if (below) arrow_head(bottom, bottom + l.triangle, table[0]);
  cv::rectangle(picture, cv::Point(left, top), cv::Point(right, bottom), kInk, 1);

  for (std::size_t i = 0; i < l.ticks.values.size(); ++i) {
    const double fraction = (scale.max - l.ticks.values[i]) / (scale.max - scale.min);
    const int y = g.bar_top + static_cast<int>(std::lround(fraction * (g.bar_height - 1)));
    cv::line(picture, {right, y}, {right + l.tick_length, y}, kInk, std::max(1, l.style.px(1)));
    const TextBox box = measure(l.tick_texts[i], l.tick_font);
    draw_text(picture, l.tick_texts[i], {l.tick_text_left, y + box.ascent / 2}, l.tick_font, kInk);
  }
  draw_text_upwards(picture, l.label, l.label_top_left, l.label_font, kInk);
}

void draw_scale_bar(cv::Mat& picture, const MapLayout& l, std::size_t width, double pixel_size_um) {
  const double width_um = static_cast<double>(width) * pixel_size_um;
  const double length_um = scale_bar_length_um(width_um);
  const int length =
      std::max(1, static_cast<int>(std::lround(length_um / pixel_size_um * l.g.factor)));
  const int thickness = l.style.px(5);
  const int top = l.row_middle - thickness / 2;
  cv::rectangle(picture, cv::Point(l.g.map_left, top),
                cv::Point(l.g.map_left + length - 1, top + thickness - 1), kInk, cv::FILLED);
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(length_um) + 1e-9)));
  const Text text = hershey_text(format_fixed(length_um, decimals) + " \u00b5m");
  const TextBox box = measure(text, l.small_font);
  draw_text(picture, text, {l.g.map_left + length + l.style.px(8), l.row_middle + box.ascent / 2},
            l.small_font, kInk);
}

void draw_no_value_key(cv::Mat& picture, const MapLayout& l) {
  const int size = l.style.px(14);
  const int top = l.row_middle - size / 2;
  const cv::Rect swatch(l.g.bar_left, top, l.g.bar_width, size);
  cv::rectangle(picture, swatch, cv::Scalar(kNoValue), cv::FILLED);
  cv::rectangle(picture, cv::Point(swatch.x - 1, swatch.y - 1),
                cv::Point(swatch.x + swatch.width, swatch.y + swatch.height), kInk, 1);
  const Text text = hershey_text("no value");
  const TextBox box = measure(text, l.small_font);
  draw_text(picture, text, {swatch.x + swatch.width + l.style.px(6), l.row_middle + box.ascent / 2},
            l.small_font, kInk);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public functions

ColourBarTicks colour_bar_ticks(double min, double max) {
  if (!std::isfinite(min) || !std::isfinite(max) || !(max > min) || !std::isfinite(max - min))
    throw OptionError("colour scale", "needs finite min < max, got min " + format_fixed(min, 6) +
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
    throw OptionError("pixel size", "a scale bar needs a map of positive width, got " +
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
  if (options.outlines &&
      (options.outlines->height() != height || options.outlines->width() != width))
    throw InputError("particle outlines are " +
                     size_text(options.outlines->height(), options.outlines->width()) +
                     " but the map is " + size_text(height, width));

  const std::array<Bgr, 256> table = viridis_table();
  const ColourScale& scale = options.scale;
  bool any_nan = false, above = false, below = false;
  for (std::size_t r = 0; r < height; ++r)
    for (std::size_t c = 0; c < width; ++c) {
      const float v = values(r, c);
      any_nan = any_nan || std::isnan(v);
      above = above || v > scale.max;
      below = below || v < scale.min;
    }

  cv::Mat picture(l.g.canvas_height, l.g.canvas_width, CV_8UC3, kPaper);
  draw_title(picture, l.title, l.g.map_left, l.g.map_width, l.margin);
  paint_map(picture, height, width, l.g.map_top, l.g.map_left, l.g.factor,
            [&](std::size_t r, std::size_t c) {
              const float v = values(r, c);
              return std::isnan(v) ? kNoValue : table[colour_index(v, scale)];
            });
  if (options.outlines)
    paint_outlines(picture, *options.outlines, l.g.map_top, l.g.map_left, l.g.factor);
  draw_colour_bar(picture, l, scale, table, above, below);
  if (options.pixel_size_um > 0) draw_scale_bar(picture, l, width, options.pixel_size_um);
  if (any_nan) draw_no_value_key(picture, l);
  write_png(file, picture);
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
  write_png(file, picture);
}

ColourScale robust_scale(ImageView<const float> values, double min_span, std::string label) {
  if (!std::isfinite(min_span) || min_span < 0)
    throw OptionError("colour range",
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
