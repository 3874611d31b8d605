#include "core/registration/detail/correlation_surface.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <stdexcept>

#include "core/kernels/spectrum_products.hpp"

namespace xanesmap::correlation {

namespace {

constexpr double two_pi = 2.0 * std::numbers::pi;

using kernels::conj_product;
using kernels::spectrum_row_sums;

// The x factors of the surface at xs: per x, the tables weight cos(2 pi kx x / cols) and
// weight sin(...), duplicated (see kernels::spectrum_row_sums); weight 2 for the columns
// standing for a conjugate pair, 1 for kx = 0, and the Nyquist column of an even width a cosine
// of pi x (split evenly between +-cols/2). Table 2l is x_l's cosine, 2l + 1 its sine.
std::vector<double> x_tables(int cols, std::span<const double> xs) {
  const int nh = fft::half_columns(cols);
  const auto n2 = 2 * static_cast<std::size_t>(nh);
  std::vector<double> t(2 * xs.size() * n2);
  for (std::size_t l = 0; l < xs.size(); ++l) {
    double* c = t.data() + 2 * l * n2;
    double* s = c + n2;
    for (int k = 0; k < nh; ++k) {
      double vc = 0.0, vs = 0.0;
      if (cols % 2 == 0 && k == cols / 2) {
        vc = std::cos(std::numbers::pi * xs[l]);
      } else {
        const double weight = k == 0 ? 1.0 : 2.0, f = two_pi * k / cols;
        vc = weight * std::cos(f * xs[l]), vs = weight * std::sin(f * xs[l]);
      }
      const auto i = 2 * static_cast<std::size_t>(k);
      c[i] = c[i + 1] = vc;
      s[i] = s[i + 1] = vs;
    }
  }
  return t;
}

// The y factor exp(2 pi i ky y / rows) of row r (a cosine of pi y on the Nyquist row).
inline void y_factor(int r, int rows, double y, double& re, double& im) {
  if (rows % 2 == 0 && r == rows / 2) {
    re = std::cos(std::numbers::pi * y), im = 0.0;
  } else {
    const double f = two_pi * signed_index(r, rows) / rows;
    re = std::cos(f * y), im = std::sin(f * y);
  }
}

}  // namespace

namespace {

// evaluate_surface over rows given by get_row(r) (2 half-columns floats each, in row order).
template <class GetRow>
std::vector<double> evaluate_rows(int rows, int cols, GetRow get_row, std::span<const double> ys,
                                  std::span<const double> xs) {
  const std::size_t nj = ys.size(), nl = xs.size();
  const auto n2 = 2 * static_cast<std::size_t>(fft::half_columns(cols));
  // Per row r and x_l: S(r, l) = sum_kx weight R(r, kx) exp(2 pi i kx x_l / cols); then
  // c(j, l) = (1/N) sum_r Re(exp(2 pi i ky y_j / rows) S(r, l)). Tables in groups of 6 (one
  // read of the row each), the last group padded with zero tables.
  constexpr int G = 6;
  std::vector<double> tables = x_tables(cols, xs);
  const std::size_t n_tables = 2 * nl, groups = (n_tables + G - 1) / G;
  tables.resize(groups * G * n2, 0.0);
  std::vector<const double*> table_ptr(groups * G);
  for (std::size_t t = 0; t < table_ptr.size(); ++t) table_ptr[t] = tables.data() + t * n2;
  std::vector<double> even(groups * G), odd(groups * G), ey_re(nj), ey_im(nj);
  std::vector<double> out(nj * nl, 0.0);
  for (int r = 0; r < rows; ++r) {
    const float* q = get_row(r);
    for (std::size_t g = 0; g < groups; ++g)
      spectrum_row_sums<G>(q, n2, table_ptr.data() + g * G, even.data() + g * G,
                           odd.data() + g * G);
    for (std::size_t j = 0; j < nj; ++j) y_factor(r, rows, ys[j], ey_re[j], ey_im[j]);
    for (std::size_t l = 0; l < nl; ++l) {
      const double s_re = even[2 * l] - odd[2 * l + 1], s_im = even[2 * l + 1] + odd[2 * l];
      for (std::size_t j = 0; j < nj; ++j) out[j * nl + l] += ey_re[j] * s_re - ey_im[j] * s_im;
    }
  }
  const double scale = 1.0 / (static_cast<double>(rows) * cols);
  for (double& v : out) v *= scale;
  return out;
}

// correlation_at's sums, one row at a time (rows must come in order 0, 1, ...).
class PlainCorrelation {
 public:
  PlainCorrelation(int rows, int cols, double y, double x)
      : rows_(rows),
        cols_(cols),
        y_(y),
        x_(x),
        tables_(x_tables(cols, std::span<const double>(&x_, 1))) {}
  void add_row(int row, const double* product) {
    const auto n2 = 2 * static_cast<std::size_t>(fft::half_columns(cols_));
    const double* table_ptr[2] = {tables_.data(), tables_.data() + n2};
    double even[2], odd[2];
    spectrum_row_sums<2>(product, n2, table_ptr, even, odd);
    const double s_re = even[0] - odd[1], s_im = even[1] + odd[0];
    double ey_re = 0.0, ey_im = 0.0;
    y_factor(row, rows_, y_, ey_re, ey_im);
    total_ += ey_re * s_re - ey_im * s_im;
  }
  double value() const { return total_ / (static_cast<double>(rows_) * cols_); }

 private:
  int rows_, cols_;
  double y_, x_;
  std::vector<double> tables_;
  double total_ = 0.0;
};

}  // namespace

std::vector<double> evaluate_surface(const HalfSpectrum& R, std::span<const double> ys,
                                     std::span<const double> xs) {
  return evaluate_rows(
      R.rows, R.cols, [&](int r) { return reinterpret_cast<const float*>(R.row(r)); }, ys, xs);
}

double correlation_at(const HalfSpectrum& m, const HalfSpectrum& r, double y, double x) {
  const int rows = m.rows, nh = m.half();
  const auto n2 = 2 * static_cast<std::size_t>(nh);
  PlainCorrelation plain(rows, m.cols, y, x);
  std::vector<double> product(n2);
  for (int row = 0; row < rows; ++row) {
    const auto* a = reinterpret_cast<const float*>(m.row(row));
    const auto* b = reinterpret_cast<const float*>(r.row(row));
    // a conj(b) in double, element by element (the row stays in cache for the sums).
    for (std::size_t i = 0; i < n2; i += 2) conj_product(a, b, i / 2, product[i], product[i + 1]);
    plain.add_row(row, product.data());
  }
  return plain.value();
}

WeightedRows::WeightedRows(const HalfSpectrum& m, const HalfSpectrum& r,
                           const TranslationOptions& o)
    : m_(m),
      r_(r),
      gradient_(o.weighting == CorrelationWeighting::gradient),
      lowpass_(o.lowpass_sigma_px > 0.0) {
  k_low_ = -4.0 * std::numbers::pi * std::numbers::pi * o.lowpass_sigma_px * o.lowpass_sigma_px;
  k_grad_ = 4.0 * std::numbers::pi * std::numbers::pi;
  const auto nhs = static_cast<std::size_t>(m.half());
  gx_.resize(nhs), fx2_.resize(nhs);
  for (std::size_t c = 0; c < nhs; ++c) {
    const double f = static_cast<double>(signed_index(static_cast<int>(c), m.cols)) / m.cols;
    gx_[c] = lowpass_ ? std::exp(k_low_ * f * f) : 1.0;
    fx2_[c] = f * f;
  }
}

bool WeightedRows::supports(const TranslationOptions& o) {
  return o.weighting == CorrelationWeighting::plain ||
         o.weighting == CorrelationWeighting::gradient;
}

kernels::CrossPowerRow WeightedRows::row_inputs(int row, std::size_t count) const {
  const double fy = static_cast<double>(signed_index(row, m_.rows)) / m_.rows;
  const double gy = lowpass_ ? std::exp(k_low_ * fy * fy) : 1.0;
  return {reinterpret_cast<const float*>(m_.row(row)),
          reinterpret_cast<const float*>(r_.row(row)),
          count,
          gy,
          fy * fy,
          gx_.data(),
          fx2_.data(),
          gradient_,
          k_grad_};
}

void WeightedRows::row(int row, int count, double* product, std::complex<float>* out) const {
  kernels::weighted_row(row_inputs(row, static_cast<std::size_t>(count)), product,
                        reinterpret_cast<float*>(out));
}

void WeightedRows::climb_row_sums(int row, const double* const* tables, int n_points, int centre,
                                  double* even, double* odd, double* plain_even,
                                  double* plain_odd) const {
  if (n_points < 1 || n_points > 3 || centre < 0 || centre >= n_points)
    throw std::invalid_argument("climb_row_sums: 1-3 points, the centre one of them");
  kernels::climb_row_sums(row_inputs(row, static_cast<std::size_t>(m_.half())), tables, n_points,
                          centre, even, odd, plain_even, plain_odd);
}

void cross_power(const HalfSpectrum& m, const HalfSpectrum& r, const TranslationOptions& o,
                 std::complex<float>* out) {
  const int rows = m.rows, cols = m.cols, nh = m.half();
  const auto nhs = static_cast<std::size_t>(nh);
  if (WeightedRows::supports(o)) {  // a weight fixed per frequency: one pass
    const WeightedRows weighted(m, r, o);
    for (int row = 0; row < rows; ++row)
      weighted.row(row, nh, nullptr, out + static_cast<std::size_t>(row) * nhs);
    return;
  }
  // Whitened (phase, partial): the largest |R|^2 first (the floor), then the weights.
  const double p = o.weighting == CorrelationWeighting::phase ? 1.0 : o.partial_exponent;
  auto product = [&](int row, std::size_t k, double& re, double& im) {
    conj_product(reinterpret_cast<const float*>(m.row(row)),
                 reinterpret_cast<const float*>(r.row(row)), k, re, im);
  };
  double max2 = 0.0;
  for (int row = 0; row < rows; ++row)
    for (std::size_t k = 0; k < nhs; ++k) {
      double re, im;
      product(row, k, re, im);
      max2 = std::max(max2, re * re + im * im);
    }
  const double k_low =
      -4.0 * std::numbers::pi * std::numbers::pi * o.lowpass_sigma_px * o.lowpass_sigma_px;
  std::vector<double> gx(nhs);
  for (std::size_t c = 0; c < nhs; ++c) {
    const double f = static_cast<double>(signed_index(static_cast<int>(c), cols)) / cols;
    gx[c] = o.lowpass_sigma_px > 0.0 ? std::exp(k_low * f * f) : 1.0;
  }
  const double floor2 = 1e-26 * max2;
  for (int row = 0; row < rows; ++row) {
    const double fy = static_cast<double>(signed_index(row, rows)) / rows,
                 gy = o.lowpass_sigma_px > 0.0 ? std::exp(k_low * fy * fy) : 1.0;
    std::complex<float>* q = out + static_cast<std::size_t>(row) * nhs;
    for (std::size_t c = 0; c < nhs; ++c) {
      double re, im;
      product(row, c, re, im);
      const double m2 = re * re + im * im;
      const double s = (m2 > floor2 && m2 > 0.0) ? std::pow(m2, -0.5 * p) : 0.0;
      re *= s, im *= s;
      const double g = gy * gx[c];
      q[c] = {static_cast<float>(re * g), static_cast<float>(im * g)};
    }
  }
}

bool newton_peak(const HalfSpectrum& R, double& y, double& x, int iterations, double tolerance) {
  const int rows = R.rows, cols = R.cols, nh = R.half();
  const auto n2 = 2 * static_cast<std::size_t>(nh);
  // Tables (see kernels::spectrum_row_sums): Ex, Ex wx, Ex wx^2 (cosine and sine each), wx = 2 pi
  // kx / cols; the Nyquist column is taken as a plain frequency here (weight 1).
  std::vector<double> tables(6 * n2);
  const double* table_ptr[6];
  for (int t = 0; t < 6; ++t) table_ptr[t] = tables.data() + static_cast<std::size_t>(t) * n2;
  for (int it = 0; it < iterations; ++it) {
    for (int k = 0; k < nh; ++k) {
      const double weight = (k == 0 || (cols % 2 == 0 && k == cols / 2)) ? 1.0 : 2.0;
      const double w = two_pi * k / cols;
      const double c = weight * std::cos(w * x), s = weight * std::sin(w * x);
      const double values[6] = {c, s, c * w, s * w, c * w * w, s * w * w};
      const auto i = 2 * static_cast<std::size_t>(k);
      for (int t = 0; t < 6; ++t)
        tables[static_cast<std::size_t>(t) * n2 + i] =
            tables[static_cast<std::size_t>(t) * n2 + i + 1] = values[t];
    }
    double gy = 0, gx = 0, hyy = 0, hxx = 0, hxy = 0;
    for (int r = 0; r < rows; ++r) {
      const double wy = two_pi * signed_index(r, rows) / rows;
      double even[6], odd[6];
      spectrum_row_sums<6>(reinterpret_cast<const float*>(R.row(r)), n2, table_ptr, even, odd);
      // A_p = sum_kx R(r, kx) Ex(kx) wx^p, p = 0, 1, 2.
      const double a0r = even[0] - odd[1], a0i = even[1] + odd[0];
      const double a1r = even[2] - odd[3], a1i = even[3] + odd[2];
      const double a2r = even[4] - odd[5];
      const double ey_re = std::cos(wy * y), ey_im = std::sin(wy * y);
      // c = Re(Ey A0); each derivative d/dy brings a factor i wy, d/dx a factor i wx.
      const double b0r = ey_re * a0r - ey_im * a0i, b0i = ey_re * a0i + ey_im * a0r;
      const double b1r = ey_re * a1r - ey_im * a1i, b1i = ey_re * a1i + ey_im * a1r;
      const double b2r = ey_re * a2r - ey_im * (even[5] + odd[4]);
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

namespace {

// The climb of grid_peak: evaluate(ys, xs, jy, jx) gives the surface on the neighbourhood of
// (jy, jx). Returns false when no maximum was reached within the bound.
template <class Evaluate>
bool climb(Evaluate evaluate, double y0, double x0, int up, int lo, int hi, int start_jy,
           int start_jx, GridPeak& peak) {
  int jy = std::clamp(start_jy, lo, hi), jx = std::clamp(start_jx, lo, hi);
  // Each move goes to a strictly larger value, so the climb ends; the bound is a safeguard.
  for (int step = 0; step < 4 * (hi - lo + 1); ++step) {
    std::vector<double> ys, xs;
    std::vector<int> jys, jxs;
    for (int d = -1; d <= 1; ++d) {
      if (jy + d >= lo && jy + d <= hi)
        ys.push_back(grid_coordinate(y0, jy + d, up)), jys.push_back(jy + d);
      if (jx + d >= lo && jx + d <= hi)
        xs.push_back(grid_coordinate(x0, jx + d, up)), jxs.push_back(jx + d);
    }
    const std::vector<double> v = evaluate(ys, xs, jy, jx);
    // The first largest in row-major order, as the exhaustive search takes it.
    const auto at = static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
    const int by = jys[at / xs.size()], bx = jxs[at % xs.size()];
    if (by == jy && bx == jx) {
      peak = {ys[at / xs.size()], xs[at % xs.size()], v[at]};
      return true;
    }
    jy = by, jx = bx;
  }
  return false;
}

template <class Evaluate>
GridPeak exhaustive_grid(Evaluate evaluate, double y0, double x0, int up, int lo, int hi) {
  const auto n = static_cast<std::size_t>(hi - lo + 1);
  std::vector<double> ys(n), xs(n);
  for (int j = lo; j <= hi; ++j) {
    ys[static_cast<std::size_t>(j - lo)] = grid_coordinate(y0, j, up);
    xs[static_cast<std::size_t>(j - lo)] = grid_coordinate(x0, j, up);
  }
  const std::vector<double> fine = evaluate(ys, xs);
  const auto at =
      static_cast<std::size_t>(std::max_element(fine.begin(), fine.end()) - fine.begin());
  return {ys[at / n], xs[at % n], fine[at]};
}

}  // namespace

GridPeak grid_peak(const HalfSpectrum& R, double y0, double x0, int up, int lo, int hi,
                   bool exhaustive, int start_jy, int start_jx) {
  auto whole = [&](std::span<const double> ys, std::span<const double> xs) {
    return evaluate_surface(R, ys, xs);
  };
  GridPeak peak;
  if (!exhaustive && climb([&](std::span<const double> ys, std::span<const double> xs, int,
                               int) { return whole(ys, xs); },
                           y0, x0, up, lo, hi, start_jy, start_jx, peak))
    return peak;
  return exhaustive_grid(whole, y0, x0, up, lo, hi);  // exhaustive, or no maximum reached
}

GridPeak grid_peak(const WeightedRows& W, double y0, double x0, int up, int lo, int hi,
                   int start_jy, int start_jx, double& plain) {
  const int rows = W.rows(), cols = W.cols(), nh = fft::half_columns(cols);
  std::vector<std::complex<float>> weighted(static_cast<std::size_t>(nh));
  // One pass per climb step over the two spectra, without storing the weighted rows
  // (WeightedRows::climb_row_sums): per row the sums for the surface at the neighbourhood and
  // for the plain correlation at its centre (the peak, when the climb stops there), with the
  // tables of x_tables without their duplication, combined as evaluate_rows and
  // PlainCorrelation combine them: the same bits as those over the stored rows.
  auto streamed = [&](std::span<const double> ys, std::span<const double> xs, int jy, int jx) {
    const std::size_t nj = ys.size(), nl = xs.size(), n2 = 2 * static_cast<std::size_t>(nh);
    const std::vector<double> duplicated = x_tables(cols, xs);
    std::vector<double> single(2 * nl * static_cast<std::size_t>(nh));
    const double* table_ptr[6];
    for (std::size_t t = 0; t < 2 * nl; ++t) {
      double* dst = single.data() + t * static_cast<std::size_t>(nh);
      for (std::size_t k = 0; k < static_cast<std::size_t>(nh); ++k)
        dst[k] = duplicated[t * n2 + 2 * k];
      table_ptr[t] = dst;
    }
    // The neighbourhood's centre: climb lists jx - 1 first when it lies within [lo, hi].
    const std::size_t centre_x = jx > lo ? 1 : 0, centre_y = jy > lo ? 1 : 0;
    std::vector<double> out(nj * nl, 0.0), ey_re(nj), ey_im(nj);
    double even[6], odd[6], plain_even[2], plain_odd[2], total = 0.0;
    for (int r = 0; r < rows; ++r) {
      W.climb_row_sums(r, table_ptr, static_cast<int>(nl), static_cast<int>(centre_x), even, odd,
                       plain_even, plain_odd);
      for (std::size_t j = 0; j < nj; ++j) y_factor(r, rows, ys[j], ey_re[j], ey_im[j]);
      for (std::size_t l = 0; l < nl; ++l) {
        const double s_re = even[2 * l] - odd[2 * l + 1], s_im = even[2 * l + 1] + odd[2 * l];
        for (std::size_t j = 0; j < nj; ++j) out[j * nl + l] += ey_re[j] * s_re - ey_im[j] * s_im;
      }
      const double s_re = plain_even[0] - plain_odd[1], s_im = plain_even[1] + plain_odd[0];
      total += ey_re[centre_y] * s_re - ey_im[centre_y] * s_im;
    }
    const double scale = 1.0 / (static_cast<double>(rows) * cols);
    for (double& v : out) v *= scale;
    plain = total / (static_cast<double>(rows) * cols);
    return out;
  };
  GridPeak peak;
  if (climb(streamed, y0, x0, up, lo, hi, start_jy, start_jx, peak)) return peak;
  // No maximum within the bound: the whole grid, then the correlation at its maximum.
  peak = exhaustive_grid(
      [&](std::span<const double> ys, std::span<const double> xs) {
        return evaluate_rows(
            rows, cols,
            [&](int r) {
              W.row(r, nh, nullptr, weighted.data());
              return reinterpret_cast<const float*>(weighted.data());
            },
            ys, xs);
      },
      y0, x0, up, lo, hi);
  plain = correlation_at(W.moving(), W.reference(), peak.dy, peak.dx);
  return peak;
}

void crop_spectrum(const WeightedRows& W, int crop_rows, int crop_cols, std::complex<float>* out) {
  const int nh = fft::half_columns(crop_cols);
  for (int r = 0; r < crop_rows; ++r) {
    const int ky = signed_index(r, crop_rows);
    W.row(ky < 0 ? ky + W.rows() : ky, nh, nullptr,
          out + static_cast<std::size_t>(r) * static_cast<std::size_t>(nh));
  }
}

void crop_spectrum(const HalfSpectrum& R, int crop_rows, int crop_cols, std::complex<float>* out) {
  const int nh = fft::half_columns(crop_cols);
  for (int r = 0; r < crop_rows; ++r) {
    const int ky = signed_index(r, crop_rows);
    const std::complex<float>* src = R.row(ky < 0 ? ky + R.rows : ky);
    std::copy(src, src + nh, out + static_cast<std::size_t>(r) * static_cast<std::size_t>(nh));
  }
}

CoarsePeak coarse_peak(const double* surface, int rows, int cols, bool bounded,
                       double bound_cells) {
  const double bound2 = bound_cells * bound_cells;
  auto at = [&](int r, int c) {
    return surface[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) +
                   static_cast<std::size_t>(c)];
  };
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

}  // namespace xanesmap::correlation
