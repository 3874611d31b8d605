// Generic x-y plot as PNG. The contract is in plot_png.hpp; the frame (title, legend, axes, grid,
// ticks), text, marks and the PNG write are shared with the drift plot in io/plots/plot_draw.hpp.
//
// Data is drawn on a view (ROI) of the plot area, so OpenCV clips everything at the frame;
// segments are first cut (in double precision) to a rectangle slightly larger than that area so
// that far-off points never reach OpenCV's fixed-point int coordinates. Histogram fills are
// rectilinear polygons, which clamping their corners to that rectangle cuts exactly.
#include "io/plots/plot_png.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/base/detail/opencv_headers.hpp"
#include "core/base/error.hpp"
#include "io/plots/plot_draw.hpp"

namespace xanesmap {
namespace {

namespace fs = std::filesystem;
namespace pd = plot_draw;

constexpr int kMinSide = 200, kMaxSide = 8000;
constexpr double kFillOpacity = 0.25;
const cv::Scalar kMarkerInk = pd::rgb(90, 90, 90);  // vertical markers

std::string series_name(const std::vector<PlotSeries>& series, std::size_t i) {
  std::string name = "series " + std::to_string(i + 1);
  if (!series[i].label.empty()) name += " ('" + series[i].label + "')";
  return name;
}

std::string style_name(PlotStyle style) {
  switch (style) {
    case PlotStyle::line:
      return "line";
    case PlotStyle::steps:
      return "steps";
    case PlotStyle::points:
      return "points";
  }
  return "?";
}

void check_range(const std::optional<std::pair<double, double>>& range, const std::string& name) {
  if (range && !(std::isfinite(range->first) && std::isfinite(range->second) &&
                 range->first < range->second && std::isfinite(range->second - range->first)))
    throw OptionError(name, "needs finite min < max, got min " + pd::format_fixed(range->first, 6) +
                                ", max " + pd::format_fixed(range->second, 6));
}

bool finite(double a, double b) { return std::isfinite(a) && std::isfinite(b); }

/// Bin i of a steps series is drawn when its edges and value are finite.
bool bin_ok(const PlotSeries& s, std::size_t i) {
  return finite(s.x[i], s.x[i + 1]) && std::isfinite(s.y[i]);
}

std::size_t finite_points(const PlotSeries& s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.y.size(); ++i)
    count += s.style == PlotStyle::steps ? bin_ok(s, i) : finite(s.x[i], s.y[i]);
  return count;
}

void validate(const fs::path& file, const std::vector<PlotSeries>& series,
              const PlotOptions& options) {
  if (options.width < kMinSide || options.width > kMaxSide || options.height < kMinSide ||
      options.height > kMaxSide)
    throw OptionError("plot-size", "width and height must be " + std::to_string(kMinSide) + " to " +
                                       std::to_string(kMaxSide) + " pixels, got " +
                                       std::to_string(options.width) + " x " +
                                       std::to_string(options.height));
  check_range(options.x_range, "x range");
  check_range(options.y_range, "y range");
  const std::string where = "plot " + pd::quoted(file) + ": ";
  if (series.empty()) throw InputError(where + "no series to draw");
  std::string summary;
  bool any_finite = false;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const PlotSeries& s = series[i];
    const std::string name = series_name(series, i);
    const std::size_t nx = s.x.size(), ny = s.y.size();
    if (s.style == PlotStyle::steps) {
      if (nx != ny + 1)
        throw InputError(where + name + ": " + std::to_string(nx) + " x values for " +
                         std::to_string(ny) +
                         " y values; steps need one more x (bin edges) than y");
      if (!s.y_error.empty())
        throw InputError(where + name +
                         ": error bars are drawn for line and points series, not steps");
    } else {
      if (nx != ny)
        throw InputError(where + name + ": " + std::to_string(nx) + " x values for " +
                         std::to_string(ny) + " y values; a " + style_name(s.style) +
                         " series needs one x per y");
      if (!s.y_error.empty() && s.y_error.size() != ny)
        throw InputError(where + name + ": " + std::to_string(s.y_error.size()) +
                         " error values for " + std::to_string(ny) + " y values");
    }
    const std::size_t count = finite_points(s);
    any_finite = any_finite || count > 0;
    summary += (i > 0 ? "; " : "") + name + ": " + std::to_string(ny) +
               (s.style == PlotStyle::steps ? " bins" : " points") + ", none finite";
  }
  if (!any_finite)
    throw InputError(where + "nothing to draw: no series has a finite point (" + summary + ")");
}

/// Smallest and largest finite values added.
struct Extent {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    low = std::min(low, v);
    high = std::max(high, v);
  }
};

std::string short_number(double v) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%g", v);
  return buffer.data();
}

std::pair<double, double> automatic_range(Extent e, double pad, bool from_zero,
                                          const std::string& axis, const std::string& where) {
  if (from_zero) e.add(0.0);
  if (!(e.high > e.low)) {  // one value (finite: validate found a finite point)
    const double v = e.low;
    if (from_zero && v == 0.0) return {0.0, 1.0};
    const double half = std::max(0.5, 1e-3 * std::abs(v));
    return {v - half, v + half};
  }
  const double span = e.high - e.low;
  double low = e.low - pad * span, high = e.high + pad * span;
  if (from_zero && e.low == 0.0) low = 0.0;
  if (from_zero && e.high == 0.0) high = 0.0;
  if (!std::isfinite(span) || !std::isfinite(high - low))
    throw InputError(where + "the " + axis + " values span too wide a range to plot (" +
                     short_number(e.low) + " to " + short_number(e.high) + ")");
  return {low, high};
}

/// Palette entry of every series: explicit ones as asked, the others the next entries nobody
/// asked for.
std::vector<cv::Scalar> series_colours(const std::vector<PlotSeries>& series) {
  std::array<bool, pd::kSeriesColours> taken{};
  for (const PlotSeries& s : series)
    if (s.colour >= 0) taken[static_cast<std::size_t>(s.colour) % pd::kSeriesColours] = true;
  std::vector<cv::Scalar> colours;
  std::size_t next = 0;
  for (const PlotSeries& s : series) {
    if (s.colour >= 0) {
      colours.push_back(pd::series_colour(static_cast<std::size_t>(s.colour)));
      continue;
    }
    std::size_t k = next;
    while (k < next + pd::kSeriesColours && taken[k % pd::kSeriesColours]) ++k;
    if (k == next + pd::kSeriesColours) k = next;  // every entry taken: just go on
    colours.push_back(pd::series_colour(k));
    next = k + 1;
  }
  return colours;
}

cv::Scalar blend(const cv::Scalar& colour, const cv::Scalar& under, double opacity) {
  return colour * opacity + under * (1.0 - opacity);
}

/// Paints `polygon` (picture coordinates in `area`) in `colour` at `opacity` over what is there.
void fill_translucent(cv::Mat& area, const std::vector<cv::Point>& polygon,
                      const cv::Scalar& colour, double opacity) {
  if (polygon.size() < 3) return;
  cv::Mat mask(area.size(), CV_8UC1, cv::Scalar(0));
  const cv::Point* points = polygon.data();
  const int count = static_cast<int>(polygon.size());
  cv::fillPoly(mask, &points, &count, 1, cv::Scalar(255), cv::LINE_8, pd::kSubPixelBits);
  for (int r = 0; r < area.rows; ++r) {
    const auto* inside = mask.ptr<unsigned char>(r);
    auto* out = area.ptr<cv::Vec3b>(r);
    for (int c = 0; c < area.cols; ++c)
      if (inside[c])
        for (int k = 0; k < 3; ++k)
          out[c][k] =
              cv::saturate_cast<unsigned char>(colour[k] * opacity + out[c][k] * (1.0 - opacity));
  }
}

/// Draws on the plot area (an ROI of the picture) in its own coordinates.
class PlotArea {
 public:
  PlotArea(cv::Mat& picture, const pd::Axes& axes)
      : axes_(axes),
        area_(picture(cv::Rect(axes.left(), axes.top(), axes.right() - axes.left() + 1,
                               axes.bottom() - axes.top() + 1))),
        slack_(4.0 * axes.style().u + 20.0) {}

  cv::Mat& mat() { return area_; }
  double x(double v) const { return axes_.x(v) - axes_.left(); }
  double y(double v) const { return axes_.y(v) - axes_.top(); }
  double clamp_x(double px) const { return std::clamp(px, -slack_, area_.cols + slack_); }
  double clamp_y(double py) const { return std::clamp(py, -slack_, area_.rows + slack_); }
  bool near_area(double px, double py) const {
    return px >= -slack_ && px <= area_.cols + slack_ && py >= -slack_ && py <= area_.rows + slack_;
  }

  /// A segment between data points, cut to the area (plus slack).
  void segment(double x0, double y0, double x1, double y1, int thickness,
               const cv::Scalar& colour) {
    double ax = x(x0), ay = y(y0), bx = x(x1), by = y(y1);
    if (pd::clip_segment(ax, ay, bx, by, -slack_, -slack_, area_.cols + slack_,
                         area_.rows + slack_))
      pd::draw_segment(area_, ax, ay, bx, by, thickness, colour);
  }
  void segment_px(double ax, double ay, double bx, double by, int thickness,
                  const cv::Scalar& colour) {
    if (pd::clip_segment(ax, ay, bx, by, -slack_, -slack_, area_.cols + slack_,
                         area_.rows + slack_))
      pd::draw_segment(area_, ax, ay, bx, by, thickness, colour);
  }

 private:
  const pd::Axes& axes_;
  cv::Mat area_;
  double slack_;
};

/// Corners of the outline of a run of consecutive drawable bins [first, last] of a steps
/// series, from the baseline up and back down, in data coordinates.
std::vector<cv::Point2d> step_outline(const PlotSeries& s, std::size_t first, std::size_t last,
                                      double baseline) {
  std::vector<cv::Point2d> corners;
  corners.emplace_back(s.x[first], baseline);
  for (std::size_t i = first; i <= last; ++i) {
    corners.emplace_back(s.x[i], s.y[i]);
    corners.emplace_back(s.x[i + 1], s.y[i]);
  }
  corners.emplace_back(s.x[last + 1], baseline);
  return corners;
}

/// Runs [first, last] of consecutive drawable bins.
std::vector<std::pair<std::size_t, std::size_t>> bin_runs(const PlotSeries& s) {
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (std::size_t i = 0; i < s.y.size(); ++i) {
    if (!bin_ok(s, i)) continue;
    if (!runs.empty() && runs.back().second + 1 == i)
      runs.back().second = i;
    else
      runs.emplace_back(i, i);
  }
  return runs;
}

}  // namespace

void write_plot_png(const fs::path& file, const std::vector<PlotSeries>& series,
                    const PlotOptions& options) {
  validate(file, series, options);
  const std::string where = "plot " + pd::quoted(file) + ": ";

  // Ranges.
  Extent xs, ys;
  for (const PlotSeries& s : series) {
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      if (s.style == PlotStyle::steps) {
        if (!bin_ok(s, i)) continue;
        xs.add(s.x[i]);
        xs.add(s.x[i + 1]);
        ys.add(s.y[i]);
        continue;
      }
      if (!finite(s.x[i], s.y[i])) continue;
      xs.add(s.x[i]);
      ys.add(s.y[i]);
      if (!s.y_error.empty() && std::isfinite(s.y_error[i])) {
        ys.add(s.y[i] - std::abs(s.y_error[i]));
        ys.add(s.y[i] + std::abs(s.y_error[i]));
      }
    }
  }
  for (const auto& marker : options.vertical_markers) xs.add(marker.first);
  const auto [x_min, x_max] =
      options.x_range ? *options.x_range : automatic_range(xs, 0.02, false, "x", where);
  const auto [y_min, y_max] = options.y_range
                                  ? *options.y_range
                                  : automatic_range(ys, 0.05, options.y_from_zero, "y", where);

  // Sizes (those of a 1000x600 plot, scaled).
  const pd::Style st = pd::plot_style(options.width, options.height);
  const int line = st.px(2), thin = std::max(1, st.px(1));
  const double point_radius = 3.5 * st.u, cap_half = 3.0 * st.u, dot_radius = 0.5 * line + 1.0;
  const std::vector<cv::Scalar> colours = series_colours(series);

  // Legend.
  pd::AxesSpec spec;
  spec.width = options.width;
  spec.height = options.height;
  spec.title = options.title;
  spec.x_label = options.x_label;
  spec.y_label = options.y_label;
  spec.x_min = x_min;
  spec.x_max = x_max;
  spec.y_min = y_min;
  spec.y_max = y_max;
  const bool any_label = std::any_of(series.begin(), series.end(),
                                     [](const PlotSeries& s) { return !s.label.empty(); });
  if (series.size() > 1 || any_label) {
    const int sample = st.px(34);
    for (std::size_t i = 0; i < series.size(); ++i) {
      const PlotSeries& s = series[i];
      const cv::Scalar colour = colours[i];
      const std::string text = s.label.empty() ? "series " + std::to_string(i + 1) : s.label;
      spec.legend.push_back(
          {pd::hershey_text(text), 34,
           [&s, colour, sample, line, thin, point_radius, cap_half, st](cv::Mat& picture, int left,
                                                                        int middle) {
             const double centre = left + sample / 2.0;
             switch (s.style) {
               case PlotStyle::line:
                 pd::draw_segment(picture, left, middle, left + sample, middle, line, colour);
                 break;
               case PlotStyle::points:
                 pd::draw_circle_marker(picture, centre, middle, point_radius, colour);
                 break;
               case PlotStyle::steps: {
                 const cv::Rect box(left + st.px(4), middle - st.px(6), sample - 2 * st.px(4),
                                    2 * st.px(6));
                 if (s.filled)
                   cv::rectangle(picture, box, blend(colour, pd::kPaper, kFillOpacity), cv::FILLED);
                 cv::rectangle(picture, box, colour, line);
                 break;
               }
             }
             if (!s.y_error.empty()) {
               const double half = 2.2 * point_radius;
               pd::draw_segment(picture, centre, middle - half, centre, middle + half, thin,
                                colour);
               pd::draw_segment(picture, centre - cap_half, middle - half, centre + cap_half,
                                middle - half, thin, colour);
               pd::draw_segment(picture, centre - cap_half, middle + half, centre + cap_half,
                                middle + half, thin, colour);
             }
           }});
    }
  }
  const pd::Axes axes(std::move(spec));

  cv::Mat picture(options.height, options.width, CV_8UC3, pd::kPaper);
  axes.draw_grid(picture);
  PlotArea area(picture, axes);

  // Vertical markers: dashed lines under the data; labels drawn last.
  struct MarkerLabel {
    pd::Text text;
    pd::Font font;
    cv::Point origin;
    cv::Rect box;
  };
  std::vector<MarkerLabel> labels;
  {
    const int dash = st.px(6), gap = st.px(4);
    const pd::Font font = st.font(0.45);
    std::vector<std::vector<cv::Rect>> rows(3);  // labels stagger over 3 rows to avoid overlaps
    for (const auto& [value, label] : options.vertical_markers) {
      if (!std::isfinite(value) || value < x_min || value > x_max) continue;
      const double px = area.x(value);
      for (int y = 0; y < area.mat().rows; y += dash + gap)
        pd::draw_segment(area.mat(), px, y, px, std::min(y + dash, area.mat().rows - 1), thin,
                         kMarkerInk);
      const auto [text, fitted] =
          pd::fit_text(pd::hershey_text(label), font, font.scale, area.mat().cols / 3);
      const pd::TextBox box = pd::measure(text, fitted);
      if (box.width == 0) continue;
      const int pad = st.px(2);
      int left = static_cast<int>(std::lround(px)) + st.px(4);
      if (left + box.width + pad > area.mat().cols)
        left = static_cast<int>(std::lround(px)) - st.px(4) - box.width;
      std::size_t row = 0;
      cv::Rect rect;
      for (; row < rows.size(); ++row) {
        const int top = st.px(4) + static_cast<int>(row) * (box.height() + 2 * pad + st.px(2));
        rect = cv::Rect(left - pad, top, box.width + 2 * pad, box.height() + 2 * pad);
        const bool overlaps = std::any_of(rows[row].begin(), rows[row].end(),
                                          [&](const cv::Rect& r) { return (r & rect).area() > 0; });
        if (!overlaps) break;
      }
      if (row == rows.size()) {
        row = 0;
        rect.y = st.px(4);
      }
      rows[row].push_back(rect);
      labels.push_back({text, fitted, {left, rect.y + pad + box.ascent}, rect});
    }
  }

  // Translucent fills first, so that no series hides another's outline.
  const double baseline = std::clamp(0.0, y_min, y_max);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const PlotSeries& s = series[i];
    if (s.style != PlotStyle::steps || !s.filled) continue;
    for (const auto& [first, last] : bin_runs(s)) {
      std::vector<cv::Point> polygon;
      for (const cv::Point2d& c : step_outline(s, first, last, baseline))
        polygon.push_back(pd::fixed_point(area.clamp_x(area.x(c.x)), area.clamp_y(area.y(c.y))));
      fill_translucent(area.mat(), polygon, colours[i], kFillOpacity);
    }
  }

  // Outlines, lines, error bars and points, in the order given.
  for (std::size_t i = 0; i < series.size(); ++i) {
    const PlotSeries& s = series[i];
    const cv::Scalar& colour = colours[i];
    if (s.style == PlotStyle::steps) {
      for (const auto& [first, last] : bin_runs(s)) {
        const std::vector<cv::Point2d> corners = step_outline(s, first, last, baseline);
        for (std::size_t k = 1; k < corners.size(); ++k)
          area.segment(corners[k - 1].x, corners[k - 1].y, corners[k].x, corners[k].y, line,
                       colour);
      }
      continue;
    }
    const std::size_t n = s.y.size();
    const auto ok = [&](std::size_t k) { return k < n && finite(s.x[k], s.y[k]); };
    if (s.style == PlotStyle::line) {
      for (std::size_t k = 0; k < n; ++k) {
        if (!ok(k)) continue;
        if (k + 1 < n && ok(k + 1))
          area.segment(s.x[k], s.y[k], s.x[k + 1], s.y[k + 1], line, colour);
        const bool isolated = !(k > 0 && ok(k - 1)) && !ok(k + 1);
        if (isolated && area.near_area(area.x(s.x[k]), area.y(s.y[k])))
          pd::draw_circle_marker(area.mat(), area.x(s.x[k]), area.y(s.y[k]), dot_radius, colour);
      }
    }
    if (!s.y_error.empty()) {
      for (std::size_t k = 0; k < n; ++k) {
        if (!ok(k) || !std::isfinite(s.y_error[k])) continue;
        const double e = std::abs(s.y_error[k]);
        const double px = area.x(s.x[k]), low = area.y(s.y[k] - e), high = area.y(s.y[k] + e);
        area.segment_px(px, low, px, high, thin, colour);
        for (const double end : {low, high})
          area.segment_px(px - cap_half, end, px + cap_half, end, thin, colour);
      }
    }
    if (s.style == PlotStyle::points) {
      for (std::size_t k = 0; k < n; ++k) {
        if (!ok(k)) continue;
        const double px = area.x(s.x[k]), py = area.y(s.y[k]);
        if (area.near_area(px, py))
          pd::draw_circle_marker(area.mat(), px, py, point_radius, colour);
      }
    }
  }

  for (const MarkerLabel& label : labels) {
    cv::rectangle(area.mat(), label.box, pd::kPaper, cv::FILLED);
    pd::draw_text(area.mat(), label.text, label.origin, label.font, kMarkerInk);
  }
  axes.draw_frame(picture);
  axes.draw_legend(picture);
  pd::write_png(file, picture, "plot");
}

}  // namespace xanesmap
