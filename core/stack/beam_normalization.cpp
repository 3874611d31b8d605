#include "core/stack/beam_normalization.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/base/detail/opencv_headers.hpp"
#include "core/base/error.hpp"

namespace xanesmap {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMadToSigma = 1.4826;         // normal distribution: sigma = 1.4826 x MAD
constexpr double kSampleSigmas = 5.0;          // sample: above background level + 5 sigma
constexpr double kMinSampleStepOd = 0.005;     // ... and at least this far above it
constexpr double kRejectSigmas = 4.0;          // per-frame fits: outliers beyond 4 sigma
constexpr std::size_t kMaxSamples = 1u << 16;  // sample-free pixels used per frame, at most
constexpr std::size_t kHistogramBins = 512;    // mode of the post-edge mean

std::size_t coefficient_count(BeamModel model) {
  switch (model) {
    case BeamModel::offset:
      return 1;
    case BeamModel::plane:
      return 3;
    case BeamModel::quadratic:
      return 6;
    case BeamModel::none:
      break;
  }
  return 0;
}

/// The model's terms at pixel (r, c): 1, x, y, x^2, x y, y^2 with x, y in [-1, 1] over the field.
struct Terms {
  double cy, cx, hy, hx;
  Terms(std::size_t h, std::size_t w)
      : cy(0.5 * static_cast<double>(h - 1)),
        cx(0.5 * static_cast<double>(w - 1)),
        hy(std::max(1.0, 0.5 * static_cast<double>(h - 1))),
        hx(std::max(1.0, 0.5 * static_cast<double>(w - 1))) {}
  void operator()(std::size_t r, std::size_t c, std::size_t count, double* t) const {
    const double y = (static_cast<double>(r) - cy) / hy, x = (static_cast<double>(c) - cx) / hx;
    const double all[6] = {1.0, x, y, x * x, x * y, y * y};
    std::copy(all, all + count, t);
  }
};

double median_of(std::vector<double> v) {
  if (v.empty()) return kNaN;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

/// Mean OD of the frames at or above `from_ev` (the upper third when NaN or too few), over the
/// frames where the pixel's value is finite; NaN where fewer than half of them are (a pixel
/// flagged in some frames, e.g. a saturated frame, still has a mean from the others).
Image<float> post_edge_mean(const EnergyStack& od, double from_ev) {
  const std::size_t n = od.frame_count(), h = od.height(), w = od.width();
  std::vector<std::size_t> frames;
  for (std::size_t e = 0; e < n; ++e)
    if (std::isfinite(from_ev) && od.energy_ev(e) >= from_ev) frames.push_back(e);
  if (frames.size() < 2) {
    frames.clear();
    for (std::size_t e = n - std::max<std::size_t>(1, n / 3); e < n; ++e) frames.push_back(e);
  }
  Image<float> mean(h, w, std::numeric_limits<float>::quiet_NaN());
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h), [&](const auto& rows) {
    std::vector<double> sum(w);
    std::vector<std::size_t> count(w);
    for (std::size_t r = rows.begin(); r != rows.end(); ++r) {
      std::fill(sum.begin(), sum.end(), 0.0);
      std::fill(count.begin(), count.end(), 0);
      for (const std::size_t e : frames) {
        const float* row = od.frame(e).row(r);
        for (std::size_t c = 0; c < w; ++c)
          if (std::isfinite(row[c])) sum[c] += row[c], ++count[c];
      }
      for (std::size_t c = 0; c < w; ++c)
        if (2 * count[c] >= frames.size() && count[c] > 0)
          mean(r, c) = static_cast<float>(sum[c] / static_cast<double>(count[c]));
    }
  });
  return mean;
}

/// The background's level (the histogram's mode) and its robust sigma from the values below it.
std::pair<double, double> background_level(std::vector<double> values) {
  auto at = [&](std::size_t rank) {
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                     values.end());
    return values[rank];
  };
  const double lo = at(values.size() / 100), hi = at(values.size() * 99 / 100);
  if (!(hi > lo)) return {lo, 0.0};
  std::vector<std::size_t> histogram(kHistogramBins, 0);
  const double bin = (hi - lo) / static_cast<double>(kHistogramBins);
  for (const double v : values)
    if (v >= lo && v < hi) ++histogram[static_cast<std::size_t>((v - lo) / bin)];
  const std::size_t peak = static_cast<std::size_t>(
      std::max_element(histogram.begin(), histogram.end()) - histogram.begin());
  const double level = lo + (static_cast<double>(peak) + 0.5) * bin;
  std::vector<double> below;
  for (const double v : values)
    if (v < level) below.push_back(level - v);
  return {level, below.empty() ? 0.0 : kMadToSigma * median_of(std::move(below))};
}

/// 1 where the pixel is valid and farther than margin_px from any sample pixel.
Image<std::uint8_t> sample_free_pixels(const Image<float>& mean, double margin_px) {
  std::vector<double> values;
  values.reserve(mean.size());
  for (const float v : mean.pixels())
    if (std::isfinite(v)) values.push_back(v);
  Image<std::uint8_t> free(mean.height(), mean.width(), 0);
  if (values.size() < 16) return free;
  const auto [level, sigma] = background_level(values);
  const double threshold = level + std::max(kSampleSigmas * sigma, kMinSampleStepOd);
  cv::Mat sample(static_cast<int>(mean.height()), static_cast<int>(mean.width()), CV_8U);
  for (std::size_t p = 0; p < mean.size(); ++p)
    sample.data[p] = mean.data()[p] > threshold ? 255 : 0;
  const int radius = static_cast<int>(std::ceil(margin_px));
  if (radius > 0)
    cv::dilate(sample, sample,
               cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * radius + 1, 2 * radius + 1}));
  for (std::size_t p = 0; p < mean.size(); ++p)
    free.data()[p] = std::isfinite(mean.data()[p]) && sample.data[p] == 0 ? 1 : 0;
  return free;
}

/// Least squares of `model` to the frame's values at `pixels`, rejecting values beyond 4 robust
/// sigma of the median, then beyond 4 robust sigma of the first fit's residuals.
std::vector<double> fit_frame(ImageView<const float> frame, const std::vector<std::size_t>& pixels,
                              BeamModel model, const Terms& terms) {
  const std::size_t k = coefficient_count(model), w = frame.width();
  std::vector<double> values(pixels.size());
  for (std::size_t i = 0; i < pixels.size(); ++i) values[i] = frame(pixels[i] / w, pixels[i] % w);
  std::vector<double> residual = values;
  double centre = median_of(residual);
  std::vector<double> spread(residual.size());
  std::vector<double> coefficients(k, 0.0);
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < residual.size(); ++i) spread[i] = std::abs(residual[i] - centre);
    const double limit = kRejectSigmas * kMadToSigma * median_of(spread);
    Eigen::MatrixXd normal =
        Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(k));
    Eigen::VectorXd rhs = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(k));
    double t[6];
    std::size_t used = 0;
    for (std::size_t i = 0; i < pixels.size(); ++i) {
      if (!std::isfinite(values[i]) || !(std::abs(residual[i] - centre) <= limit)) continue;
      ++used;
      terms(pixels[i] / w, pixels[i] % w, k, t);
      for (std::size_t a = 0; a < k; ++a) {
        rhs(static_cast<Eigen::Index>(a)) += t[a] * values[i];
        for (std::size_t b = 0; b < k; ++b)
          normal(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) += t[a] * t[b];
      }
    }
    if (used < 4 * k) return std::vector<double>(k, 0.0);  // a frame without values: untouched
    const Eigen::VectorXd solution = normal.ldlt().solve(rhs);
    for (std::size_t a = 0; a < k; ++a) coefficients[a] = solution(static_cast<Eigen::Index>(a));
    for (std::size_t i = 0; i < pixels.size(); ++i) {
      terms(pixels[i] / w, pixels[i] % w, k, t);
      double model_value = 0.0;
      for (std::size_t a = 0; a < k; ++a) model_value += coefficients[a] * t[a];
      residual[i] = values[i] - model_value;
    }
    centre = 0.0;
  }
  return coefficients;
}

/// Subtracts the surface from every pixel of the frame; returns its mean over the field. Per row
/// the surface is A + B x + C x^2 (A, B from the row's y), so a pixel costs two multiply-adds.
double subtract_surface(ImageView<float> frame, const std::vector<double>& coefficients,
                        const Terms& terms) {
  const std::size_t k = coefficients.size(), h = frame.height(), w = frame.width();
  std::vector<double> co(6, 0.0);
  std::copy(coefficients.begin(), coefficients.end(), co.begin());
  std::vector<double> x(w);
  for (std::size_t c = 0; c < w; ++c) x[c] = (static_cast<double>(c) - terms.cx) / terms.hx;
  double total = 0.0;
  for (std::size_t r = 0; r < h; ++r) {
    const double y = (static_cast<double>(r) - terms.cy) / terms.hy;
    const double a = co[0] + co[2] * y + co[5] * y * y, b = co[1] + co[4] * y, q = co[3];
    float* row = frame.row(r);
    double row_total = 0.0;
    if (k == 1) {
      const auto offset = static_cast<float>(a);
      for (std::size_t c = 0; c < w; ++c) row[c] -= offset;
      total += a * static_cast<double>(w);
      continue;
    }
    for (std::size_t c = 0; c < w; ++c) {
      const double value = a + (b + q * x[c]) * x[c];
      row[c] = static_cast<float>(row[c] - value);
      row_total += value;
    }
    total += row_total;
  }
  return total / static_cast<double>(h * w);
}

}  // namespace

const char* to_string(BeamModel model) {
  switch (model) {
    case BeamModel::none:
      return "none";
    case BeamModel::offset:
      return "offset";
    case BeamModel::plane:
      return "plane";
    case BeamModel::quadratic:
      return "quadratic";
  }
  return "?";
}

BeamModel parse_beam_model(const std::string& text) {
  for (const BeamModel m :
       {BeamModel::none, BeamModel::offset, BeamModel::plane, BeamModel::quadratic})
    if (text == to_string(m)) return m;
  throw OptionError("background", "'" + text + "' is not none, offset, plane or quadratic");
}

void BeamNormalizationOptions::validate() const {
  if (!(margin_px >= 0.0 && margin_px <= 1000.0))
    throw OptionError("background-margin-px", "must be between 0 and 1000 px");
  if (!(min_background_fraction > 0.0 && min_background_fraction < 1.0))
    throw OptionError("min_background_fraction", "must be a fraction between 0 and 1");
}

BeamNormalization normalize_beam(EnergyStack& od, double post_edge_from_ev,
                                 const BeamNormalizationOptions& options) {
  options.validate();
  BeamNormalization result;
  const std::size_t n = od.frame_count(), h = od.height(), w = od.width();
  result.offset_od.assign(n, 0.0);
  if (options.model == BeamModel::none || n == 0) return result;
  const Image<float> mean = post_edge_mean(od, post_edge_from_ev);
  result.background = sample_free_pixels(mean, options.margin_px);
  std::size_t valid = 0;
  std::vector<std::size_t> pixels;
  for (std::size_t p = 0; p < mean.size(); ++p) {
    valid += std::isfinite(mean.data()[p]) ? 1 : 0;
    if (result.background.data()[p]) pixels.push_back(p);
  }
  result.background_pixels = pixels.size();
  result.background_fraction =
      valid ? static_cast<double>(pixels.size()) / static_cast<double>(valid) : 0.0;
  const std::size_t needed = std::max<std::size_t>(
      64, static_cast<std::size_t>(options.min_background_fraction * static_cast<double>(valid)));
  if (pixels.size() < needed) {
    std::ostringstream m;
    m << "beam normalization (--background " << to_string(options.model) << ") skipped: only "
      << pixels.size() << " sample-free pixels, at least " << needed
      << " needed; the frames' OD offsets are not corrected";
    result.skipped_reason = m.str();
    return result;
  }
  // An evenly spread subset keeps each frame's fit cheap without favouring any region.
  const std::size_t stride = (pixels.size() + kMaxSamples - 1) / kMaxSamples;
  std::vector<std::size_t> used;
  for (std::size_t i = 0; i < pixels.size(); i += stride) used.push_back(pixels[i]);
  const Terms terms(h, w);
  result.coefficients.assign(n, {});
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t e) {
    result.coefficients[e] = fit_frame(od.frame(e), used, options.model, terms);
    result.offset_od[e] = subtract_surface(od.frame(e), result.coefficients[e], terms);
  });
  result.model = options.model;
  result.applied = true;
  return result;
}

}  // namespace xanesmap
