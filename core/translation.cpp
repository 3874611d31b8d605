#include "core/translation.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <mutex>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/fft.hpp"

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
  if (coarse_binning < 1 || coarse_binning > 16)
    throw OptionError("coarse binning", "must be between 1 (full resolution) and 16");
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


// A half spectrum (core/fft.hpp): rows x (cols/2 + 1) complex values of a rows x cols real image.
struct HalfSpectrum {
  const std::complex<double>* data = nullptr;
  int rows = 0, cols = 0;
  int half() const { return fft::half_columns(cols); }
  const std::complex<double>* row(int r) const {
    return data + static_cast<std::size_t>(r) * static_cast<std::size_t>(half());
  }
};

// Spectrum buffers are recycled: a 2048 x 2048 frame's half spectrum is 34 MB, which the C
// library maps fresh (and the kernel faults in page by page) on every allocation otherwise.
// At most kPooled buffers wait for reuse.
class SpectrumPool {
 public:
  static constexpr std::size_t kPooled = 8;
  std::shared_ptr<std::complex<double>[]> get(std::size_t count) {
    fft::ComplexBuffer buffer;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->first == count) {
          buffer = std::move(it->second);
          free_.erase(it);
          break;
        }
    }
    if (!buffer) buffer = fft::complex_buffer(count);
    return {buffer.release(), [this, count](std::complex<double>* p) { put(count, fft::ComplexBuffer(p)); }};
  }

 private:
  void put(std::size_t count, fft::ComplexBuffer buffer) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < kPooled) free_.emplace_back(count, std::move(buffer));
  }
  std::mutex mutex_;
  std::vector<std::pair<std::size_t, fft::ComplexBuffer>> free_;
};

SpectrumPool& spectrum_pool() {
  static SpectrumPool pool;
  return pool;
}

struct Prepared {
  std::shared_ptr<std::complex<double>[]> spectrum;  // half spectrum, padded rows x (padded columns / 2 + 1)
  double energy = 0.0;          // sum of the squared pixels that entered the FFT
  bool ok = false;              // false: no finite pixel or no variation
};

// Scratch arrays of the calling thread, grown as needed and kept: large images would otherwise
// fault in fresh pages on every call.
double* scratch_real(std::size_t count) {
  thread_local fft::RealBuffer buffer;
  thread_local std::size_t capacity = 0;
  if (capacity < count) buffer = fft::real_buffer(count), capacity = count;
  return buffer.get();
}
std::complex<double>* scratch_complex(std::size_t count, int which) {
  thread_local fft::ComplexBuffer buffers[2];
  thread_local std::size_t capacity[2] = {0, 0};
  const auto i = static_cast<std::size_t>(which);
  if (capacity[i] < count) buffers[i] = fft::complex_buffer(count), capacity[i] = count;
  return buffers[i].get();
}

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
  if (model != BackgroundModel::plane && (!previous || (previous->by == 0.0 && previous->bx == 0.0))) {
    // A constant: only n and sum v. Four partial sums per row (the loop is otherwise bound by
    // the latency of one long chain of additions); the sum differs in rounding only.
    const double level = previous ? previous->a : 0.0;
    for (std::size_t r = 0; r < h; ++r) {
      const float* p = image.row(r);
      const double low = previous ? lo : -std::numeric_limits<double>::infinity();
      const double high = previous ? hi : std::numeric_limits<double>::infinity();
      // Branch-free selection (NaN and +-Inf fail a comparison), summed in 4 interleaved
      // lanes so that the loop vectorizes.
      double part[4] = {0, 0, 0, 0}, count[4] = {0, 0, 0, 0};
      std::size_t c = 0;
      for (; c + 4 <= w; c += 4) {
        for (std::size_t lane = 0; lane < 4; ++lane) {
          const double v = p[c + lane], residual = v - level;
          const bool take = (v - v == 0.0) & (residual >= low) & (residual <= high);
          part[lane] += take ? v : 0.0;
          count[lane] += take ? 1.0 : 0.0;
        }
      }
      for (; c < w; ++c) {
        const double v = p[c], residual = v - level;
        const bool take = (v - v == 0.0) & (residual >= low) & (residual <= high);
        part[c & 3] += take ? v : 0.0;
        count[c & 3] += take ? 1.0 : 0.0;
      }
      sv += (part[0] + part[1]) + (part[2] + part[3]);
      n += (count[0] + count[1]) + (count[2] + count[3]);
    }
    if (n == 0) return 0;
    out = Background{sv / n, 0.0, 0.0};
    return n;
  }
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
      n += 1, sv += v;
      if (model == BackgroundModel::plane)  // the other models use only n and sv
        sy += y, sx += x, syy += y * y, sxx += x * x, sxy += x * y, syv += y * v, sxv += x * v;
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
    // Every step-th finite pixel, counting from the first (a countdown: a division per pixel
    // cost more than the rest of the preparation on large frames).
    std::size_t until_next = 0;
    if (static_cast<std::size_t>(n_all) == h * w) {  // no NaN: the k-th finite pixel is pixel k
      for (std::size_t index = 0; index < h * w; index += step) {
        const std::size_t r = index / w, c = index % w;
        residuals.push_back(image(r, c) - (bg.a + bg.by * (static_cast<double>(r) - yc) +
                                           bg.bx * (static_cast<double>(c) - xc)));
      }
    } else {
      for (std::size_t r = 0; r < h; ++r) {
      const float* p = image.row(r);
      const double y = static_cast<double>(r) - yc;
      for (std::size_t c = 0; c < w; ++c) {
        if (!std::isfinite(p[c])) continue;
        if (until_next-- > 0) continue;
        until_next = step - 1;
        residuals.push_back(p[c] - (bg.a + bg.by * y + bg.bx * (static_cast<double>(c) - xc)));
      }
      }
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


// Background subtraction, window, zero padding, FFT (see the header). The padded image is
// scratch of the calling thread (kept between calls: no page faults per frame).
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
  const auto ucols = static_cast<std::size_t>(cols);
  double* padded = scratch_real(static_cast<std::size_t>(rows) * ucols);
  const bool unwindowed = std::all_of(window_y.begin(), window_y.end(), [](double v) { return v == 1.0; }) &&
                          std::all_of(window_x.begin(), window_x.end(), [](double v) { return v == 1.0; });
  const bool constant = by == 0.0 && bx == 0.0;
  if (unwindowed && constant) {
    // The fast path below writes every pixel of the image: zero only the padding.
    for (std::size_t r = 0; r < h; ++r) std::fill(padded + r * ucols + w, padded + (r + 1) * ucols, 0.0);
    std::fill(padded + h * ucols, padded + static_cast<std::size_t>(rows) * ucols, 0.0);
  } else {
    std::fill(padded, padded + static_cast<std::size_t>(rows) * ucols, 0.0);
  }
  double rss = 0.0, energy = 0.0;
  for (std::size_t r = 0; unwindowed && constant && r < h; ++r) {
    // The common case (a constant background, no window), with four partial sums per row so
    // that the loop is not bound by the latency of single chains of additions.
    const float* p = image.row(r);
    double* q = padded + r * ucols;
    double part_n[4] = {0, 0, 0, 0}, part_rss[4] = {0, 0, 0, 0}, part_max[4] = {0, 0, 0, 0};
    auto add = [&](std::size_t lane, std::size_t c) {
      const double v = p[c];
      const bool finite = std::abs(v) < std::numeric_limits<double>::infinity();
      const double residual = finite ? v - a : 0.0;  // a non-finite pixel stays 0 = the background
      part_max[lane] = std::max(part_max[lane], finite ? std::abs(v) : 0.0);
      part_n[lane] += finite ? 1.0 : 0.0;
      part_rss[lane] += residual * residual;
      q[c] = residual;
    };
    std::size_t c = 0;
    for (; c + 4 <= w; c += 4)
      for (std::size_t lane = 0; lane < 4; ++lane) add(lane, c + lane);
    for (; c < w; ++c) add(c & 3, c);
    n += (part_n[0] + part_n[1]) + (part_n[2] + part_n[3]);
    rss += (part_rss[0] + part_rss[1]) + (part_rss[2] + part_rss[3]);
    vmax = std::max({vmax, part_max[0], part_max[1], part_max[2], part_max[3]});
  }
  if (unwindowed && constant) energy = rss;  // the windowed values are the residuals
  for (std::size_t r = 0; !(unwindowed && constant) && r < h; ++r) {
    const float* p = image.row(r);
    double* q = padded + r * ucols;
    const double y = static_cast<double>(r) - yc;
    const double row_background = a + by * y;
    for (std::size_t c = 0; c < w; ++c) {
      const double v = p[c];
      if (!std::isfinite(v)) continue;  // stays 0 = the background
      vmax = std::max(vmax, std::abs(v));
      n += 1;
      const double residual = v - (row_background + bx * (static_cast<double>(c) - xc));
      rss += residual * residual;
      // Without a window (all weights 1) the products are skipped: the same values.
      const double windowed = unwindowed ? residual : residual * window_y[r] * window_x[c];
      energy += windowed * windowed;
      q[c] = windowed;
    }
  }
  // No variation: an RMS residual below 1e-6 of the largest magnitude is float rounding (a
  // float holds 6e-8 relative), e.g. a constant or a plane stored as floats.
  const double floor = 1e-6 * vmax;
  if (!(rss > floor * floor * n) || !(energy > 0.0)) return out;
  out.spectrum = spectrum_pool().get(static_cast<std::size_t>(rows) * static_cast<std::size_t>(fft::half_columns(cols)));
  fft::forward(rows, cols, padded, out.spectrum.get());
  out.energy = energy;
  out.ok = true;
  return out;
}

// Signed shift (or frequency) of index i on a circular axis of n points.
int signed_index(int i, int n) { return i < (n + 1) / 2 ? i : i - n; }

// Evaluates c(y, x) = Re (1/N) sum_k R(k) exp(2 pi i (ky y / rows + kx x / cols)) at every
// (ys[j], xs[l]) (row-major result, ys.size() x xs.size()), for a Hermitian R given by its half
// spectrum: the trigonometric interpolant of the surface, with signed frequencies and the
// Nyquist row/column split evenly between +-N/2 (a cosine). Matrix-multiply DFT of
// Guizar-Sicairos et al.: the columns kx in [0, cols/2] are used, the others being their
// complex conjugates (weight 2, except kx = 0 and the Nyquist column).
std::vector<double> evaluate_surface(const HalfSpectrum& R, std::span<const double> ys,
                                     std::span<const double> xs) {
  const int rows = R.rows, cols = R.cols, nh = R.half();
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
    const std::complex<double>* row = R.row(r);
    for (std::size_t k = 0; k < nhs; ++k) row_re[k] = row[k].real(), row_im[k] = row[k].imag();
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

// The plain cross-correlation c(y, x) of two prepared images at one point: the same sum as
// evaluate_surface over F_m conj(F_r), without storing the product.
double correlation_at(const HalfSpectrum& m, const HalfSpectrum& r, double y, double x) {
  const int rows = m.rows, cols = m.cols, nh = m.half();
  const bool nyquist_row = rows % 2 == 0, nyquist_col = cols % 2 == 0;
  std::vector<std::complex<double>> ex(static_cast<std::size_t>(nh));
  for (int k = 0; k < nh; ++k) {
    if (nyquist_col && k == cols / 2) {
      ex[static_cast<std::size_t>(k)] = std::cos(std::numbers::pi * x);
    } else {
      const double weight = k == 0 ? 1.0 : 2.0, f = two_pi * k / cols;
      ex[static_cast<std::size_t>(k)] = {weight * std::cos(f * x), weight * std::sin(f * x)};
    }
  }
  double total = 0.0;
  for (int row = 0; row < rows; ++row) {
    const std::complex<double>* a = m.row(row);
    const std::complex<double>* b = r.row(row);
    double sr = 0.0, si = 0.0;
    for (int k = 0; k < nh; ++k) {
      // (a conj(b)) ex, written out (std::complex's operator* checks for NaN and infinities).
      const double pr = a[k].real() * b[k].real() + a[k].imag() * b[k].imag();
      const double pi = a[k].imag() * b[k].real() - a[k].real() * b[k].imag();
      const std::complex<double> e = ex[static_cast<std::size_t>(k)];
      sr += pr * e.real() - pi * e.imag();
      si += pr * e.imag() + pi * e.real();
    }
    const double ey_re = (nyquist_row && row == rows / 2) ? std::cos(std::numbers::pi * y)
                                                         : std::cos(two_pi * signed_index(row, rows) / rows * y);
    const double ey_im = (nyquist_row && row == rows / 2) ? 0.0 : std::sin(two_pi * signed_index(row, rows) / rows * y);
    total += ey_re * sr - ey_im * si;
  }
  return total / (static_cast<double>(rows) * cols);
}

// The weighted cross-power spectrum (see the header) into `out` (rows x half columns):
// F_m conj(F_r), whitened (phase, partial) or times |2 pi f|^2 (gradient), then low-passed.
// Per term the same operations, in the same order, as the full-spectrum code had.
void cross_power(const HalfSpectrum& m, const HalfSpectrum& r, const TranslationOptions& o, std::complex<double>* out) {
  const int rows = m.rows, cols = m.cols, nh = m.half();
  const auto nhs = static_cast<std::size_t>(nh);
  const bool whiten = o.weighting == CorrelationWeighting::phase || o.weighting == CorrelationWeighting::partial;
  const double p = o.weighting == CorrelationWeighting::phase ? 1.0 : o.partial_exponent;
  double max2 = 0.0;
  for (int row = 0; row < rows; ++row) {
    const std::complex<double>* a = m.row(row);
    const std::complex<double>* b = r.row(row);
    std::complex<double>* q = out + static_cast<std::size_t>(row) * nhs;
    for (std::size_t k = 0; k < nhs; ++k) {
      // (a.re + i a.im)(b.re - i b.im), as cv::mulSpectrums computes it.
      const double re = a[k].real() * b[k].real() + a[k].imag() * b[k].imag();
      const double im = a[k].imag() * b[k].real() - a[k].real() * b[k].imag();
      q[k] = {re, im};
      if (whiten) max2 = std::max(max2, re * re + im * im);
    }
  }
  const double k_low = -4.0 * std::numbers::pi * std::numbers::pi * o.lowpass_sigma_px * o.lowpass_sigma_px;
  const double k_grad = 4.0 * std::numbers::pi * std::numbers::pi;
  std::vector<double> gx(nhs), fx2(nhs);
  for (std::size_t c = 0; c < nhs; ++c) {
    const double f = static_cast<double>(signed_index(static_cast<int>(c), cols)) / cols;
    gx[c] = std::exp(k_low * f * f);
    fx2[c] = f * f;
  }
  const double floor2 = 1e-26 * max2;
  for (int row = 0; row < rows; ++row) {
    const double fy = static_cast<double>(signed_index(row, rows)) / rows, gy = std::exp(k_low * fy * fy);
    std::complex<double>* q = out + static_cast<std::size_t>(row) * nhs;
    for (std::size_t c = 0; c < nhs; ++c) {
      double re = q[c].real(), im = q[c].imag();
      if (whiten) {
        const double m2 = re * re + im * im;
        const double s = (m2 > floor2 && m2 > 0.0) ? std::pow(m2, -0.5 * p) : 0.0;
        re *= s, im *= s;
      } else if (o.weighting == CorrelationWeighting::gradient) {
        const double g = k_grad * (fy * fy + fx2[c]);
        re *= g, im *= g;
      }
      if (o.lowpass_sigma_px > 0.0) {
        const double g = gy * gx[c];
        re *= g, im *= g;
      }
      q[c] = {re, im};
    }
  }
}

int to_int_size(std::size_t n, const char* what) {
  if (n == 0 || n > static_cast<std::size_t>(std::numeric_limits<int>::max() / 4))
    throw InputError(std::string("translation: the ") + what + " image size is not usable");
  return static_cast<int>(n);
}

// The refinement grid around an integer peak (y0, x0): point j along an axis sits at
// y0 + j / upsample. Written once so that every search evaluates the same coordinates.
double grid_coordinate(double origin, int j, int upsample) { return origin + static_cast<double>(j) / upsample; }

// Newton steps towards the continuous maximum of c(s) = Re (1/N) sum_k R(k) exp(2 pi i k.s / N)
// from (y, x): the gradient and Hessian are sums over the half spectrum, like the surface itself
// (the Nyquist terms are taken as plain frequencies here: only the starting point of the exact
// grid search depends on them). Each step is at most 0.5 px per axis; stops after `iterations`,
// when a step is below `tolerance` px (a quarter of the grid step is enough: the climb then
// starts next to the grid maximum), or returns false when the Hessian is not negative definite.
bool newton_peak(const HalfSpectrum& R, double& y, double& x, int iterations, double tolerance) {
  const int rows = R.rows, cols = R.cols, nh = R.half();
  const auto nhs = static_cast<std::size_t>(nh);
  std::vector<double> ex_re(nhs), ex_im(nhs), kx(nhs);
  for (int it = 0; it < iterations; ++it) {
    for (int k = 0; k < nh; ++k) {
      const double weight = (k == 0 || (cols % 2 == 0 && k == cols / 2)) ? 1.0 : 2.0;
      const double f = two_pi * k / cols;
      ex_re[static_cast<std::size_t>(k)] = weight * std::cos(f * x);
      ex_im[static_cast<std::size_t>(k)] = weight * std::sin(f * x);
      kx[static_cast<std::size_t>(k)] = f;
    }
    double gy = 0, gx = 0, hyy = 0, hxx = 0, hxy = 0;
    for (int r = 0; r < rows; ++r) {
      const double wy = two_pi * signed_index(r, rows) / rows;
      const std::complex<double>* q = R.row(r);
      // A_p = sum_kx R(r, kx) Ex(kx) wx^p, p = 0, 1, 2.
      // Two interleaved sets of sums: twice the independent additions in flight (only the
      // starting point of the exact grid search depends on their rounding).
      double acc[2][6] = {{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}};
      for (std::size_t k = 0; k < nhs; ++k) {
        double* a = acc[k & 1];
        const double qr = q[k].real(), qi = q[k].imag();
        const double tr = qr * ex_re[k] - qi * ex_im[k];
        const double ti = qr * ex_im[k] + qi * ex_re[k];
        const double w = kx[k];
        a[0] += tr, a[1] += ti;
        a[2] += w * tr, a[3] += w * ti;
        a[4] += w * w * tr, a[5] += w * w * ti;
      }
      const double a0r = acc[0][0] + acc[1][0], a0i = acc[0][1] + acc[1][1];
      const double a1r = acc[0][2] + acc[1][2], a1i = acc[0][3] + acc[1][3];
      const double a2r = acc[0][4] + acc[1][4], a2i = acc[0][5] + acc[1][5];
      const double ey_re = std::cos(wy * y), ey_im = std::sin(wy * y);
      // c = Re(Ey A0); each derivative d/dy brings a factor i wy, d/dx a factor i wx.
      const double b0r = ey_re * a0r - ey_im * a0i, b0i = ey_re * a0i + ey_im * a0r;
      const double b1r = ey_re * a1r - ey_im * a1i, b1i = ey_re * a1i + ey_im * a1r;
      const double b2r = ey_re * a2r - ey_im * a2i;
      gy += -wy * b0i;
      gx += -b1i;
      hyy += -wy * wy * b0r;
      hxx += -b2r;
      hxy += -wy * b1r;
    }
    const double det = hyy * hxx - hxy * hxy;
    if (!(hyy < 0.0 && det > 0.0)) return false;
    const double sy = -(hxx * gy - hxy * gx) / det, sx = -(hyy * gx - hxy * gy) / det;
    y += std::clamp(sy, -0.5, 0.5);
    x += std::clamp(sx, -0.5, 0.5);
    if (std::abs(sy) < tolerance && std::abs(sx) < tolerance) break;
  }
  return std::isfinite(y) && std::isfinite(x);
}

struct GridPeak {
  double dy = 0.0, dx = 0.0, value = 0.0;
};

// The maximum of c on the grid y0 + jy / up, x0 + jx / up with j in [lo, hi] per axis: the whole
// grid (exhaustive), or a hill climb from (jy, jx) through 3 x 3 neighbourhoods (see the header).
GridPeak grid_peak(const HalfSpectrum& R, double y0, double x0, int up, int lo, int hi, bool exhaustive,
                   int start_jy, int start_jx) {
  if (exhaustive) {
    const auto n = static_cast<std::size_t>(hi - lo + 1);
    std::vector<double> ys(n), xs(n);
    for (int j = lo; j <= hi; ++j) {
      ys[static_cast<std::size_t>(j - lo)] = grid_coordinate(y0, j, up);
      xs[static_cast<std::size_t>(j - lo)] = grid_coordinate(x0, j, up);
    }
    const std::vector<double> fine = evaluate_surface(R, ys, xs);
    const auto at = static_cast<std::size_t>(std::max_element(fine.begin(), fine.end()) - fine.begin());
    return {ys[at / n], xs[at % n], fine[at]};
  }
  int jy = std::clamp(start_jy, lo, hi), jx = std::clamp(start_jx, lo, hi);
  // Each move goes to a strictly larger value, so the climb ends; the bound is a safeguard.
  for (int step = 0; step < 4 * (hi - lo + 1); ++step) {
    std::vector<double> ys, xs;
    std::vector<int> jys, jxs;
    for (int d = -1; d <= 1; ++d) {
      if (jy + d >= lo && jy + d <= hi) ys.push_back(grid_coordinate(y0, jy + d, up)), jys.push_back(jy + d);
      if (jx + d >= lo && jx + d <= hi) xs.push_back(grid_coordinate(x0, jx + d, up)), jxs.push_back(jx + d);
    }
    const std::vector<double> v = evaluate_surface(R, ys, xs);
    // The first largest in row-major order, as the exhaustive search takes it.
    const auto at = static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
    const int by = jys[at / xs.size()], bx = jxs[at % xs.size()];
    if (by == jy && bx == jx) return {ys[at / xs.size()], xs[at % xs.size()], v[at]};
    jy = by, jx = bx;
  }
  return grid_peak(R, y0, x0, up, lo, hi, true, 0, 0);  // no maximum reached: search it all
}

// The lowest crop_rows x crop_cols frequencies of a half spectrum, as a half spectrum of that
// size (signed row frequencies kept in place).
void crop_spectrum(const HalfSpectrum& R, int crop_rows, int crop_cols, std::complex<double>* out) {
  const int nh = fft::half_columns(crop_cols);
  for (int r = 0; r < crop_rows; ++r) {
    const int ky = signed_index(r, crop_rows);
    const std::complex<double>* src = R.row(ky < 0 ? ky + R.rows : ky);
    std::copy(src, src + nh, out + static_cast<std::size_t>(r) * static_cast<std::size_t>(nh));
  }
}

struct CoarsePeak {
  int pr = 0, pc = 0;  // on the surface's grid
  double best = 0.0;
  bool ok = false;
  double rms = 0.0;    // away from the peak (sharpness)
};

// Largest value within the bound (in surface cells), the local-maximum check, and the RMS
// farther than 2 cells (circular Chebyshev distance) from the peak (see the header).
CoarsePeak coarse_peak(const double* surface, int rows, int cols, bool bounded, double bound_cells) {
  const double bound2 = bound_cells * bound_cells;
  auto at = [&](int r, int c) { return surface[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(c)]; };
  CoarsePeak p;
  double best = -std::numeric_limits<double>::infinity();
  for (int r = 0; r < rows; ++r) {
    const double sy = signed_index(r, rows);
    for (int c = 0; c < cols; ++c) {
      if (bounded) {
        const double sx = signed_index(c, cols);
        if (sy * sy + sx * sx > bound2) continue;
      }
      if (at(r, c) > best) best = at(r, c), p.pr = r, p.pc = c;
    }
  }
  p.ok = std::isfinite(best);
  if (bounded) {
    // The in-bound maximum must be a local maximum of the whole surface.
    for (int dr = -1; dr <= 1; ++dr)
      for (int dc = -1; dc <= 1; ++dc)
        if (at((p.pr + dr + rows) % rows, (p.pc + dc + cols) % cols) > best) p.ok = false;
  }
  double sum2 = 0.0;
  std::size_t count = 0;
  for (int r = 0; r < rows; ++r) {
    const int ar = std::abs(r - p.pr), dr = std::min(ar, rows - ar);
    for (int c = 0; c < cols; ++c) {
      const int ac = std::abs(c - p.pc), dc = std::min(ac, cols - ac);
      if (std::max(dr, dc) > 2) sum2 += at(r, c) * at(r, c), ++count;
    }
  }
  p.best = best;
  p.rms = count > 0 ? std::sqrt(sum2 / static_cast<double>(count)) : 0.0;
  return p;
}

// The real surface of a half spectrum (rows x cols), scaled by 1/(rows cols), into `out`.
void surface_of(const std::complex<double>* spectrum, int rows, int cols, double* out) {
  const std::size_t half = static_cast<std::size_t>(rows) * static_cast<std::size_t>(fft::half_columns(cols));
  std::complex<double>* copy = scratch_complex(half, 1);  // the inverse overwrites its input
  std::copy(spectrum, spectrum + half, copy);
  fft::inverse(rows, cols, copy, out);
  const double scale = 1.0 / (static_cast<double>(rows) * cols);
  const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  for (std::size_t i = 0; i < n; ++i) out[i] *= scale;
}

}  // namespace

struct PreparedImage::State {
  TranslationOptions options;
  std::size_t height = 0, width = 0;
  int rows = 0, cols = 0;  // padded FFT size
  Prepared image;
  HalfSpectrum spectrum() const { return {image.spectrum.get(), rows, cols}; }
};

PreparedImage::PreparedImage(ImageView<const float> image, const TranslationOptions& options) {
  options.validate();
  if (image.height() == 0 || image.width() == 0) throw InputError("translation: the image is empty");
  auto s = std::make_shared<State>();
  s->options = options;
  s->height = image.height();
  s->width = image.width();
  s->rows = cv::getOptimalDFTSize(to_int_size(s->height, "reference"));
  s->cols = cv::getOptimalDFTSize(to_int_size(s->width, "reference"));
  s->image = prepare(image, tukey_window(s->height, options.window_fraction),
                     tukey_window(s->width, options.window_fraction), s->rows, s->cols, options.background);
  state_ = std::move(s);
}

std::size_t PreparedImage::height() const { return state_->height; }
std::size_t PreparedImage::width() const { return state_->width; }
const TranslationOptions& PreparedImage::options() const { return state_->options; }

TranslationEstimator::TranslationEstimator(ImageView<const float> reference, const TranslationOptions& options)
    : reference_(reference, options) {}

const TranslationOptions& TranslationEstimator::options() const { return reference_.options(); }

TranslationEstimate TranslationEstimator::operator()(ImageView<const float> moving) const {
  if (moving.height() != reference_.height() || moving.width() != reference_.width())
    throw InputError("translation: the moving image is " + size_text(moving.height(), moving.width()) +
                     " but the reference is " + size_text(reference_.height(), reference_.width()));
  return estimate_translation(reference_, PreparedImage(moving, options()));
}

TranslationEstimate estimate_translation(const PreparedImage& reference_image, const PreparedImage& moving_image) {
  const PreparedImage::State& s = *reference_image.state_;
  if (moving_image.height() != s.height || moving_image.width() != s.width)
    throw InputError("translation: the moving image is " + size_text(moving_image.height(), moving_image.width()) +
                     " but the reference is " + size_text(s.height, s.width));
  TranslationEstimate result;
  if (!s.image.ok || !moving_image.state_->image.ok) return result;
  const TranslationOptions& o = s.options;
  const HalfSpectrum ref = s.spectrum(), mov = moving_image.state_->spectrum();
  const int rows = s.rows, cols = s.cols;

  // Weighted cross-power spectrum from F_m conj(F_r): the surface peaks at +(dy, dx).
  std::complex<double>* weighted_data =
      scratch_complex(static_cast<std::size_t>(rows) * static_cast<std::size_t>(fft::half_columns(cols)), 0);
  cross_power(mov, ref, o, weighted_data);
  const HalfSpectrum weighted{weighted_data, rows, cols};
  const bool is_plain = o.weighting == CorrelationWeighting::plain;

  const bool bounded = o.max_shift_px > 0.0;
  const double bound2 = o.max_shift_px * o.max_shift_px;
  // A coarse grid needs a few cells per axis; tiny images keep full resolution.
  const int b = std::max(1, std::min({o.coarse_binning, rows / 16, cols / 16}));
  const bool one_axis = rows <= 1 || cols <= 1;
  const bool exhaustive = o.exhaustive_refinement || one_axis;

  double dy = 0.0, dx = 0.0, peak_value = 0.0, rms = 0.0;
  bool ok = true;
  if (b == 1) {
    double* surface = scratch_real(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
    surface_of(weighted_data, rows, cols, surface);
    const CoarsePeak p = coarse_peak(surface, rows, cols, bounded, o.max_shift_px);
    ok = p.ok;
    rms = p.rms;
    // Refinement: the surface on a ceil(1.5 upsample)^2 grid of step 1/upsample around the peak.
    const double y0 = signed_index(p.pr, rows), x0 = signed_index(p.pc, cols);
    dy = y0, dx = x0, peak_value = p.best;
    const int n = static_cast<int>(std::ceil(1.5 * o.upsample)), centre = n / 2;
    if (o.upsample > 1 && one_axis) {
      // An axis of one pixel has nothing to refine (the surface does not depend on it).
      std::vector<double> ys(rows > 1 ? static_cast<std::size_t>(n) : 1, y0);
      std::vector<double> xs(cols > 1 ? static_cast<std::size_t>(n) : 1, x0);
      for (int i = 0; i < n; ++i) {
        if (rows > 1) ys[static_cast<std::size_t>(i)] = grid_coordinate(y0, i - centre, o.upsample);
        if (cols > 1) xs[static_cast<std::size_t>(i)] = grid_coordinate(x0, i - centre, o.upsample);
      }
      const std::vector<double> fine = evaluate_surface(weighted, ys, xs);
      const auto at = static_cast<std::size_t>(std::max_element(fine.begin(), fine.end()) - fine.begin());
      dy = ys[at / xs.size()];
      dx = xs[at % xs.size()];
      peak_value = fine[at];
    } else if (o.upsample > 1) {
      double ny = y0, nx = x0;
      int jy = 0, jx = 0;
      if (!exhaustive && newton_peak(weighted, ny, nx, 6, 0.25 / o.upsample)) {
        jy = static_cast<int>(std::lround((ny - y0) * o.upsample));
        jx = static_cast<int>(std::lround((nx - x0) * o.upsample));
      }
      const GridPeak g = grid_peak(weighted, y0, x0, o.upsample, -centre, n - 1 - centre, exhaustive, jy, jx);
      dy = g.dy, dx = g.dx, peak_value = g.value;
    }
  } else {
    // Coarse: the surface at b-px spacing from the lowest frequencies.
    const int crop_rows = rows / b, crop_cols = cols / b;
    const double spacing_y = static_cast<double>(rows) / crop_rows, spacing_x = static_cast<double>(cols) / crop_cols;
    std::vector<std::complex<double>> cropped(static_cast<std::size_t>(crop_rows) *
                                              static_cast<std::size_t>(fft::half_columns(crop_cols)));
    crop_spectrum(weighted, crop_rows, crop_cols, cropped.data());
    const HalfSpectrum coarse{cropped.data(), crop_rows, crop_cols};
    std::vector<double> surface(static_cast<std::size_t>(crop_rows) * static_cast<std::size_t>(crop_cols));
    {
      fft::ComplexBuffer copy = fft::complex_buffer(cropped.size());
      fft::RealBuffer out = fft::real_buffer(surface.size());
      std::copy(cropped.begin(), cropped.end(), copy.get());
      fft::inverse(crop_rows, crop_cols, copy.get(), out.get());
      const double scale = 1.0 / (static_cast<double>(crop_rows) * crop_cols);
      for (std::size_t i = 0; i < surface.size(); ++i) surface[i] = out[i] * scale;
    }
    const CoarsePeak p = coarse_peak(surface.data(), crop_rows, crop_cols, bounded,
                                     o.max_shift_px / std::max(spacing_y, spacing_x));
    ok = p.ok;
    rms = p.rms;
    // Refined on the coarse surface to 1/20 of a cell over +-1 cell, then at full resolution.
    const double cy0 = signed_index(p.pr, crop_rows), cx0 = signed_index(p.pc, crop_cols);
    std::vector<double> ys, xs;
    for (int j = -20; j <= 20; ++j) ys.push_back(cy0 + j / 20.0), xs.push_back(cx0 + j / 20.0);
    const std::vector<double> fine = evaluate_surface(coarse, ys, xs);
    const auto at = static_cast<std::size_t>(std::max_element(fine.begin(), fine.end()) - fine.begin());
    peak_value = fine[at];
    double ny = ys[at / xs.size()] * spacing_y, nx = xs[at % xs.size()] * spacing_x;
    {  // at full resolution, on the 1/upsample grid (the integer grid for upsample 1)
      const double y0 = std::round(ny), x0 = std::round(nx);
      const bool converged = !exhaustive && newton_peak(weighted, ny, nx, 6, 0.25 / o.upsample);
      // Exhaustive, or Newton failed: the 1.5 px window around the nearest integer shift.
      const int n = static_cast<int>(std::ceil(1.5 * o.upsample)), centre = n / 2;
      const int reach = converged ? 3 * o.upsample : centre;
      const int jy = converged ? static_cast<int>(std::lround((ny - y0) * o.upsample)) : 0;
      const int jx = converged ? static_cast<int>(std::lround((nx - x0) * o.upsample)) : 0;
      const GridPeak g = grid_peak(weighted, y0, x0, o.upsample, -reach, converged ? reach : n - 1 - centre,
                                   !converged, jy, jx);
      dy = g.dy, dx = g.dx;
    }
  }
  if (bounded && dy * dy + dx * dx > bound2) ok = false;

  // Normalized (plain) cross-correlation at the refined shift.
  double correlation = peak_value;
  if (!is_plain || o.lowpass_sigma_px > 0.0 || b > 1) correlation = correlation_at(mov, ref, dy, dx);
  const double ncc = std::clamp(correlation / std::sqrt(s.image.energy * moving_image.state_->image.energy), -1.0, 1.0);
  if (!(ncc > 0.0)) ok = false;

  result.dy_px = dy;
  result.dx_px = dx;
  result.peak = ncc;
  result.sharpness = rms > 0.0 ? peak_value / rms : 0.0;
  result.ok = ok;
  return result;
}

TranslationEstimate estimate_translation(ImageView<const float> reference, ImageView<const float> moving,
                                         const TranslationOptions& options) {
  return TranslationEstimator(reference, options)(moving);
}

}  // namespace xanesmap
