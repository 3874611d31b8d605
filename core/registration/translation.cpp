#include "core/registration/translation.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <mutex>
#include <numbers>
#include <opencv2/core.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/error.hpp"
#include "core/kernels/background_sums.hpp"
#include "core/registration/detail/correlation_surface.hpp"
#include "core/registration/detail/fft.hpp"

namespace xanesmap {

void TranslationOptions::validate() const {
  if (upsample < 1 || upsample > 1000)
    throw OptionError("upsample", "must be between 1 and 1000, not " + std::to_string(upsample));
  if (!(std::isfinite(max_shift_px) && max_shift_px >= 0.0))
    throw OptionError("max-shift", "must be a finite distance >= 0 px (0 = unbounded)");
  if (weighting != CorrelationWeighting::plain && weighting != CorrelationWeighting::phase &&
      weighting != CorrelationWeighting::partial && weighting != CorrelationWeighting::gradient)
    throw OptionError("weighting", "must be plain, phase, partial or gradient");
  if (!(partial_exponent >= 0.0 && partial_exponent <= 1.0))
    throw OptionError("partial-exponent", "must be between 0 (plain) and 1 (phase)");
  if (!(window_fraction >= 0.0 && window_fraction <= 0.5))
    throw OptionError("window-fraction", "must be between 0 (no window) and 0.5");
  if (!(std::isfinite(lowpass_sigma_px) && lowpass_sigma_px >= 0.0))
    throw OptionError("lowpass-sigma", "must be a finite width >= 0 px (0 = none)");
  if (coarse_binning < 1 || coarse_binning > 16)
    throw OptionError("coarse-binning", "must be between 1 (full resolution) and 16");
  if (background != BackgroundModel::plane && background != BackgroundModel::mean &&
      background != BackgroundModel::constant)
    throw OptionError("background", "must be plane, mean or constant");
}

namespace {

using namespace correlation;

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

// Spectrum buffers are recycled: a 2048 x 2048 frame's half spectrum is 17 MB, which the C
// library maps fresh (and the kernel faults in page by page) on every allocation otherwise.
// At most kPooled buffers wait for reuse.
class SpectrumPool {
 public:
  static constexpr std::size_t kPooled = 8;
  std::shared_ptr<std::complex<float>[]> get(std::size_t count) {
    fft::ComplexFloatBuffer buffer;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->first == count) {
          buffer = std::move(it->second);
          free_.erase(it);
          break;
        }
    }
    if (!buffer) buffer = fft::complex_float_buffer(count);
    return {buffer.release(),
            [this, count](std::complex<float>* p) { put(count, fft::ComplexFloatBuffer(p)); }};
  }

  private : void put(std::size_t count, fft::ComplexFloatBuffer buffer) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < kPooled) free_.emplace_back(count, std::move(buffer));
  }
  std::mutex mutex_;
  std::vector<std::pair<std::size_t, fft::ComplexFloatBuffer>> free_;
};

SpectrumPool& spectrum_pool() {
  static SpectrumPool pool;
  return pool;
}

struct Prepared {
  std::shared_ptr<std::complex<float>[]>
      spectrum;         // half spectrum, padded rows x (padded columns / 2 + 1)
  double energy = 0.0;  // sum of the squared pixels that entered the FFT
  bool ok = false;      // false: no finite pixel or no variation
};

// Scratch arrays of the calling thread, grown as needed and kept: large images would otherwise
// fault in fresh pages on every call.
double* scratch_real(std::size_t count) {
  thread_local fft::RealBuffer buffer;
  thread_local std::size_t capacity = 0;
  if (capacity < count) buffer = fft::real_buffer(count), capacity = count;
  return buffer.get();
}
float* scratch_float(std::size_t count) {
  thread_local fft::FloatBuffer buffer;
  thread_local std::size_t capacity = 0;
  if (capacity < count) buffer = fft::float_buffer(count), capacity = count;
  return buffer.get();
}
std::complex<double>* scratch_complex(std::size_t count) {
  thread_local fft::ComplexBuffer buffer;
  thread_local std::size_t capacity = 0;
  if (capacity < count) buffer = fft::complex_buffer(count), capacity = count;
  return buffer.get();
}
// 0: the weighted cross-power spectrum, 1: its half-frequency crop.
std::complex<float>* scratch_complex_float(std::size_t count, int which) {
  thread_local fft::ComplexFloatBuffer buffers[2];
  thread_local std::size_t capacity[2] = {0, 0};
  const auto i = static_cast<std::size_t>(which);
  if (capacity[i] < count) buffers[i] = fft::complex_float_buffer(count), capacity[i] = count;
  return buffers[i].get();
}

// Background a + by (y - yc) + bx (x - xc).
struct Background {
  double a = 0.0, by = 0.0, bx = 0.0;
};

// Least-squares background over the finite pixels whose residual from `previous` lies within
// [lo, hi] (all finite pixels when `previous` is null). Returns the number of pixels used (0: no
// fit; fewer than 3 or a degenerate layout: the mean of those pixels).
double fit_background(ImageView<const float> image, BackgroundModel model,
                      const Background* previous, double lo, double hi, Background& out) {
  const std::size_t h = image.height(), w = image.width();
  const double yc = 0.5 * (static_cast<double>(h) - 1.0), xc = 0.5 * (static_cast<double>(w) - 1.0);
  // Coordinates centred for conditioning.
  double n = 0, sy = 0, sx = 0, syy = 0, sxx = 0, sxy = 0, sv = 0, syv = 0, sxv = 0;
  if (model != BackgroundModel::plane &&
      (!previous || (previous->by == 0.0 && previous->bx == 0.0))) {
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
    const double c00 = m11 * m22 - m12 * m12, c01 = m02 * m12 - m01 * m22,
                 c02 = m01 * m12 - m02 * m11;
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
Background robust_background(ImageView<const float> image, BackgroundModel model,
                             bool& any_finite) {
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
    const double used =
        fit_background(image, model, &bg, median - half_width, median + half_width, refit);
    if (used < 0.5 * n_all) break;  // not a majority background: keep the previous fit
    bg = refit;
  }
  return bg;
}

// The robust constant background without a window, in one pass over the image (the fast path
// of `prepare`, used by core/registration/registration). The median and MAD of the residuals from
// any constant a are those of the pixel values shifted by a, so robust_background's band (3
// x 1.4826 MAD around the median residual) is [median - hw, median + hw] in pixel values from its
// first iteration on, and its refits select the same pixels: the result is the mean of the finite
// pixels in that band (the mean of all finite pixels when the band holds fewer than half of them),
// as robust_background gives it up to rounding at the band's edges. Without padding, the same pass
// transforms the image minus the sample median, block of rows by block of rows while each is in
// cache (fft::forward_rows: the image is never copied whole); without non-finite pixels either, the
// small difference d between the median and the robust constant is then taken off the
// zero-frequency term alone (the transform is linear, and subtracting a constant changes only that
// term); with up to 4 x rows non-finite pixels, the same correction and their impulses are applied
// to the row spectra before the columns are transformed (see below). Otherwise (padding, or more
// non-finite pixels) the residuals from the robust constant are transformed in a second pass
// (non-finite pixels and the padding at 0). Returns false when the frame needs the general path (no
// finite pixel sampled).
bool prepare_constant(ImageView<const float> image, int rows, int cols, Prepared& out) {
  const std::size_t h = image.height(), w = image.width(), n_pixels = h * w;
  const std::size_t step = std::max<std::size_t>(1, n_pixels / 65536);
  std::vector<double> sample;
  sample.reserve(n_pixels / step + 1);
  kernels::sample_finite_pixels(image, step, sample);
  if (sample.empty()) return false;
  const auto middle = sample.begin() + static_cast<std::ptrdiff_t>(sample.size() / 2);
  std::nth_element(sample.begin(), middle, sample.end());
  const double median = *middle;
  for (double& v : sample) v = std::abs(v - median);
  std::nth_element(sample.begin(), middle, sample.end());
  const double half_width = 3.0 * 1.4826 * *middle;
  const double lo = median - half_width, hi = median + half_width;

  const auto ucols = static_cast<std::size_t>(cols);
  double n_all = 0, s_all = 0, s2_all = 0, n_band = 0, s_band = 0, vmax = 0;
  // The non-finite pixels the fused pass meets (row, column), while few enough to be corrected
  // in the row spectra: each costs one pass over a half row, 4 x rows of them about as much as a
  // few passes over the spectrum, far less than a second transform.
  const std::size_t max_corrected = 4 * static_cast<std::size_t>(rows);
  std::vector<std::pair<int, int>> not_finite;
  bool too_many = false;
  auto add_row = [&](std::size_t r, float* q) {
    const kernels::BackgroundRowSums t =
        kernels::background_row_sums(image.row(r), w, median, lo, hi, q);
    n_all += t.n, s_all += t.s, s2_all += t.s2, n_band += t.n_band, s_band += t.s_band;
    vmax = std::max(vmax, t.max_abs);
    if (t.n < static_cast<double>(w) && !too_many) {
      const float* p = image.row(r);
      for (std::size_t c = 0; c < w && !too_many; ++c) {
        if (std::isfinite(p[c])) continue;
        if (not_finite.size() == max_corrected)
          too_many = true;
        else
          not_finite.emplace_back(static_cast<int>(r), static_cast<int>(c));
      }
    }
  };
  // The robust constant relative to the median, once the sums are complete.
  auto robust_offset = [&] {
    return n_band > 0 && n_band >= 0.5 * n_all ? s_band / n_band : s_all / n_all;
  };
  const bool unpadded = static_cast<std::size_t>(rows) == h && ucols == w;
  std::shared_ptr<std::complex<float>[]> spectrum = spectrum_pool().get(
      static_cast<std::size_t>(rows) * static_cast<std::size_t>(fft::half_columns(cols)));
  bool corrected = false;
  if (unpadded) {
    // The sums and the transform of x = v - median in one pass: each block of rows is
    // transformed while it is in cache (fft::forward_rows). The FFT input wanted is v - a for
    // the finite pixels and 0 for the others: x - d everywhere, plus d at the non-finite
    // pixels (where x is 0). Without any, d is taken off the zero frequency after the
    // transform (below); with a few, between the row and the column transforms: d cols off each
    // row's zero frequency, d's impulse at each non-finite pixel added (fft::add_row_impulses).
    fft::forward_rows(
        rows, cols,
        [&](int row0, int count, float* block) {
          for (int k = 0; k < count; ++k)
            add_row(static_cast<std::size_t>(row0 + k),
                    block + static_cast<std::size_t>(k) * ucols);
        },
        spectrum.get(),
        [&](std::complex<float>* row_spectra) {
          if (n_all == 0 || n_all == static_cast<double>(n_pixels) || too_many) return;
          const double d = robust_offset();
          const auto half = static_cast<std::size_t>(fft::half_columns(cols));
          for (std::size_t r = 0; r < h; ++r) {
            std::complex<float>& dc = row_spectra[r * half];
            dc = std::complex<float>(
                static_cast<float>(static_cast<double>(dc.real()) - d * static_cast<double>(cols)),
                dc.imag());
          }
          fft::add_row_impulses(rows, cols, row_spectra, not_finite, d);
          corrected = true;
        });
  } else {
    float* row_scratch = scratch_float(w);  // the sums only: x is written again below
    for (std::size_t r = 0; r < h; ++r) add_row(r, row_scratch);
  }
  if (n_all == 0) return true;  // out.ok stays false: no finite pixel
  const double d = robust_offset();
  const bool whole = n_all == static_cast<double>(n_pixels) && unpadded;
  double rss = 0.0;
  if (whole || corrected) {
    rss = s2_all - 2.0 * d * s_all +
          n_all * d * d;  // sum of (x - d)^2 = sum of (v - a)^2 (finite pixels)
  } else {
    // Padding, or more non-finite pixels than are corrected above: they become the background
    // (0 after the subtraction), and the residuals v - a are transformed (the transform above,
    // if any, is not used).
    constexpr std::size_t L = 8;
    const double a = median + d;
    auto residual_row = [&](std::size_t r, float* q) {
      if (r >= h) {
        std::fill(q, q + ucols, 0.0f);
        return;
      }
      const float* p = image.row(r);
      double part[L] = {};
      auto sub = [&](std::size_t lane, std::size_t col) {
        const double v = p[col];
        const double residual = v - v == 0.0 ? v - a : 0.0;
        part[lane] += residual * residual;
        q[col] = static_cast<float>(residual);
      };
      std::size_t c = 0;
      for (; c + L <= w; c += L)
        for (std::size_t lane = 0; lane < L; ++lane) sub(lane, c + lane);
      for (; c < w; ++c) sub(c % L, c);
      for (std::size_t lane = 0; lane < L; ++lane) rss += part[lane];
      std::fill(q + w, q + ucols, 0.0f);
    };
    fft::forward_rows(
        rows, cols,
        [&](int row0, int count, float* block) {
          for (int k = 0; k < count; ++k)
            residual_row(static_cast<std::size_t>(row0 + k),
                         block + static_cast<std::size_t>(k) * ucols);
        },
        spectrum.get());
  }
  // No variation: an RMS residual below 1e-6 of the largest magnitude is float rounding.
  const double floor = 1e-6 * vmax;
  if (!(rss > floor * floor * n_all)) return true;
  out.spectrum = std::move(spectrum);
  if (whole) out.spectrum[0] -= static_cast<float>(d * static_cast<double>(n_pixels));
  out.energy = rss;
  out.ok = true;
  return true;
}

// Background subtraction, window, zero padding, FFT (see the header). The padded image is
// scratch of the calling thread (kept between calls: no page faults per frame).
Prepared prepare(ImageView<const float> image, const std::vector<double>& window_y,
                 const std::vector<double>& window_x, int rows, int cols, BackgroundModel model) {
  const std::size_t h = image.height(), w = image.width();
  const double yc = 0.5 * (static_cast<double>(h) - 1.0), xc = 0.5 * (static_cast<double>(w) - 1.0);
  Prepared out;
  const bool unwindowed_frame =
      std::all_of(window_y.begin(), window_y.end(), [](double v) { return v == 1.0; }) &&
      std::all_of(window_x.begin(), window_x.end(), [](double v) { return v == 1.0; });
  if (model == BackgroundModel::constant && unwindowed_frame &&
      prepare_constant(image, rows, cols, out))
    return out;
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
  float* padded = scratch_float(static_cast<std::size_t>(rows) * ucols);
  const bool unwindowed =
      std::all_of(window_y.begin(), window_y.end(), [](double v) { return v == 1.0; }) &&
      std::all_of(window_x.begin(), window_x.end(), [](double v) { return v == 1.0; });
  const bool constant = by == 0.0 && bx == 0.0;
  if (unwindowed && constant) {
    // The fast path below writes every pixel of the image: zero only the padding.
    for (std::size_t r = 0; r < h; ++r)
      std::fill(padded + r * ucols + w, padded + (r + 1) * ucols, 0.0f);
    std::fill(padded + h * ucols, padded + static_cast<std::size_t>(rows) * ucols, 0.0f);
  } else {
    std::fill(padded, padded + static_cast<std::size_t>(rows) * ucols, 0.0f);
  }
  double rss = 0.0, energy = 0.0;
  for (std::size_t r = 0; unwindowed && constant && r < h; ++r) {
    // The common case (a constant background, no window), with four partial sums per row so
    // that the loop is not bound by the latency of single chains of additions.
    const float* p = image.row(r);
    float* q = padded + r * ucols;
    double part_n[4] = {0, 0, 0, 0}, part_rss[4] = {0, 0, 0, 0}, part_max[4] = {0, 0, 0, 0};
    auto add = [&](std::size_t lane, std::size_t c) {
      const double v = p[c];
      const bool finite = std::abs(v) < std::numeric_limits<double>::infinity();
      const double residual = finite ? v - a : 0.0;  // a non-finite pixel stays 0 = the background
      part_max[lane] = std::max(part_max[lane], finite ? std::abs(v) : 0.0);
      part_n[lane] += finite ? 1.0 : 0.0;
      part_rss[lane] += residual * residual;
      q[c] = static_cast<float>(residual);
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
    float* q = padded + r * ucols;
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
      q[c] = static_cast<float>(windowed);
    }
  }
  // No variation: an RMS residual below 1e-6 of the largest magnitude is float rounding (a
  // float holds 6e-8 relative), e.g. a constant or a plane stored as floats.
  const double floor = 1e-6 * vmax;
  if (!(rss > floor * floor * n) || !(energy > 0.0)) return out;
  out.spectrum = spectrum_pool().get(static_cast<std::size_t>(rows) *
                                     static_cast<std::size_t>(fft::half_columns(cols)));
  fft::forward(rows, cols, padded, out.spectrum.get());
  out.energy = energy;
  out.ok = true;
  return out;
}

int to_int_size(std::size_t n, const char* what) {
  if (n == 0 || n > static_cast<std::size_t>(std::numeric_limits<int>::max() / 4))
    throw InputError(std::string("translation: the ") + what + " image size is not usable");
  return static_cast<int>(n);
}

// The real surface of a half spectrum (rows x cols), scaled by 1/(rows cols), into `out`.
void surface_of(const std::complex<float>* spectrum, int rows, int cols, double* out) {
  const std::size_t half =
      static_cast<std::size_t>(rows) * static_cast<std::size_t>(fft::half_columns(cols));
  std::complex<double>* copy = scratch_complex(half);  // the inverse overwrites its input
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
  if (image.height() == 0 || image.width() == 0)
    throw InputError("translation: the image is empty");
  auto s = std::make_shared<State>();
  s->options = options;
  s->height = image.height();
  s->width = image.width();
  s->rows = cv::getOptimalDFTSize(to_int_size(s->height, "reference"));
  s->cols = cv::getOptimalDFTSize(to_int_size(s->width, "reference"));
  s->image = prepare(image, tukey_window(s->height, options.window_fraction),
                     tukey_window(s->width, options.window_fraction), s->rows, s->cols,
                     options.background);
  state_ = std::move(s);
}

std::size_t PreparedImage::height() const { return state_->height; }
std::size_t PreparedImage::width() const { return state_->width; }
const TranslationOptions& PreparedImage::options() const { return state_->options; }
bool PreparedImage::ok() const { return state_->image.ok; }
std::span<const std::complex<float>> PreparedImage::spectrum() const {
  if (!state_->image.ok) return {};
  return {state_->image.spectrum.get(),
          static_cast<std::size_t>(state_->rows) *
              static_cast<std::size_t>(fft::half_columns(state_->cols))};
}
int PreparedImage::fft_rows() const { return state_->rows; }
int PreparedImage::fft_cols() const { return state_->cols; }

TranslationEstimator::TranslationEstimator(ImageView<const float> reference,
                                           const TranslationOptions& options)
    : reference_(reference, options) {}

const TranslationOptions& TranslationEstimator::options() const { return reference_.options(); }

TranslationEstimate TranslationEstimator::operator()(ImageView<const float> moving) const {
  if (moving.height() != reference_.height() || moving.width() != reference_.width())
    throw InputError("translation: the moving image is " +
                     size_text(moving.height(), moving.width()) + " but the reference is " +
                     size_text(reference_.height(), reference_.width()));
  return estimate_translation(reference_, PreparedImage(moving, options()));
}

TranslationEstimate estimate_translation(const PreparedImage& reference_image,
                                         const PreparedImage& moving_image) {
  const PreparedImage::State& s = *reference_image.state_;
  if (moving_image.height() != s.height || moving_image.width() != s.width)
    throw InputError("translation: the moving image is " +
                     size_text(moving_image.height(), moving_image.width()) +
                     " but the reference is " + size_text(s.height, s.width));
  TranslationEstimate result;
  if (!s.image.ok || !moving_image.state_->image.ok) return result;
  const TranslationOptions& o = s.options;
  const HalfSpectrum ref = s.spectrum(), mov = moving_image.state_->spectrum();
  const int rows = s.rows, cols = s.cols;

  const bool is_plain = o.weighting == CorrelationWeighting::plain;
  const bool bounded = o.max_shift_px > 0.0;
  const double bound2 = o.max_shift_px * o.max_shift_px;
  // A coarse grid needs a few cells per axis; tiny images keep full resolution.
  const int b = std::max(1, std::min({o.coarse_binning, rows / 16, cols / 16}));
  const bool one_axis = rows <= 1 || cols <= 1;
  const bool exhaustive = o.exhaustive_refinement || one_axis;

  // Weighted cross-power spectrum from F_m conj(F_r): the surface peaks at +(dy, dx). Large
  // frames with a weight fixed per frequency (the fast coarse path) make its rows on demand
  // from the two spectra (WeightedRows: the same values): the crops read only the lowest
  // frequencies, and each full-resolution climb step is one pass over the two spectra that also
  // gives the normalized correlation. Otherwise (or when the half-frequency Newton steps fail)
  // it is stored first.
  const bool on_demand = b > 1 && !exhaustive && WeightedRows::supports(o);
  std::optional<WeightedRows> weighted_rows;
  if (on_demand) weighted_rows.emplace(mov, ref, o);
  HalfSpectrum weighted{nullptr, rows, cols};
  auto stored = [&]() -> const HalfSpectrum& {
    if (!weighted.data) {
      std::complex<float>* data = scratch_complex_float(
          static_cast<std::size_t>(rows) * static_cast<std::size_t>(fft::half_columns(cols)), 0);
      cross_power(mov, ref, o, data);
      weighted.data = data;
    }
    return weighted;
  };
  if (!on_demand) stored();
  std::optional<double> plain_at_peak;  // correlation_at(mov, ref, dy, dx) when already computed

  double dy = 0.0, dx = 0.0, peak_value = 0.0, rms = 0.0;
  bool ok = true;
  if (b == 1) {
    double* surface = scratch_real(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
    surface_of(weighted.data, rows, cols, surface);
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
      const auto at =
          static_cast<std::size_t>(std::max_element(fine.begin(), fine.end()) - fine.begin());
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
      const GridPeak g =
          grid_peak(weighted, y0, x0, o.upsample, -centre, n - 1 - centre, exhaustive, jy, jx);
      dy = g.dy, dx = g.dx, peak_value = g.value;
    }
  } else {
    // Coarse: the surface at b-px spacing from the lowest frequencies.
    const int crop_rows = rows / b, crop_cols = cols / b;
    const double spacing_y = static_cast<double>(rows) / crop_rows,
                 spacing_x = static_cast<double>(cols) / crop_cols;
    std::vector<std::complex<float>> cropped(
        static_cast<std::size_t>(crop_rows) *
        static_cast<std::size_t>(fft::half_columns(crop_cols)));
    if (on_demand)
      crop_spectrum(*weighted_rows, crop_rows, crop_cols, cropped.data());
    else
      crop_spectrum(weighted, crop_rows, crop_cols, cropped.data());
    const HalfSpectrum coarse{cropped.data(), crop_rows, crop_cols};
    std::vector<double> surface(static_cast<std::size_t>(crop_rows) *
                                static_cast<std::size_t>(crop_cols));
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
    const auto at =
        static_cast<std::size_t>(std::max_element(fine.begin(), fine.end()) - fine.begin());
    peak_value = fine[at];
    double ny = ys[at / xs.size()] * spacing_y, nx = xs[at % xs.size()] * spacing_x;
    {  // at full resolution, on the 1/upsample grid (the integer grid for upsample 1)
      const double y0 = std::round(ny), x0 = std::round(nx);
      bool half_converged = false;
      if (!exhaustive && rows / 2 >= 16 && cols / 2 >= 16) {
        // Newton steps on the lowest half of the frequencies per axis (a quarter of the
        // spectrum, the surface at 2 px spacing): they come within a few thousandths of a pixel
        // of the full-resolution maximum for a quarter of the cost, and only the starting point
        // of the exact grid search below depends on them.
        const int hr = rows / 2, hc = cols / 2;
        std::complex<float>* half_data = scratch_complex_float(
            static_cast<std::size_t>(hr) * static_cast<std::size_t>(fft::half_columns(hc)), 1);
        if (on_demand)
          crop_spectrum(*weighted_rows, hr, hc, half_data);
        else
          crop_spectrum(weighted, hr, hc, half_data);
        const double ry = static_cast<double>(rows) / hr, rx = static_cast<double>(cols) / hc;
        double cy = ny / ry, cx = nx / rx;
        if (newton_peak({half_data, hr, hc}, cy, cx, 6, 0.25 / o.upsample / std::max(ry, rx)))
          ny = cy * ry, nx = cx * rx, half_converged = true;
      }
      // The climb below starts at the grid point nearest to the half-frequency maximum: within a
      // few thousandths of a pixel of the full-resolution one (a grid step is 0.01 px), so it
      // mostly ends where it starts; full-resolution Newton steps only when those failed.
      const bool converged =
          !exhaustive && (half_converged || newton_peak(stored(), ny, nx, 6, 0.25 / o.upsample));
      // Exhaustive, or Newton failed: the 1.5 px window around the nearest integer shift.
      const int n = static_cast<int>(std::ceil(1.5 * o.upsample)), centre = n / 2;
      const int reach = converged ? 3 * o.upsample : centre;
      const int jy = converged ? static_cast<int>(std::lround((ny - y0) * o.upsample)) : 0;
      const int jx = converged ? static_cast<int>(std::lround((nx - x0) * o.upsample)) : 0;
      GridPeak g;
      if (on_demand && converged) {
        double plain = 0.0;
        g = grid_peak(*weighted_rows, y0, x0, o.upsample, -reach, reach, jy, jx, plain);
        plain_at_peak = plain;
      } else {
        g = grid_peak(stored(), y0, x0, o.upsample, -reach, converged ? reach : n - 1 - centre,
                      !converged, jy, jx);
      }
      dy = g.dy, dx = g.dx;
    }
  }
  if (bounded && dy * dy + dx * dx > bound2) ok = false;

  // Normalized (plain) cross-correlation at the refined shift.
  double correlation = peak_value;
  if (plain_at_peak)
    correlation = *plain_at_peak;
  else if (!is_plain || o.lowpass_sigma_px > 0.0 || b > 1)
    correlation = correlation_at(mov, ref, dy, dx);
  const double ncc = std::clamp(
      correlation / std::sqrt(s.image.energy * moving_image.state_->image.energy), -1.0, 1.0);
  if (!(ncc > 0.0)) ok = false;

  result.dy_px = dy;
  result.dx_px = dx;
  result.peak = ncc;
  result.sharpness = rms > 0.0 ? peak_value / rms : 0.0;
  result.ok = ok;
  return result;
}

TranslationEstimate estimate_translation(ImageView<const float> reference,
                                         ImageView<const float> moving,
                                         const TranslationOptions& options) {
  return TranslationEstimator(reference, options)(moving);
}

}  // namespace xanesmap
