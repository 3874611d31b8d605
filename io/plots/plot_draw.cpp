// Shared drawing helpers of the PNG writers. The contract is in plot_draw.hpp.
#include "io/plots/plot_draw.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/base/error.hpp"
#include "io/plots/png_preview.hpp"  // colour_bar_ticks: the same round ticks as the colour bars

namespace xanesmap::plot_draw {

namespace fs = std::filesystem;

cv::Scalar series_colour(std::size_t i) {
  namespace oi = okabe_ito;
  static const std::array<cv::Scalar, kSeriesColours> palette{
      oi::blue,     oi::bluish_green,   oi::vermillion, oi::orange,
      oi::sky_blue, oi::reddish_purple, oi::black,      oi::yellow};
  return palette[i % palette.size()];
}

std::string quoted(const fs::path& file) { return "'" + file.string() + "'"; }

std::string format_fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  return buffer.data();
}

// ---------------------------------------------------------------------------------------------
// Text

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

TextBox measure(const Text& text, const Font& font) {
  if (text.ascii.empty()) return {};
  int baseline = 0;
  const cv::Size size =
      cv::getTextSize(text.ascii, kFontFace, font.scale, font.thickness, &baseline);
  return {size.width, size.height, baseline};
}

namespace {

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

}  // namespace

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

void draw_text_upwards(cv::Mat& picture, const Text& text, cv::Point top_left, const Font& font,
                       const cv::Scalar& colour, const cv::Scalar& background) {
  const TextBox box = measure(text, font);
  if (box.width == 0) return;
  cv::Mat patch(box.height(), box.width, CV_8UC3, background);
  draw_text(patch, text, {0, box.ascent}, font, colour);
  cv::Mat turned;
  cv::rotate(patch, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect target =
      cv::Rect(top_left, turned.size()) & cv::Rect(0, 0, picture.cols, picture.rows);
  if (target.empty()) return;
  turned(cv::Rect(target.tl() - top_left, target.size())).copyTo(picture(target));
}

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

int Style::px(double v) const { return std::max(1, static_cast<int>(std::lround(v * u))); }

Font Style::font(double scale) const {
  return {scale * u, std::max(1, static_cast<int>(std::lround(u)))};
}

// ---------------------------------------------------------------------------------------------
// Marks

namespace {
constexpr double kSubPixel = 1 << kSubPixelBits;
}

cv::Point fixed_point(double x, double y) {
  return {static_cast<int>(std::lround(x * kSubPixel)),
          static_cast<int>(std::lround(y * kSubPixel))};
}

int fixed_length(double length) { return static_cast<int>(std::lround(length * kSubPixel)); }

void draw_segment(cv::Mat& picture, double x0, double y0, double x1, double y1, int thickness,
                  const cv::Scalar& colour) {
  cv::line(picture, fixed_point(x0, y0), fixed_point(x1, y1), colour, thickness, cv::LINE_AA,
           kSubPixelBits);
}

void draw_circle_marker(cv::Mat& picture, double x, double y, double radius,
                        const cv::Scalar& colour) {
  cv::circle(picture, fixed_point(x, y), fixed_length(radius), colour, cv::FILLED, cv::LINE_AA,
             kSubPixelBits);
}

void draw_square_marker(cv::Mat& picture, double x, double y, double half,
                        const cv::Scalar& colour) {
  const std::array<cv::Point, 4> corners{
      fixed_point(x - half, y - half), fixed_point(x + half, y - half),
      fixed_point(x + half, y + half), fixed_point(x - half, y + half)};
  cv::fillConvexPoly(picture, corners.data(), 4, colour, cv::LINE_AA, kSubPixelBits);
}

void draw_ring(cv::Mat& picture, double x, double y, double radius, int thickness,
               const cv::Scalar& colour) {
  cv::circle(picture, fixed_point(x, y), fixed_length(radius), colour, thickness, cv::LINE_AA,
             kSubPixelBits);
}

bool clip_segment(double& x0, double& y0, double& x1, double& y1, double left, double top,
                  double right, double bottom) {
  const double dx = x1 - x0, dy = y1 - y0;
  double t0 = 0.0, t1 = 1.0;
  // Each edge: p * t <= q keeps the point inside.
  const std::array<std::pair<double, double>, 4> edges{
      std::pair{-dx, x0 - left}, std::pair{dx, right - x0}, std::pair{-dy, y0 - top},
      std::pair{dy, bottom - y0}};
  for (const auto& [p, q] : edges) {
    if (p == 0.0) {
      if (q < 0.0) return false;  // parallel to this edge and outside
      continue;
    }
    const double t = q / p;
    if (p < 0.0) {
      if (t > t1) return false;
      t0 = std::max(t0, t);
    } else {
      if (t < t0) return false;
      t1 = std::min(t1, t);
    }
  }
  if (!std::isfinite(t0) || !std::isfinite(t1)) return false;
  const double ax = x0, ay = y0;
  if (t0 > 0.0) {
    x0 = ax + t0 * dx;
    y0 = ay + t0 * dy;
  }
  if (t1 < 1.0) {
    x1 = ax + t1 * dx;
    y1 = ay + t1 * dy;
  }
  return std::isfinite(x0) && std::isfinite(y0) && std::isfinite(x1) && std::isfinite(y1);
}

// ---------------------------------------------------------------------------------------------
// Axes

std::vector<std::string> tick_labels(const ColourBarTicks& ticks) {
  double largest = 0.0;
  for (const double v : ticks.values) largest = std::max(largest, std::abs(v));
  std::vector<std::string> labels;
  if (!(largest >= 1e6 || (largest > 0.0 && largest < 1e-4))) {
    for (const double v : ticks.values) labels.push_back(format_fixed(v, ticks.decimals));
    return labels;
  }
  // Scientific: as many significant digits as tell the ticks apart (the step's last digit).
  const double step = ticks.values.size() > 1 ? ticks.values[1] - ticks.values[0] : largest;
  const int digits = std::clamp(
      static_cast<int>(std::floor(std::log10(largest)) - std::floor(std::log10(step))) + 1, 1, 17);
  for (const double v : ticks.values) {
    if (v == 0.0) {
      labels.emplace_back("0");
      continue;
    }
    std::array<char, 64> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.*e", digits - 1, v);
    labels.emplace_back(buffer.data());
  }
  return labels;
}

Style plot_style(int width, int height) {
  Style style;
  style.u = std::clamp(std::min(width / 1000.0, height / 600.0), 0.5, 4.0);
  return style;
}

Axes::Axes(AxesSpec spec) : spec_(std::move(spec)) {
  const AxesSpec& s = spec_;
  const int W = s.width, H = s.height;
  style_ = plot_style(W, H);
  const Style& st = style_;
  margin_ = st.px(16);
  tick_length_ = st.px(5);
  title_font_ = st.font(0.8);
  tick_font_ = st.font(0.5);
  label_font_ = st.font(0.6);
  legend_font_ = st.font(0.55);

  const ColourBarTicks xt = colour_bar_ticks(s.x_min, s.x_max);
  const ColourBarTicks yt = colour_bar_ticks(s.y_min, s.y_max);
  x_ticks_ = xt.values;
  y_ticks_ = yt.values;
  int x_text_width = 0, y_text_width = 0;
  for (const std::string& label : tick_labels(xt)) {
    x_texts_.push_back(hershey_text(label));
    x_text_width = std::max(x_text_width, measure(x_texts_.back(), tick_font_).width);
  }
  for (const std::string& label : tick_labels(yt)) {
    y_texts_.push_back(hershey_text(label));
    y_text_width = std::max(y_text_width, measure(y_texts_.back(), tick_font_).width);
  }
  const TextBox tick_box = measure(Text{"0123456789", {}}, tick_font_);

  // Axis labels: the x label fits the picture's width, the y label its height.
  std::tie(x_label_, label_font_) =
      fit_text(hershey_text(s.x_label), label_font_, 0.45 * st.u, W - 2 * margin_);
  Font y_label_font = st.font(0.6);
  std::tie(y_label_, y_label_font) =
      fit_text(hershey_text(s.y_label), y_label_font, 0.45 * st.u, H - 2 * margin_);
  label_font_.scale = std::min(label_font_.scale, y_label_font.scale);
  const TextBox x_label_box = measure(x_label_, label_font_);
  const TextBox y_label_box = measure(y_label_, label_font_);

  std::tie(title_, title_font_) =
      fit_text(hershey_text(s.title), title_font_, 0.55 * st.u, W - 2 * margin_);
  const TextBox title_box = measure(title_, title_font_);
  const int title_bottom = title_.ascii.empty() ? margin_ : margin_ + title_box.height();

  left_ = margin_ + y_label_box.height() + st.px(10) + y_text_width + st.px(6) + tick_length_;
  right_ = W - margin_ - st.px(12);
  bottom_ =
      H - margin_ - x_label_box.height() - st.px(10) - tick_box.height() - st.px(6) - tick_length_;

  // Legend rows: entries left to right from the plot's left edge, wrapping at its right edge.
  const TextBox legend_box = measure(Text{"dy", {}}, legend_font_);
  const int gap = st.px(8), spacing = st.px(28), pitch = legend_box.height() + st.px(10);
  const int first_middle = title_bottom + st.px(14) + legend_box.height() / 2 + st.px(2);
  // At most as many rows as leave the plot a third of the picture's height.
  const int max_rows =
      std::max(1, (bottom_ - H / 3 - st.px(14) - legend_box.height() - first_middle) / pitch + 1);
  std::vector<LegendItem>& items = spec_.legend;
  for (LegendItem& item : items) {
    item.sample_width = st.px(item.sample_width);
    const int room = std::max(1, right_ - left_ - item.sample_width - gap);
    item.text = fit_text(item.text, legend_font_, legend_font_.scale, room).first;
  }
  const auto place_all = [&](std::vector<LegendItem>& list) {
    std::vector<Placed> places;
    int x = left_, row = 0;
    for (const LegendItem& item : list) {
      const int width = item.sample_width + gap + measure(item.text, legend_font_).width;
      if (x > left_ && x + width > right_) {
        ++row;
        x = left_;
      }
      places.push_back({x, first_middle + row * pitch, row});
      x += width + spacing;
    }
    return places;
  };
  legend_places_ = place_all(items);
  if (!legend_places_.empty() && legend_places_.back().row >= max_rows) {
    // Too many entries for this picture: keep those that fit and say how many are left out.
    std::size_t kept = items.size();
    while (kept > 0) {
      --kept;
      std::vector<LegendItem> trial(items.begin(),
                                    items.begin() + static_cast<std::ptrdiff_t>(kept));
      trial.push_back({hershey_text("(+" + std::to_string(items.size() - kept) + " more)"), 0, {}});
      trial.back().sample_width = 0;
      const std::vector<Placed> places = place_all(trial);
      if (places.back().row < max_rows || kept == 0) {
        items = std::move(trial);
        legend_places_ = places;
        break;
      }
    }
  }
  const int last_middle = legend_places_.empty() ? 0 : legend_places_.back().middle;
  top_ = legend_places_.empty() ? title_bottom + st.px(14)
                                : last_middle + legend_box.height() + st.px(14);

  // Tick values far enough apart not to overlap: every stride-th value is written.
  const auto stride = [](const std::vector<double>& ticks, double pixels_per_unit, int room) {
    if (ticks.size() < 2) return std::size_t{1};
    const double spacing_px = std::abs(ticks[1] - ticks[0]) * pixels_per_unit;
    std::size_t k = 1;
    while (k < ticks.size() && static_cast<double>(k) * spacing_px < room) ++k;
    return k;
  };
  x_text_stride_ =
      stride(x_ticks_, (right_ - left_) / (s.x_max - s.x_min), x_text_width + st.px(10));
  y_text_stride_ =
      stride(y_ticks_, (bottom_ - top_) / (s.y_max - s.y_min), tick_box.height() + st.px(4));
}

double Axes::x(double value) const {
  return left_ + (value - spec_.x_min) / (spec_.x_max - spec_.x_min) * (right_ - left_);
}

double Axes::y(double value) const {
  return bottom_ - (value - spec_.y_min) / (spec_.y_max - spec_.y_min) * (bottom_ - top_);
}

void Axes::draw_grid(cv::Mat& picture) const {
  const int line = std::max(1, style_.px(1));
  if (!title_.ascii.empty()) {
    const TextBox box = measure(title_, title_font_);
    int x = (left_ + right_ - box.width) / 2;  // centred over the plot when it fits there
    x = std::max(margin_, std::min(x, spec_.width - margin_ - box.width));
    draw_text(picture, title_, {x, margin_ + box.ascent}, title_font_, kInk);
  }
  const TextBox tick_box = measure(Text{"0123456789", {}}, tick_font_);
  for (std::size_t k = 0; k < x_ticks_.size(); ++k) {
    const int x = static_cast<int>(std::lround(this->x(x_ticks_[k])));
    cv::line(picture, {x, top_}, {x, bottom_}, kGrid, line);
    cv::line(picture, {x, bottom_}, {x, bottom_ + tick_length_}, kInk, line);
    if (k % x_text_stride_ != 0) continue;
    const TextBox box = measure(x_texts_[k], tick_font_);
    draw_text(picture, x_texts_[k],
              {x - box.width / 2, bottom_ + tick_length_ + style_.px(6) + tick_box.ascent},
              tick_font_, kInk);
  }
  for (std::size_t k = 0; k < y_ticks_.size(); ++k) {
    const int y = static_cast<int>(std::lround(this->y(y_ticks_[k])));
    cv::line(picture, {left_, y}, {right_, y}, kGrid, line);
    cv::line(picture, {left_ - tick_length_, y}, {left_, y}, kInk, line);
    if (k % y_text_stride_ != 0) continue;
    const TextBox box = measure(y_texts_[k], tick_font_);
    draw_text(picture, y_texts_[k],
              {left_ - tick_length_ - style_.px(6) - box.width, y + box.ascent / 2}, tick_font_,
              kInk);
  }
  const TextBox x_box = measure(x_label_, label_font_);
  draw_text(picture, x_label_,
            {(left_ + right_ - x_box.width) / 2, spec_.height - margin_ - x_box.descent},
            label_font_, kInk);
  const TextBox y_box = measure(y_label_, label_font_);
  draw_text_upwards(picture, y_label_, {margin_, (top_ + bottom_) / 2 - y_box.width / 2},
                    label_font_, kInk);
}

void Axes::draw_frame(cv::Mat& picture) const {
  cv::rectangle(picture, cv::Point(left_, top_), cv::Point(right_, bottom_), kInk,
                std::max(1, style_.px(1)));
}

void Axes::draw_legend(cv::Mat& picture) const {
  const TextBox legend_box = measure(Text{"dy", {}}, legend_font_);
  const int gap = style_.px(8);
  for (std::size_t i = 0; i < spec_.legend.size(); ++i) {
    const LegendItem& item = spec_.legend[i];
    const Placed& place = legend_places_[i];
    if (item.draw_sample) item.draw_sample(picture, place.left, place.middle);
    const int text_left = item.sample_width > 0 ? place.left + item.sample_width + gap : place.left;
    draw_text(picture, item.text, {text_left, place.middle + legend_box.ascent / 2}, legend_font_,
              kInk);
  }
}

// ---------------------------------------------------------------------------------------------
// Output

void write_png(const fs::path& file, const cv::Mat& picture, const std::string& what) {
  std::vector<unsigned char> bytes;
  try {
    // OpenCV's PNG defaults are its fast settings (the "sub" row filter, deflate level 1, run-
    // length strategy): a 2048 px map preview encodes in a fraction of the time level 6 took,
    // for files about 10 % larger.
    if (!cv::imencode(".png", picture, bytes))
      throw OutputError(quoted(file) + ": OpenCV could not encode the " + what);
  } catch (const cv::Exception& e) {
    throw OutputError(quoted(file) + ": OpenCV could not encode the " + what + " (" + e.what() +
                      ")");
  }
  // A sibling ".name.partial-<pid>-<n>" renamed over the file: readers never see half a PNG,
  // and a failed write leaves neither file behind.
  static std::atomic<unsigned> counter{0};
  const fs::path parent = file.parent_path();
  const fs::path temporary =
      parent / ("." + file.filename().string() + ".partial-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter++));
  std::FILE* out = std::fopen(temporary.c_str(), "wb");
  if (!out)
    throw OutputError(quoted(file) + ": cannot create the " + what + ": " + std::strerror(errno));
  const std::size_t written = std::fwrite(bytes.data(), 1, bytes.size(), out);
  int error = written == bytes.size() ? 0 : errno;
  if (std::fclose(out) != 0 && error == 0) error = errno;
  std::error_code ignored;
  if (written != bytes.size() || error != 0) {
    fs::remove(temporary, ignored);
    throw OutputError(quoted(file) + ": cannot write the " + what + ": " +
                      std::strerror(error != 0 ? error : EIO));
  }
  std::error_code renamed;
  fs::rename(temporary, file, renamed);
  if (renamed) {
    fs::remove(temporary, ignored);
    throw OutputError(quoted(file) + ": cannot write the " + what + ": " + renamed.message());
  }
}

}  // namespace xanesmap::plot_draw
