// Shifts table (CSV) and drift plot (PNG). The contract is in shifts_table.hpp.
//
// Numbers: std::to_chars(double) without a precision writes the shortest decimal form that
// std::from_chars reads back to the same value (C++17 [charconv.to.chars]), e.g. "6450.5", "0.1".
//
// Plot drawn with OpenCV 4.6 (imgproc, imgcodecs), as the map previews (io/png_preview.cpp):
// cv::line, cv::circle, cv::rectangle and cv::fillConvexPoly with LINE_AA and `shift` fractional
// bits place data points with sub-pixel precision (a coordinate c is passed as round(c * 16) with
// shift 4); cv::putText's `org` is the left end of the text's baseline; cv::imencode(".png") and
// our own write give an OutputError with the system's reason on failure.
#include "io/shifts_table.hpp"

#include "io/opencv_headers.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>

#include "core/error.hpp"
#include "io/png_preview.hpp"

namespace xanesmap {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHeader = "energy_ev,dy_px,dx_px,quality";
constexpr std::array<std::string_view, 4> kColumns{"energy_ev", "dy_px", "dx_px", "quality"};

std::string quoted(const fs::path& file) { return "'" + file.string() + "'"; }

std::string shortest(double value) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return ec == std::errc() ? std::string(buffer.data(), end) : std::string("?");
}

std::string format_fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  return buffer.data();
}

std::string_view trim(std::string_view s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return {};
  const auto b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

std::optional<double> parse_number(std::string_view token) {
  const char* begin = token.data();
  const char* end = token.data() + token.size();
  if (begin != end && *begin == '+') ++begin;
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (begin == end || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

/// Writes `bytes` to `file`, removing a partial file on failure.
void write_bytes(const fs::path& file, const void* bytes, std::size_t size, const char* what) {
  std::FILE* out = std::fopen(file.c_str(), "wb");
  if (!out)
    throw OutputError(quoted(file) + ": cannot create the " + what + ": " + std::strerror(errno));
  const std::size_t written = std::fwrite(bytes, 1, size, out);
  int error = written == size ? 0 : errno;
  if (std::fclose(out) != 0 && error == 0) error = errno;
  if (written != size || error != 0) {
    std::error_code ignored;
    fs::remove(file, ignored);
    throw OutputError(quoted(file) + ": cannot write the " + what + ": " +
                      std::strerror(error != 0 ? error : EIO));
  }
}

// ---------------------------------------------------------------------------------------------
// Drawing helpers (same look as the map previews: Hershey duplex, dark ink on white)

using Bgr = cv::Scalar;
Bgr rgb(int r, int g, int b) { return Bgr(b, g, r); }

const Bgr kPaper = rgb(255, 255, 255);
const Bgr kInk = rgb(34, 34, 34);
const Bgr kGrid = rgb(228, 228, 228);
const Bgr kZeroLine = rgb(150, 150, 150);
// Okabe & Ito's colour-blind-safe palette: blue, bluish green, vermillion.
const Bgr kDyColour = rgb(0, 114, 178);
const Bgr kDxColour = rgb(0, 158, 115);
const Bgr kFlagColour = rgb(213, 94, 0);
constexpr int kFontFace = cv::FONT_HERSHEY_DUPLEX;
constexpr int kSubPixelBits = 4;  // `shift` argument of the cv drawing calls
constexpr double kSubPixel = 1 << kSubPixelBits;

struct Font {
  double scale = 0.55;
  int thickness = 1;
};

/// Printable ASCII only (the Hershey fonts have nothing else): other bytes become '?' (one per
/// UTF-8 character).
std::string ascii(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x20 && byte < 0x7f) out += ch;
    else if (byte < 0x20 || byte == 0x7f) out += ' ';
    else if (byte >= 0xC0) out += '?';  // lead byte of a multi-byte character; continuations dropped
  }
  return out;
}

struct TextBox {
  int width = 0, ascent = 0, descent = 0;
  int height() const { return ascent + descent; }
};

TextBox measure(const std::string& text, const Font& font) {
  if (text.empty()) return {};
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, kFontFace, font.scale, font.thickness, &baseline);
  return {size.width, size.height, baseline};
}

void draw_text(cv::Mat& picture, const std::string& text, cv::Point origin, const Font& font,
               const Bgr& colour = kInk) {
  if (!text.empty())
    cv::putText(picture, text, origin, kFontFace, font.scale, colour, font.thickness, cv::LINE_AA);
}

/// Text turned 90 degrees anticlockwise, centred vertically on `centre_y`, left edge at `left`.
void draw_text_upwards(cv::Mat& picture, const std::string& text, int left, int centre_y,
                       const Font& font) {
  const TextBox box = measure(text, font);
  if (box.width == 0) return;
  cv::Mat patch(box.height(), box.width, CV_8UC3, kPaper);
  draw_text(patch, text, {0, box.ascent}, font);
  cv::Mat turned;
  cv::rotate(patch, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Point top_left(left, centre_y - turned.rows / 2);
  const cv::Rect target =
      cv::Rect(top_left, turned.size()) & cv::Rect(0, 0, picture.cols, picture.rows);
  if (!target.empty())
    turned(cv::Rect(target.tl() - top_left, target.size())).copyTo(picture(target));
}

/// `text` shrunk (down to min_scale) and then cut with "..." to fit `width`.
std::pair<std::string, Font> fit_text(std::string text, Font font, double min_scale, int width) {
  while (measure(text, font).width > width && font.scale > min_scale)
    font.scale = std::max(min_scale, font.scale * 0.92);
  if (measure(text, font).width <= width) return {text, font};
  while (!text.empty() && measure(text + "...", font).width > width) text.pop_back();
  return {text + "...", font};
}

cv::Point fixed_point(double x, double y) {
  return {static_cast<int>(std::lround(x * kSubPixel)), static_cast<int>(std::lround(y * kSubPixel))};
}
int fixed_length(double v) { return static_cast<int>(std::lround(v * kSubPixel)); }

void draw_circle_marker(cv::Mat& picture, double x, double y, double radius, const Bgr& colour) {
  cv::circle(picture, fixed_point(x, y), fixed_length(radius), colour, cv::FILLED, cv::LINE_AA,
             kSubPixelBits);
}

void draw_square_marker(cv::Mat& picture, double x, double y, double half, const Bgr& colour) {
  const std::array<cv::Point, 4> corners{fixed_point(x - half, y - half),
                                         fixed_point(x + half, y - half),
                                         fixed_point(x + half, y + half),
                                         fixed_point(x - half, y + half)};
  cv::fillConvexPoly(picture, corners.data(), 4, colour, cv::LINE_AA, kSubPixelBits);
}

void draw_ring(cv::Mat& picture, double x, double y, double radius, int thickness,
               const Bgr& colour) {
  cv::circle(picture, fixed_point(x, y), fixed_length(radius), colour, thickness, cv::LINE_AA,
             kSubPixelBits);
}

void draw_segment(cv::Mat& picture, double x0, double y0, double x1, double y1, int thickness,
                  const Bgr& colour) {
  cv::line(picture, fixed_point(x0, y0), fixed_point(x1, y1), colour, thickness, cv::LINE_AA,
           kSubPixelBits);
}

/// Data range [low, high] padded by `pad` of its span on each side; a single value becomes
/// value -+ `fallback_half`.
std::pair<double, double> padded_range(double low, double high, double pad, double fallback_half) {
  if (!(high > low)) return {low - fallback_half, high + fallback_half};
  const double span = high - low;
  return {low - pad * span, high + pad * span};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CSV

void write_shifts_csv(const fs::path& file, const std::vector<ShiftRow>& rows) {
  std::string text(kHeader);
  text += '\n';
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const ShiftRow& row = rows[i];
    const std::array<double, 4> values{row.energy_ev, row.dy_px, row.dx_px, row.quality};
    for (std::size_t j = 0; j < values.size(); ++j) {
      if (!std::isfinite(values[j]))
        throw OutputError(quoted(file) + ": row " + std::to_string(i) + " (energy " +
                          shortest(row.energy_ev) + " eV): " + std::string(kColumns[j]) + " is " +
                          shortest(values[j]) + "; the shifts table holds finite numbers only");
      if (j > 0) text += ',';
      text += shortest(values[j]);
    }
    text += '\n';
  }
  write_bytes(file, text.data(), text.size(), "shifts table");
}

std::vector<ShiftRow> read_shifts_csv(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw InputError(quoted(file) + ": file not found");
  if (fs::is_directory(file, ec)) throw InputError(quoted(file) + " is a folder, not a shifts table");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(quoted(file) + ": cannot open for reading");

  const auto where = [&file](std::size_t line) {
    return quoted(file) + " line " + std::to_string(line);
  };
  std::vector<ShiftRow> rows;
  bool header_seen = false;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const std::string_view content = trim(line);
    if (content.empty() || content.front() == '#') continue;
    if (!header_seen) {
      if (content != kHeader)
        throw InputError(where(number) + ": expected the header '" + std::string(kHeader) +
                         "', found '" + std::string(content) + "'");
      header_seen = true;
      continue;
    }
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
      const std::size_t comma = content.find(',', start);
      fields.push_back(trim(content.substr(start, comma == std::string_view::npos ? comma : comma - start)));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (fields.size() != kColumns.size())
      throw InputError(where(number) + ": " + std::to_string(fields.size()) +
                       " comma-separated fields, expected 4 (" + std::string(kHeader) + ")");
    std::array<double, 4> values{};
    for (std::size_t j = 0; j < values.size(); ++j) {
      const auto value = parse_number(fields[j]);
      if (!value)
        throw InputError(where(number) + ": " + std::string(kColumns[j]) + " '" +
                         std::string(fields[j]) + "' is not a number");
      if (!std::isfinite(*value))
        throw InputError(where(number) + ": " + std::string(kColumns[j]) + " is " +
                         std::string(fields[j]) + "; finite numbers are required");
      values[j] = *value;
    }
    rows.push_back({values[0], values[1], values[2], values[3]});
  }
  if (in.bad()) throw InputError(quoted(file) + ": read error");
  if (!header_seen)
    throw InputError(quoted(file) + ": no header line '" + std::string(kHeader) +
                     "' (the file is empty or holds only comments)");
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Drift plot

void write_drift_plot_png(const fs::path& file, const std::vector<ShiftRow>& rows,
                          double flag_below, const std::string& title) {
  if (std::isnan(flag_below))
    throw OptionError("flag below", "the quality threshold for flagged frames is NaN");

  // Rows in energy order; rows without a finite energy cannot be placed.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (std::isfinite(rows[i].energy_ev)) order.push_back(i);
  if (order.empty())
    throw InputError("drift plot " + quoted(file) + ": no frame with a finite energy to plot (" +
                     std::to_string(rows.size()) + " rows)");
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return rows[a].energy_ev < rows[b].energy_ev; });
  const auto flagged = [&](const ShiftRow& r) { return !(r.quality >= flag_below); };

  // Ranges: energies padded by 2% so that end markers clear the frame; shifts always include 0
  // (the reference frame) and are padded by 8%.
  const double e_low = rows[order.front()].energy_ev, e_high = rows[order.back()].energy_ev;
  double s_low = 0.0, s_high = 0.0;
  std::size_t flagged_count = 0;
  for (const std::size_t i : order) {
    for (const double v : {rows[i].dy_px, rows[i].dx_px})
      if (std::isfinite(v)) {
        s_low = std::min(s_low, v);
        s_high = std::max(s_high, v);
      }
    flagged_count += flagged(rows[i]);
  }
  const auto [x_min, x_max] = padded_range(e_low, e_high, 0.02, 1.0);
  const auto [y_min, y_max] = padded_range(s_low, s_high, 0.08, 1.0);
  const ColourBarTicks x_ticks = colour_bar_ticks(x_min, x_max);
  const ColourBarTicks y_ticks = colour_bar_ticks(y_min, y_max);

  // Layout.
  const int canvas_width = 1000, canvas_height = 600, margin = 16;
  const Font title_font{0.8, 1}, tick_font{0.5, 1}, label_font{0.6, 1}, legend_font{0.55, 1};
  const int tick_length = 5;

  std::vector<std::string> x_texts, y_texts;
  for (const double v : x_ticks.values) x_texts.push_back(format_fixed(v, x_ticks.decimals));
  int y_text_width = 0;
  for (const double v : y_ticks.values) {
    y_texts.push_back(format_fixed(v, y_ticks.decimals));
    y_text_width = std::max(y_text_width, measure(y_texts.back(), tick_font).width);
  }
  const std::string x_label = "energy (eV)", y_label = "shift (px)";
  const TextBox tick_box = measure("0123456789", tick_font);
  const TextBox x_label_box = measure(x_label, label_font);
  const TextBox y_label_box = measure(y_label, label_font);

  const auto [title_text, title_fit] =
      fit_text(ascii(title), title_font, 0.55, canvas_width - 2 * margin);
  const TextBox title_box = measure(title_text, title_fit);
  const int title_bottom = title_text.empty() ? margin : margin + title_box.height();

  const int legend_row = title_bottom + 14;  // top of the legend row
  const TextBox legend_box = measure("dy", legend_font);
  const int legend_middle = legend_row + legend_box.height() / 2 + 2;

  const int plot_left = margin + y_label_box.height() + 10 + y_text_width + 6 + tick_length;
  const int plot_right = canvas_width - margin - 12;
  const int plot_top = legend_middle + legend_box.height() + 14;
  const int plot_bottom = canvas_height - margin - x_label_box.height() - 10 - tick_box.height() -
                          6 - tick_length;
  const double plot_w = plot_right - plot_left, plot_h = plot_bottom - plot_top;
  const auto X = [&](double e) { return plot_left + (e - x_min) / (x_max - x_min) * plot_w; };
  const auto Y = [&](double v) { return plot_bottom - (v - y_min) / (y_max - y_min) * plot_h; };

  cv::Mat picture(canvas_height, canvas_width, CV_8UC3, kPaper);

  // Title, centred over the plot when it fits there.
  if (!title_text.empty()) {
    int x = (plot_left + plot_right - title_box.width) / 2;
    x = std::max(margin, std::min(x, canvas_width - margin - title_box.width));
    draw_text(picture, title_text, {x, margin + title_box.ascent}, title_fit);
  }

  // Grid, zero line, frame, ticks and tick labels.
  for (std::size_t k = 0; k < x_ticks.values.size(); ++k) {
    const int x = static_cast<int>(std::lround(X(x_ticks.values[k])));
    cv::line(picture, {x, plot_top}, {x, plot_bottom}, kGrid, 1);
    cv::line(picture, {x, plot_bottom}, {x, plot_bottom + tick_length}, kInk, 1);
    const TextBox box = measure(x_texts[k], tick_font);
    draw_text(picture, x_texts[k],
              {x - box.width / 2, plot_bottom + tick_length + 6 + tick_box.ascent}, tick_font);
  }
  for (std::size_t k = 0; k < y_ticks.values.size(); ++k) {
    const int y = static_cast<int>(std::lround(Y(y_ticks.values[k])));
    cv::line(picture, {plot_left, y}, {plot_right, y}, kGrid, 1);
    cv::line(picture, {plot_left - tick_length, y}, {plot_left, y}, kInk, 1);
    const TextBox box = measure(y_texts[k], tick_font);
    draw_text(picture, y_texts[k], {plot_left - tick_length - 6 - box.width, y + box.ascent / 2},
              tick_font);
  }
  {
    const int y0 = static_cast<int>(std::lround(Y(0.0)));
    cv::line(picture, {plot_left, y0}, {plot_right, y0}, kZeroLine, 1);
  }
  cv::rectangle(picture, cv::Point(plot_left, plot_top), cv::Point(plot_right, plot_bottom), kInk,
                1);
  draw_text(picture, x_label,
            {(plot_left + plot_right - x_label_box.width) / 2,
             canvas_height - margin - x_label_box.descent},
            label_font);
  draw_text_upwards(picture, y_label, margin, (plot_top + plot_bottom) / 2, label_font);

  // Data: lines first, then markers on top, then the rings of flagged frames.
  const double marker_radius = 3.2, square_half = 2.8, ring_radius = 8.0;
  const auto draw_series = [&](double ShiftRow::*member, const Bgr& colour, bool squares) {
    for (std::size_t k = 1; k < order.size(); ++k) {
      const ShiftRow &a = rows[order[k - 1]], &b = rows[order[k]];
      if (std::isfinite(a.*member) && std::isfinite(b.*member))
        draw_segment(picture, X(a.energy_ev), Y(a.*member), X(b.energy_ev), Y(b.*member), 2,
                     colour);
    }
    for (const std::size_t i : order) {
      const ShiftRow& r = rows[i];
      if (!std::isfinite(r.*member)) continue;
      if (squares)
        draw_square_marker(picture, X(r.energy_ev), Y(r.*member), square_half, colour);
      else
        draw_circle_marker(picture, X(r.energy_ev), Y(r.*member), marker_radius, colour);
    }
  };
  draw_series(&ShiftRow::dy_px, kDyColour, false);
  draw_series(&ShiftRow::dx_px, kDxColour, true);
  for (const std::size_t i : order) {
    const ShiftRow& r = rows[i];
    if (!flagged(r)) continue;
    for (const double v : {r.dy_px, r.dx_px})
      if (std::isfinite(v)) draw_ring(picture, X(r.energy_ev), Y(v), ring_radius, 2, kFlagColour);
  }

  // Legend above the plot, left-aligned with it: sample line + marker, then the text.
  {
    int x = plot_left;
    const int sample = 34, gap = 8, spacing = 28;
    const int baseline = legend_middle + legend_box.ascent / 2;
    const auto entry_text = [&](const std::string& text) {
      draw_text(picture, text, {x, baseline}, legend_font);
      x += measure(text, legend_font).width + spacing;
    };
    draw_segment(picture, x, legend_middle, x + sample, legend_middle, 2, kDyColour);
    draw_circle_marker(picture, x + sample / 2.0, legend_middle, marker_radius, kDyColour);
    x += sample + gap;
    entry_text("dy (rows, + = down)");
    draw_segment(picture, x, legend_middle, x + sample, legend_middle, 2, kDxColour);
    draw_square_marker(picture, x + sample / 2.0, legend_middle, square_half, kDxColour);
    x += sample + gap;
    entry_text("dx (columns, + = right)");
    draw_ring(picture, x + ring_radius + 1, legend_middle, ring_radius, 2, kFlagColour);
    x += static_cast<int>(2 * ring_radius) + 2 + gap;
    std::array<char, 64> threshold{};
    std::snprintf(threshold.data(), threshold.size(), "%.3g", flag_below);
    entry_text("flagged: quality < " + std::string(threshold.data()) + " (" +
               std::to_string(flagged_count) + " of " + std::to_string(order.size()) + ")");
  }

  std::vector<unsigned char> bytes;
  try {
    if (!cv::imencode(".png", picture, bytes, {cv::IMWRITE_PNG_COMPRESSION, 6}))
      throw OutputError(quoted(file) + ": OpenCV could not encode the drift plot");
  } catch (const cv::Exception& e) {
    throw OutputError(quoted(file) + ": OpenCV could not encode the drift plot (" + e.what() + ")");
  }
  write_bytes(file, bytes.data(), bytes.size(), "drift plot");
}

}  // namespace xanesmap
