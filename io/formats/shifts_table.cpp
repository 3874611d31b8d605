// Shifts table (CSV) and drift plot (PNG). The contract is in shifts_table.hpp.
//
// Numbers: std::to_chars(double) without a precision writes the shortest decimal form that
// std::from_chars reads back to the same value (C++17 [charconv.to.chars]), e.g. "6450.5", "0.1".
//
// The drift plot is drawn with the x-y plot frame of io/plots/plot_draw.hpp (title, legend, axes,
// grid and round ticks, as in write_plot_png) and its sub-pixel marks, and written with its PNG
// write.
#include "io/formats/shifts_table.hpp"

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

#include "core/base/detail/opencv_headers.hpp"
#include "core/base/error.hpp"
#include "io/plots/plot_draw.hpp"

namespace xanesmap {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHeader = "energy_ev,dy_px,dx_px,quality";
constexpr std::array<std::string_view, 4> kColumns{"energy_ev", "dy_px", "dx_px", "quality"};

using plot_draw::quoted;

std::string shortest(double value) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return ec == std::errc() ? std::string(buffer.data(), end) : std::string("?");
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

void write_shifts_csv(const fs::path& file, const std::vector<ShiftRow>& rows,
                      const std::vector<std::string>& comments) {
  std::string text;
  for (const std::string& comment : comments) {
    std::string line = comment;  // one line each: a line break would start a data line
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::replace(line.begin(), line.end(), '\r', ' ');
    text += "# " + line + '\n';
  }
  text += kHeader;
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
  if (fs::is_directory(file, ec))
    throw InputError(quoted(file) + " is a folder, not a shifts table");
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
      fields.push_back(
          trim(content.substr(start, comma == std::string_view::npos ? comma : comma - start)));
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
    throw OptionError("flag-below", "the quality threshold for flagged frames is NaN");

  // Rows in energy order; rows without a finite energy cannot be placed.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (std::isfinite(rows[i].energy_ev)) order.push_back(i);
  if (order.empty())
    throw InputError("drift plot " + quoted(file) + ": no frame with a finite energy to plot (" +
                     std::to_string(rows.size()) + " rows)");
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return rows[a].energy_ev < rows[b].energy_ev;
  });
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

  namespace oi = plot_draw::okabe_ito;
  const cv::Scalar dy_colour = oi::blue, dx_colour = oi::bluish_green, flag_colour = oi::vermillion;
  const double marker_radius = 3.2, square_half = 2.8, ring_radius = 8.0;
  std::array<char, 64> threshold{};
  std::snprintf(threshold.data(), threshold.size(), "%.3g", flag_below);

  plot_draw::AxesSpec spec;
  spec.width = 1000;
  spec.height = 600;
  spec.title = title;
  spec.x_label = "energy (eV)";
  spec.y_label = "shift (px)";
  spec.x_min = x_min;
  spec.x_max = x_max;
  spec.y_min = y_min;
  spec.y_max = y_max;
  // Legend above the plot: sample line + marker, then the text.
  spec.legend.push_back(
      {plot_draw::hershey_text("dy (rows, + = down)"), 34,
       [&](cv::Mat& picture, int left, int middle) {
         plot_draw::draw_segment(picture, left, middle, left + 34, middle, 2, dy_colour);
         plot_draw::draw_circle_marker(picture, left + 17.0, middle, marker_radius, dy_colour);
       }});
  spec.legend.push_back(
      {plot_draw::hershey_text("dx (columns, + = right)"), 34,
       [&](cv::Mat& picture, int left, int middle) {
         plot_draw::draw_segment(picture, left, middle, left + 34, middle, 2, dx_colour);
         plot_draw::draw_square_marker(picture, left + 17.0, middle, square_half, dx_colour);
       }});
  spec.legend.push_back(
      {plot_draw::hershey_text("flagged: quality < " + std::string(threshold.data()) + " (" +
                               std::to_string(flagged_count) + " of " +
                               std::to_string(order.size()) + ")"),
       static_cast<int>(2 * ring_radius) + 2, [&](cv::Mat& picture, int left, int middle) {
         plot_draw::draw_ring(picture, left + ring_radius + 1, middle, ring_radius, 2, flag_colour);
       }});
  const plot_draw::Axes axes(std::move(spec));
  const auto X = [&](double e) { return axes.x(e); };
  const auto Y = [&](double v) { return axes.y(v); };

  cv::Mat picture(600, 1000, CV_8UC3, plot_draw::kPaper);
  axes.draw_grid(picture);
  {
    const int y0 = static_cast<int>(std::lround(Y(0.0)));
    cv::line(picture, {axes.left(), y0}, {axes.right(), y0}, plot_draw::rgb(150, 150, 150), 1);
  }
  axes.draw_frame(picture);

  // Data: lines first, then markers on top, then the rings of flagged frames.
  const auto draw_series = [&](double ShiftRow::*member, const cv::Scalar& colour, bool squares) {
    for (std::size_t k = 1; k < order.size(); ++k) {
      const ShiftRow &a = rows[order[k - 1]], &b = rows[order[k]];
      if (std::isfinite(a.*member) && std::isfinite(b.*member))
        plot_draw::draw_segment(picture, X(a.energy_ev), Y(a.*member), X(b.energy_ev), Y(b.*member),
                                2, colour);
    }
    for (const std::size_t i : order) {
      const ShiftRow& r = rows[i];
      if (!std::isfinite(r.*member)) continue;
      if (squares)
        plot_draw::draw_square_marker(picture, X(r.energy_ev), Y(r.*member), square_half, colour);
      else
        plot_draw::draw_circle_marker(picture, X(r.energy_ev), Y(r.*member), marker_radius, colour);
    }
  };
  draw_series(&ShiftRow::dy_px, dy_colour, false);
  draw_series(&ShiftRow::dx_px, dx_colour, true);
  for (const std::size_t i : order) {
    const ShiftRow& r = rows[i];
    if (!flagged(r)) continue;
    for (const double v : {r.dy_px, r.dx_px})
      if (std::isfinite(v))
        plot_draw::draw_ring(picture, X(r.energy_ev), Y(v), ring_radius, 2, flag_colour);
  }
  axes.draw_legend(picture);
  plot_draw::write_png(file, picture, "drift plot");
}

}  // namespace xanesmap
