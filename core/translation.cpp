#include "core/translation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/error.hpp"

namespace xanesmap {

void TranslationOptions::validate() const {
  if (upsample < 1 || upsample > 1000)
    throw OptionError("upsample", "must be between 1 and 1000, not " + std::to_string(upsample));
  if (!(std::isfinite(max_shift_px) && max_shift_px >= 0.0))
    throw OptionError("max shift", "must be a finite distance >= 0 px (0 = unbounded)");
  if (weighting != CorrelationWeighting::plain && weighting != CorrelationWeighting::phase &&
      weighting != CorrelationWeighting::partial && weighting != CorrelationWeighting::gradient)
    throw OptionError("weighting", "must be plain, phase, partial or gradient");
  if (!(partial_exponent >= 0.0 && partial_exponent <= 1.0))
    throw OptionError("partial exponent", "must be between 0 (plain) and 1 (phase)");
  if (!(window_fraction >= 0.0 && window_fraction <= 0.5))
    throw OptionError("window fraction", "must be between 0 (no window) and 0.5");
  if (!(std::isfinite(lowpass_sigma_px) && lowpass_sigma_px >= 0.0))
    throw OptionError("lowpass sigma", "must be a finite width >= 0 px (0 = none)");
  if (background != BackgroundModel::plane && background != BackgroundModel::mean &&
      background != BackgroundModel::constant)
    throw OptionError("background", "must be plane, mean or constant");
}

namespace {

constexpr double two_pi = 2.0 * std::numbers::pi;
constexpr int kRobustIterations = 2;

// Tukey window along n pixels; see the header for the formula.
std::vector<double> tukey_window(std::size_t n, double fraction) {
  std::vector<double> w(n, 1.0);
  const double taper = fraction * static_cast<double>(n);
  if (!(taper > 0.0)) return w;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(i) + 0.5;
    const double d = std::min(u, static_cast<double>(n) - u);
    if (d < taper) w[i] = 0.5 * (1.0 - std::cos(std::numbers::pi * d / taper));
  }
  return w;
}

struct Prepared {
  cv::Mat spectrum;    // CV_64FC2, padded rows x padded columns
  double energy = 0.0; // sum of the squared pixels that entered the FFT
  bool ok = false;     // false: no finite pixel or no variation
};

// Background a + by (y - yc) + bx (x - xc).
struct Background {
  double a = 0.0, by = 0.0, bx = 0.0;
};

// Least-squares background over the finite pixels whose residual from `previous` lies within
// [lo, hi] (all finite pixels when `previous` is null). Returns the number of pixels used (0: no
// fit; fewer than 3 or a degenerate layout: the mean of those pixels).
double fit_background(ImageView<const float> image, BackgroundModel model, const Background* previous,
                      double lo, double hi, Background& out) {
  const std::size_t h = image.height(), w = image.width();
  const double yc = 0.5 * (static_cast<double>(h) - 1.0), xc = 0.5 * (static_cast<double>(w) - 1.0);
  // Coordinates centred for conditioning.
  double n = 0, sy = 0, sx = 0, syy = 0, sxx = 0, sxy = 0, sv = 0, syv = 0, sxv = 0;
  for (std::size_t r = 0; r < h; ++r) {
    const float* p = image.row(r);
    const double y = static_cast<double>(r) - yc;
    for (std::size_t c = 0; c < w; ++c) {
      const double v = p[c];
      if (!std::isfinite(v)) continue;
      const double x = static_cast<double>(c) - xc;
      if (previous) {
        const double res = v - (previous->a + previous->by * y + previous->bx * x);
        if (!(res >= lo && res <= hi)) continue;
      }
      n += 1, sy += y, sx += x, syy += y * y, sxx += x * x, sxy += x * y;
      sv += v, syv += y * v, sxv += x * v;
    }
  }
  if (n == 0) return 0;
  out = Background{sv / n, 0.0, 0.0};
  if (model == BackgroundModel::plane && n >= 3) {
    // Cramer's rule on the 3x3 normal equations; a (near-)singular system (all pixels on one
    // line) keeps the mean.
    const double m00 = n, m01 = sy, m02 = sx, m11 = syy, m12 = sxy, m22 = sxx;
    const double c00 = m11 * m22 - m12 * m12, c01 = m02 * m12 - m01 * m22, c02 = m01 * m12 - m02 * m11;
    const double det = m00 * c00 + m01 * c01 + m02 * c02;
    if (std::abs(det) > 1e-9 * m00 * m11 * m22) {
      const double c11 = m00 * m22 - m02 * m02, c12 = m01 * m02 - m00 * m12;
      const double c22 = m00 * m11 - m01 * m01;
      out.a = (c00 * sv + c01 * syv + c02 * sxv) / det;
      out.by = (c01 * sv + c11 * syv + c12 * sxv) / det;
      out.bx = (c02 * sv + c12 * syv + c22 * sxv) / det;
    }
  }
  return n;
}

// Robust background (see the header): least squares, then refits to the pixels within
// 3 x 1.4826 MAD of the median residual.
Background robust_background(ImageView<const float> image, BackgroundModel model, bool& any_finite) {
  Background bg;
  const double n_all = fit_background(image, model, nullptr, 0.0, 0.0, bg);
  any_finite = n_all > 0;
  if (!any_finite) return bg;
  const std::size_t h = image.height(), w = image.width();
  const double yc = 0.5 * (static_cast<double>(h) - 1.0), xc = 0.5 * (static_cast<double>(w) - 1.0);
  // The median and MAD from at most ~2^16 pixels (every step-th finite pixel): plenty for a
  // background level, and it keeps the selection cheap on large images.
  const std::size_t step = std::max<std::size_t>(1, static_cast<std::size_t>(n_all) / 65536);
  std::vector<double> residuals;
  residuals.reserve(static_cast<std::size_t>(n_all) / step + 1);
  for (int iteration = 0; iteration < kRobustIterations; ++iteration) {
    residuals.clear();
    std::size_t index = 0;
    for (std::size_t r = 0; r < h; ++r) {
      const float* p = image.row(r);
      const double y = static_cast<double>(r) - yc;
      for (std::size_t c = 0; c < w; ++c)
        if (std::isfinite(p[c]) && index++ % step == 0)
          residuals.push_back(p[c] - (bg.a + bg.by * y + bg.bx * (static_cast<double>(c) - xc)));
    }
    const auto middle = residuals.begin() + static_cast<std::ptrdiff_t>(residuals.size() / 2);
    std::nth_element(residuals.begin(), middle, residuals.end());
    const double median = *middle;
    for (double& v : residuals) v = std::abs(v - median);
    std::nth_element(residuals.begin(), middle, residuals.end());
    const double half_width = 3.0 * 1.4826 * *middle;
    Background refit;
    const double used = fit_background(image, model, &bg, median - half_width, median + half_width, refit);
    if (used < 0.5 * n_all) break;  // not a majority background: keep the previous fit
    bg = refit;
  }
  return bg;
}

// Background subtraction, window, zero padding, FFT (see the header).
Prepared prepare(ImageView<const float> image, const std::vector<double>& window_y,
                 const std::vector<double>& window_x, int rows, int cols, BackgroundModel model) {
  const std::size_t h = image.height(), w = image.width();
  const double yc = 0.5 * (static_cast<double>(h) - 1.0), xc = 0.5 * (static_cast<double>(w) - 1.0);
  Prepared out;
  bool any_finite = false;
  const Background bg = model == BackgroundModel::mean
                            ? [&] {
                                Background b;
                                any_finite = fit_background(image, model, nullptr, 0, 0, b) > 0;
                                return b;
                              }()
                            : robust_background(image, model, any_finite);
  if (!any_finite) return out;
  const double a = bg.a, by = bg.by, bx = bg.bx;
  double vmax = 0.0, n = 0.0;
  cv::Mat padded(rows, cols, CV_64F, cv::Scalar(0.0));
  double rss = 0.0, energy = 0.0;
  for (std::size_t r = 0; r < h; ++r) {
    const float* p = image.row(r);
    double* q = padded.ptr<double>(static_cast<int>(r));
    const double y = static_cast<double>(r) - yc;
    const double row_background = a + by * y;
    for (std::size_t c = 0; c < w; ++c) {
      const double v = p[c];
      if (!std::isfinite(v)) continue;  // stays 0 = the background
      vmax = std::max(vmax, std::abs(v));
      n += 1;
      const double residual = v - (row_background + bx * (static_cast<double>(c) - xc));
      rss += residual * residual;
      const double windowed = residual * window_y[r] * window_x[c];
      energy += windowed * windowed;
      q[c] = windowed;
    }
  }
  // No variation: an RMS residual below 1e-6 of the largest magnitude is float rounding (a
  // float holds 6e-8 relative), e.g. a constant or a plane stored as floats.
  const double floor = 1e-6 * vmax;
  if (!(rss > floor * floor * n) || !(energy > 0.0)) return out;
  cv::dft(padded, out.spectrum, cv::DFT_COMPLEX_OUTPUT);
  out.energy = energy;
  out.ok = true;
  return out;
}

// Signed shift (or frequency) of index i on a circular axis of n points.
int signed_index(int i, int n) { return i < (n + 1) / 2 ? i : i - n; }

// Evaluates c(y, x) = Re (1/N) sum_k R(k) exp(2 pi i (ky y / rows + kx x / cols)) at every
// (ys[j], xs[l]) (row-major result, ys.size() x xs.size()), for a Hermitian R (the spectrum of a
// real surface): the trigonometric interpolant of the surface, with signed frequencies and the
// Nyquist row/column split evenly between +-N/2 (a cosine). Matrix-multiply DFT of
// Guizar-Sicairos et al.: only the columns kx in [0, cols/2] are used, the others being their
// complex conjugates (weight 2, except kx = 0 and the Nyquist column).
std::vector<double> evaluate_surface(const cv::Mat& R, std::span<const double> ys,
                                     std::span<const double> xs) {
  const int rows = R.rows, cols = R.cols, nh = cols / 2 + 1;
  const std::size_t nj = ys.size(), nl = xs.size(), nhs = static_cast<std::size_t>(nh);
  const bool nyquist_row = rows % 2 == 0, nyquist_col = cols % 2 == 0;
  // M(j, kx) = sum_ky Ey(j, ky) R(ky, kx), Ey = exp(2 pi i ky y_j / rows).
  std::vector<double> ey_re(nj), ey_im(nj), row_re(nhs), row_im(nhs);
  std::vector<double> m_re(nj * nhs, 0.0), m_im(nj * nhs, 0.0);
  for (int r = 0; r < rows; ++r) {
    const int ky = signed_index(r, rows);
    if (nyquist_row && r == rows / 2) {
      for (std::size_t j = 0; j < nj; ++j) ey_re[j] = std::cos(std::numbers::pi * ys[j]), ey_im[j] = 0.0;
    } else {
      const double f = two_pi * ky / rows;
      for (std::size_t j = 0; j < nj; ++j) ey_re[j] = std::cos(f * ys[j]), ey_im[j] = std::sin(f * ys[j]);
    }
    const double* row = R.ptr<double>(r);
    for (std::size_t k = 0; k < nhs; ++k) row_re[k] = row[2 * k], row_im[k] = row[2 * k + 1];
    const double* a = row_re.data();
    const double* b = row_im.data();
    for (std::size_t j = 0; j < nj; ++j) {
      const double er = ey_re[j], ei = ey_im[j];
      double* mr = m_re.data() + j * nhs;
      double* mi = m_im.data() + j * nhs;
      for (std::size_t k = 0; k < nhs; ++k) {
        mr[k] += er * a[k] - ei * b[k];
        mi[k] += er * b[k] + ei * a[k];
      }
    }
  }
  // c(j, l) = (1/N) sum_kx weight(kx) Re(M(j, kx) Ex(kx, l)), Ex = exp(2 pi i kx x_l / cols).
  std::vector<double> ex_re(nhs * nl), ex_im(nhs * nl);
  for (int k = 0; k < nh; ++k) {
    double* er = ex_re.data() + static_cast<std::size_t>(k) * nl;
    double* ei = ex_im.data() + static_cast<std::size_t>(k) * nl;
    if (nyquist_col && k == cols / 2) {
      for (std::size_t l = 0; l < nl; ++l) er[l] = std::cos(std::numbers::pi * xs[l]), ei[l] = 0.0;
    } else {
      const double weight = k == 0 ? 1.0 : 2.0, f = two_pi * k / cols;
      for (std::size_t l = 0; l < nl; ++l)
        er[l] = weight * std::cos(f * xs[l]), ei[l] = weight * std::sin(f * xs[l]);
    }
  }
  std::vector<double> out(nj * nl, 0.0);
  for (std::size_t j = 0; j < nj; ++j) {
    double* o = out.data() + j * nl;
    for (std::size_t k = 0; k < nhs; ++k) {
      const double mr = m_re[j * nhs + k], mi = m_im[j * nhs + k];
      const double* er = ex_re.data() + k * nl;
      const double* ei = ex_im.data() + k * nl;
      for (std::size_t l = 0; l < nl; ++l) o[l] += mr * er[l] - mi * ei[l];
    }
  }
  const double scale = 1.0 / (static_cast<double>(rows) * cols);
  for (double& v : out) v *= scale;
  return out;
}

// R / |R|^p; terms below 1e-13 of the largest magnitude are roundoff and set to 0.
cv::Mat weighted_spectrum(const cv::Mat& R, double p) {
  cv::Mat out(R.size(), R.type());
  double max2 = 0.0;
  for (int r = 0; r < R.rows; ++r) {
    const double* q = R.ptr<double>(r);
    for (int c = 0; c < 2 * R.cols; c += 2) max2 = std::max(max2, q[c] * q[c] + q[c + 1] * q[c + 1]);
  }
  const double floor2 = 1e-26 * max2;
  for (int r = 0; r < R.rows; ++r) {
    const double* q = R.ptr<double>(r);
    double* o = out.ptr<double>(r);
    for (int c = 0; c < 2 * R.cols; c += 2) {
      const double m2 = q[c] * q[c] + q[c + 1] * q[c + 1];
      const double s = (m2 > floor2 && m2 > 0.0) ? std::pow(m2, -0.5 * p) : 0.0;
      o[c] = q[c] * s;
      o[c + 1] = q[c + 1] * s;
    }
  }
  return out;
}

// Multiplies a spectrum by exp(-4 pi^2 sigma^2 (fy^2 + fx^2)), f in cycles per pixel (signed):
// the cross-power spectrum of the two images each smoothed by a Gaussian of `sigma` px.
void apply_lowpass(cv::Mat& R, double sigma) {
  const double k = -4.0 * std::numbers::pi * std::numbers::pi * sigma * sigma;
  std::vector<double> gx(static_cast<std::size_t>(R.cols));
  for (int c = 0; c < R.cols; ++c) {
    const double f = static_cast<double>(signed_index(c, R.cols)) / R.cols;
    gx[static_cast<std::size_t>(c)] = std::exp(k * f * f);
  }
  for (int r = 0; r < R.rows; ++r) {
    const double f = static_cast<double>(signed_index(r, R.rows)) / R.rows, gy = std::exp(k * f * f);
    double* q = R.ptr<double>(r);
    for (int c = 0; c < R.cols; ++c) {
      const double g = gy * gx[static_cast<std::size_t>(c)];
      q[2 * c] *= g;
      q[2 * c + 1] *= g;
    }
  }
}

// Multiplies a spectrum by 4 pi^2 (fy^2 + fx^2): correlation of the gradient images.
void apply_gradient_weight(cv::Mat& R) {
  const double k = 4.0 * std::numbers::pi * std::numbers::pi;
  std::vector<double> fx2(static_cast<std::size_t>(R.cols));
  for (int c = 0; c < R.cols; ++c) {
    const double f = static_cast<double>(signed_index(c, R.cols)) / R.cols;
    fx2[static_cast<std::size_t>(c)] = f * f;
  }
  for (int r = 0; r < R.rows; ++r) {
    const double f = static_cast<double>(signed_index(r, R.rows)) / R.rows;
    double* q = R.ptr<double>(r);
    for (int c = 0; c < R.cols; ++c) {
      const double g = k * (f * f + fx2[static_cast<std::size_t>(c)]);
      q[2 * c] *= g;
      q[2 * c + 1] *= g;
    }
  }
}

int to_int_size(std::size_t n, const char* what) {
  if (n == 0 || n > static_cast<std::size_t>(std::numeric_limits<int>::max() / 4))
    throw InputError(std::string("translation: the ") + what + " image size is not usable");
  return static_cast<int>(n);
}

}  // namespace

struct TranslationEstimator::State {
  TranslationOptions options;
  std::size_t height = 0, width = 0;
  int rows = 0, cols = 0;  // padded FFT size
  std::vector<double> window_y, window_x;
  Prepared reference;
};

TranslationEstimator::TranslationEstimator(ImageView<const float> reference,
                                           const TranslationOptions& options) {
  options.validate();
  if (reference.height() == 0 || reference.width() == 0)
    throw InputError("translation: the reference image is empty");
  auto s = std::make_shared<State>();
  s->options = options;
  s->height = reference.height();
  s->width = reference.width();
  s->rows = cv::getOptimalDFTSize(to_int_size(s->height, "reference"));
  s->cols = cv::getOptimalDFTSize(to_int_size(s->width, "reference"));
  s->window_y = tukey_window(s->height, options.window_fraction);
  s->window_x = tukey_window(s->width, options.window_fraction);
  s->reference = prepare(reference, s->window_y, s->window_x, s->rows, s->cols, options.background);
  state_ = std::move(s);
}

const TranslationOptions& TranslationEstimator::options() const { return state_->options; }

TranslationEstimate TranslationEstimator::operator()(ImageView<const float> moving) const {
  const State& s = *state_;
  if (moving.height() != s.height || moving.width() != s.width)
    throw InputError("translation: the moving image is " + size_text(moving.height(), moving.width()) +
                     " but the reference is " + size_text(s.height, s.width));
  TranslationEstimate result;
  if (!s.reference.ok) return result;
  const Prepared mov = prepare(moving, s.window_y, s.window_x, s.rows, s.cols, s.options.background);
  if (!mov.ok) return result;
  const TranslationOptions& o = s.options;

  // Cross-power spectrum F_m conj(F_r): the surface peaks at +(dy, dx).
  cv::Mat plain;
  cv::mulSpectrums(mov.spectrum, s.reference.spectrum, plain, 0, /*conjB=*/true);
  const bool is_plain = o.weighting == CorrelationWeighting::plain;
  cv::Mat weighted;
  if (is_plain) {
    weighted = plain;
  } else if (o.weighting == CorrelationWeighting::gradient) {
    weighted = plain.clone();
    apply_gradient_weight(weighted);
  } else {
    weighted = weighted_spectrum(plain, o.weighting == CorrelationWeighting::phase ? 1.0 : o.partial_exponent);
  }
  if (o.lowpass_sigma_px > 0.0) {
    if (is_plain) weighted = plain.clone();
    apply_lowpass(weighted, o.lowpass_sigma_px);
  }
  cv::Mat surface;
  cv::idft(weighted, surface, cv::DFT_SCALE | cv::DFT_REAL_OUTPUT);

  // Coarse peak: largest value on the integer grid, within the bound if any.
  const int rows = s.rows, cols = s.cols;
  const bool bounded = o.max_shift_px > 0.0;
  const double bound2 = o.max_shift_px * o.max_shift_px;
  double best = -std::numeric_limits<double>::infinity();
  int pr = 0, pc = 0;
  for (int r = 0; r < rows; ++r) {
    const double* q = surface.ptr<double>(r);
    const double sy = signed_index(r, rows);
    for (int c = 0; c < cols; ++c) {
      if (bounded) {
        const double sx = signed_index(c, cols);
        if (sy * sy + sx * sx > bound2) continue;
      }
      if (q[c] > best) best = q[c], pr = r, pc = c;
    }
  }
  bool ok = std::isfinite(best);
  if (bounded) {
    // The in-bound maximum must be a local maximum of the whole surface.
    for (int dr = -1; dr <= 1; ++dr)
      for (int dc = -1; dc <= 1; ++dc) {
        const int r = (pr + dr + rows) % rows, c = (pc + dc + cols) % cols;
        if (surface.at<double>(r, c) > best) ok = false;
      }
  }
  // RMS of the surface farther than 2 px (circular Chebyshev distance) from the coarse peak.
  double sum2 = 0.0;
  std::size_t count = 0;
  for (int r = 0; r < rows; ++r) {
    const double* q = surface.ptr<double>(r);
    const int ar = std::abs(r - pr), dr = std::min(ar, rows - ar);
    for (int c = 0; c < cols; ++c) {
      const int ac = std::abs(c - pc), dc = std::min(ac, cols - ac);
      if (std::max(dr, dc) > 2) sum2 += q[c] * q[c], ++count;
    }
  }

  // Refinement: the surface on a ceil(1.5 upsample)^2 grid of step 1/upsample around the peak.
  const double y0 = signed_index(pr, rows), x0 = signed_index(pc, cols);
  double dy = y0, dx = x0, peak_value = best;
  if (o.upsample > 1) {
    const int n = static_cast<int>(std::ceil(1.5 * o.upsample)), centre = n / 2;
    // An axis of one pixel has nothing to refine (the surface does not depend on it).
    std::vector<double> ys(rows > 1 ? static_cast<std::size_t>(n) : 1, y0);
    std::vector<double> xs(cols > 1 ? static_cast<std::size_t>(n) : 1, x0);
    for (int i = 0; i < n; ++i) {
      const double offset = static_cast<double>(i - centre) / o.upsample;
      if (rows > 1) ys[static_cast<std::size_t>(i)] = y0 + offset;
      if (cols > 1) xs[static_cast<std::size_t>(i)] = x0 + offset;
    }
    const std::vector<double> fine = evaluate_surface(weighted, ys, xs);
    const std::size_t at =
        static_cast<std::size_t>(std::max_element(fine.begin(), fine.end()) - fine.begin());
    dy = ys[at / xs.size()];
    dx = xs[at % xs.size()];
    peak_value = fine[at];
  }
  if (bounded && dy * dy + dx * dx > bound2) ok = false;

  // Normalized (plain) cross-correlation at the refined shift.
  double correlation = peak_value;
  if (!is_plain || o.lowpass_sigma_px > 0.0) {
    const double py[1] = {dy}, px[1] = {dx};
    correlation = evaluate_surface(plain, py, px)[0];
  }
  const double ncc = std::clamp(correlation / std::sqrt(s.reference.energy * mov.energy), -1.0, 1.0);
  if (!(ncc > 0.0)) ok = false;

  result.dy_px = dy;
  result.dx_px = dx;
  result.peak = ncc;
  const double rms = count > 0 ? std::sqrt(sum2 / static_cast<double>(count)) : 0.0;
  result.sharpness = rms > 0.0 ? peak_value / rms : 0.0;
  result.ok = ok;
  return result;
}

TranslationEstimate estimate_translation(ImageView<const float> reference, ImageView<const float> moving,
                                         const TranslationOptions& options) {
  return TranslationEstimator(reference, options)(moving);
}

}  // namespace xanesmap
