// The correlation surface of two prepared images, computed from their half spectra: internal
// to core/registration/translation.cpp (which states the conventions), in a file of its own for
// size. Evaluation by matrix-multiply DFT (M. Guizar-Sicairos, S. T. Thurman & J. R. Fienup, Opt.
// Lett. 33, 156 (2008)), Newton steps towards its maximum, the search on the 1/upsample grid, and
// the coarse peak on a surface from the lowest frequencies.
#pragma once

#include <complex>
#include <cstddef>
#include <span>
#include <vector>

#include "core/kernels/spectrum_products.hpp"
#include "core/registration/detail/fft.hpp"
#include "core/registration/translation.hpp"

namespace xanesmap::correlation {

// A half spectrum (core/registration/detail/fft.hpp): rows x (cols/2 + 1) complex values of a rows
// x cols real image, stored in single precision (the frames are float32; every sum over a spectrum
// is accumulated in double).
struct HalfSpectrum {
  const std::complex<float>* data = nullptr;
  int rows = 0, cols = 0;
  int half() const { return fft::half_columns(cols); }
  const std::complex<float>* row(int r) const {
    return data + static_cast<std::size_t>(r) * static_cast<std::size_t>(half());
  }
};

// Signed shift (or frequency) of index i on a circular axis of n points.
inline int signed_index(int i, int n) { return i < (n + 1) / 2 ? i : i - n; }

// Evaluates c(y, x) = Re (1/N) sum_k R(k) exp(2 pi i (ky y / rows + kx x / cols)) at every
// (ys[j], xs[l]) (row-major result, ys.size() x xs.size()), for a Hermitian R given by its half
// spectrum: the trigonometric interpolant of the surface, with signed frequencies and the
// Nyquist row/column split evenly between +-N/2 (a cosine). Matrix-multiply DFT of
// Guizar-Sicairos et al.: the columns kx in [0, cols/2] are used, the others being their
// complex conjugates (weight 2, except kx = 0 and the Nyquist column).
std::vector<double> evaluate_surface(const HalfSpectrum& R, std::span<const double> ys,
                                     std::span<const double> xs);

// The plain cross-correlation c(y, x) of two prepared images at one point: the same sum as
// evaluate_surface over F_m conj(F_r), without storing the product.
double correlation_at(const HalfSpectrum& m, const HalfSpectrum& r, double y, double x);

// Rows of the weighted cross-power spectrum made on demand from the two spectra, for the
// weightings whose weight is fixed per frequency (plain and gradient, with or without the
// low-pass): the values are those cross_power writes, bit for bit (cross_power uses it). The
// full-resolution passes over large frames then read the two spectra instead of a stored
// product that would first have to be written.
class WeightedRows {
 public:
  WeightedRows(const HalfSpectrum& m, const HalfSpectrum& r, const TranslationOptions& o);
  static bool supports(const TranslationOptions& o);  // plain or gradient
  int rows() const { return m_.rows; }
  int cols() const { return m_.cols; }
  const HalfSpectrum& moving() const { return m_; }
  const HalfSpectrum& reference() const { return r_; }
  // Row `row`, columns [0, count): the weighted values into `out` and, when `product` is not
  // null, the plain products a conj(b) in double (2 count values, re and im) as correlation_at
  // computes them.
  void row(int row, int count, double* product, std::complex<float>* out) const;
  // One row of a climb pass without storing it (the full-resolution step of grid_peak below):
  // for each of the 2 n_points `tables` (the cosine and sine factors of each x point, one value per
  // column, as x_tables without the duplication), even[t] = sum_k re(w_k) t_k and odd[t] = sum_k
  // im(w_k) t_k over the weighted values w of row(); plain_even/plain_odd[0, 1]: the same over the
  // plain products with the tables of point `centre`. The same bits as row() followed by the
  // sums of the stored rows (kernels::climb_row_sums; tested). n_points 1-3.
  void climb_row_sums(int row, const double* const* tables, int n_points, int centre, double* even,
                      double* odd, double* plain_even, double* plain_odd) const;

 private:
  kernels::CrossPowerRow row_inputs(int row, std::size_t count) const;

  HalfSpectrum m_, r_;
  bool gradient_ = false, lowpass_ = false;
  double k_low_ = 0.0, k_grad_ = 0.0;
  std::vector<double> gx_, fx2_;
};

// The weighted cross-power spectrum (see core/registration/translation.hpp) into `out` (rows x half
// columns): F_m conj(F_r), whitened (phase, partial) or times |2 pi f|^2 (gradient), then
// low-passed. Per term the same operations, in the same order, as the full-spectrum code had.
void cross_power(const HalfSpectrum& m, const HalfSpectrum& r, const TranslationOptions& o,
                 std::complex<float>* out);

// The refinement grid around an integer peak (y0, x0): point j along an axis sits at
// y0 + j / upsample. Written once so that every search evaluates the same coordinates.
inline double grid_coordinate(double origin, int j, int upsample) {
  return origin + static_cast<double>(j) / upsample;
}

// Newton steps towards the continuous maximum of c(s) = Re (1/N) sum_k R(k) exp(2 pi i k.s / N)
// from (y, x): the gradient and Hessian are sums over the half spectrum, like the surface itself
// (the Nyquist terms are taken as plain frequencies here: only the starting point of the exact
// grid search depends on them). Each step is at most 0.5 px per axis; stops after `iterations`,
// when a step is below `tolerance` px (a quarter of the grid step is enough: the climb then
// starts next to the grid maximum), or returns false when the Hessian is not negative definite.
bool newton_peak(const HalfSpectrum& R, double& y, double& x, int iterations, double tolerance);

struct GridPeak {
  double dy = 0.0, dx = 0.0, value = 0.0;
};

// The maximum of c on the grid y0 + jy / up, x0 + jx / up with j in [lo, hi] per axis: the whole
// grid (exhaustive), or a hill climb from (jy, jx) through 3 x 3 neighbourhoods (see
// core/registration/translation.hpp).
GridPeak grid_peak(const HalfSpectrum& R, double y0, double x0, int up, int lo, int hi,
                   bool exhaustive, int start_jy, int start_jx);

// The lowest crop_rows x crop_cols frequencies of a half spectrum, as a half spectrum of that
// size (signed row frequencies kept in place); from WeightedRows: the same values, computed.
void crop_spectrum(const HalfSpectrum& R, int crop_rows, int crop_cols, std::complex<float>* out);
void crop_spectrum(const WeightedRows& W, int crop_rows, int crop_cols, std::complex<float>* out);

// grid_peak's climb (exhaustive = false) over the weighted spectrum of W, each step one pass over
// the two spectra; `plain` receives correlation_at(W.moving(), W.reference(), peak), computed in
// the last step's pass. The same shift and values, bit for bit, as grid_peak over cross_power's
// output followed by correlation_at.
GridPeak grid_peak(const WeightedRows& W, double y0, double x0, int up, int lo, int hi,
                   int start_jy, int start_jx, double& plain);

struct CoarsePeak {
  int pr = 0, pc = 0;  // on the surface's grid
  double best = 0.0;
  bool ok = false;
  double rms = 0.0;  // away from the peak (sharpness)
};

// Largest value within the bound (in surface cells), the local-maximum check, and the RMS
// farther than 2 cells (circular Chebyshev distance) from the peak (see
// core/registration/translation.hpp).
CoarsePeak coarse_peak(const double* surface, int rows, int cols, bool bounded, double bound_cells);

}  // namespace xanesmap::correlation
