#include "core/correlation_surface.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace xanesmap::correlation {

namespace {
constexpr double two_pi = 2.0 * std::numbers::pi;
}  // namespace

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
      for (std::size_t j = 0; j < nj; ++j)
        ey_re[j] = std::cos(std::numbers::pi * ys[j]), ey_im[j] = 0.0;
    } else {
      const double f = two_pi * ky / rows;
      for (std::size_t j = 0; j < nj; ++j)
        ey_re[j] = std::cos(f * ys[j]), ey_im[j] = std::sin(f * ys[j]);
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
    const double ey_re = (nyquist_row && row == rows / 2)
                             ? std::cos(std::numbers::pi * y)
                             : std::cos(two_pi * signed_index(row, rows) / rows * y);
    const double ey_im = (nyquist_row && row == rows / 2)
                             ? 0.0
                             : std::sin(two_pi * signed_index(row, rows) / rows * y);
    total += ey_re * sr - ey_im * si;
  }
  return total / (static_cast<double>(rows) * cols);
}

void cross_power(const HalfSpectrum& m, const HalfSpectrum& r, const TranslationOptions& o,
                 std::complex<double>* out) {
  const int rows = m.rows, cols = m.cols, nh = m.half();
  const auto nhs = static_cast<std::size_t>(nh);
  const bool whiten =
      o.weighting == CorrelationWeighting::phase || o.weighting == CorrelationWeighting::partial;
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
  const double k_low =
      -4.0 * std::numbers::pi * std::numbers::pi * o.lowpass_sigma_px * o.lowpass_sigma_px;
  const double k_grad = 4.0 * std::numbers::pi * std::numbers::pi;
  std::vector<double> gx(nhs), fx2(nhs);
  for (std::size_t c = 0; c < nhs; ++c) {
    const double f = static_cast<double>(signed_index(static_cast<int>(c), cols)) / cols;
    gx[c] = std::exp(k_low * f * f);
    fx2[c] = f * f;
  }
  const double floor2 = 1e-26 * max2;
  for (int row = 0; row < rows; ++row) {
    const double fy = static_cast<double>(signed_index(row, rows)) / rows,
                 gy = std::exp(k_low * fy * fy);
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

GridPeak grid_peak(const HalfSpectrum& R, double y0, double x0, int up, int lo, int hi,
                   bool exhaustive, int start_jy, int start_jx) {
  if (exhaustive) {
    const auto n = static_cast<std::size_t>(hi - lo + 1);
    std::vector<double> ys(n), xs(n);
    for (int j = lo; j <= hi; ++j) {
      ys[static_cast<std::size_t>(j - lo)] = grid_coordinate(y0, j, up);
      xs[static_cast<std::size_t>(j - lo)] = grid_coordinate(x0, j, up);
    }
    const std::vector<double> fine = evaluate_surface(R, ys, xs);
    const auto at =
        static_cast<std::size_t>(std::max_element(fine.begin(), fine.end()) - fine.begin());
    return {ys[at / n], xs[at % n], fine[at]};
  }
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
    const std::vector<double> v = evaluate_surface(R, ys, xs);
    // The first largest in row-major order, as the exhaustive search takes it.
    const auto at = static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
    const int by = jys[at / xs.size()], bx = jxs[at % xs.size()];
    if (by == jy && bx == jx) return {ys[at / xs.size()], xs[at % xs.size()], v[at]};
    jy = by, jx = bx;
  }
  return grid_peak(R, y0, x0, up, lo, hi, true, 0, 0);  // no maximum reached: search it all
}

void crop_spectrum(const HalfSpectrum& R, int crop_rows, int crop_cols, std::complex<double>* out) {
  const int nh = fft::half_columns(crop_cols);
  for (int r = 0; r < crop_rows; ++r) {
    const int ky = signed_index(r, crop_rows);
    const std::complex<double>* src = R.row(ky < 0 ? ky + R.rows : ky);
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
