// Per-pixel normalization on one energy grid: the routine applied, identically, to every pixel
// spectrum and to every reference interpolated onto the stack's energies.
//
// Same definitions as core/spectral/normalization.hpp (Athena: Ravel & Newville, J. Synchrotron
// Rad. 12, 537 (2005)), with one difference that makes the routine a fixed linear operator: the
// windows sit around ONE edge energy e0 shared by all spectra (not each spectrum's own e0), so the
// least-squares pseudo-inverses of the pre- and post-edge fits are computed once, in the
// constructor, and normalizing a spectrum costs a few dot products. The valence-dependent edge
// shift (~6 eV from Mn2+ to Mn4+) is small against windows that end 20 eV below and start 30 eV
// above e0.
//
// Works on non-uniform grids. Windows are clipped to the grid, and the clipping is recorded.
#pragma once

#include <array>
#include <span>
#include <string>
#include <vector>

#include "core/spectral/normalization.hpp"

namespace xanesmap {

// Transitional: spectrum_normalizer.cpp still spells the return type of pre_edge_used_ev() and
// post_edge_used_ev() "EnergyWindow" (that file is being reworked elsewhere and is left alone
// here). An absolute window; remove this alias when the .cpp says AbsoluteWindow.
using EnergyWindow = AbsoluteWindow;

class SpectrumNormalizer {
 public:
  struct Result {
    double edge_step = 0.0;        // post(e0) - pre(e0), in the units of mu (OD for pixels)
    double pre_edge_rms = 0.0;     // RMS residual of the pre-edge line: the noise level
    double edge_step_sigma = 0.0;  // standard error of edge_step for that per-point noise
  };

  /// Throws InputError when a window holds too few energies for its fit, naming the window,
  /// the energies it holds and the number needed; OptionError for bad options.
  SpectrumNormalizer(std::span<const double> energy_ev, double e0_ev,
                     const NormalizationOptions& options);

  /// The fitted background: pre(E) = pre_intercept + pre_slope (E - e0), post(E) = sum_k
  /// post[k] (E - e0)^k (post[2] = 0 for a line).
  struct Fit {
    double pre_intercept = 0.0, pre_slope = 0.0;
    std::array<double, 3> post{};
    Result result;
  };
  Fit fit(std::span<const double> mu) const;

  /// Normalizes `mu` (one value per grid energy) into `out` (same size): (mu - pre) / step,
  /// flattened above e0 when the options ask for it. When the step is not positive, `out` is
  /// left untouched and the returned step says so. No allocation; thread-safe.
  Result operator()(std::span<const double> mu, std::span<double> out) const;

  /// fit() of `fits.size()` spectra stored frame-major, as a row of an energy stack holds them:
  /// value i of spectrum c at values[i * stride + c]. The same sums in the same order per
  /// spectrum (identical results), computed for all spectra at once: the loops over spectra are
  /// contiguous and vectorize, where gathering each spectrum would stride through memory.
  void fit_columns(const float* values, std::size_t stride, std::span<Fit> fits) const;
  /// The normalization of operator() with a fit already made (its step must be positive).
  void apply(const Fit& fit, std::span<const double> mu, std::span<double> out) const;

  /// The linearization of operator() at a fixed step: d(out) = N d(mu) / step, as an n x n
  /// row-major matrix (identity minus the pre-edge line, or minus the post-edge polynomial on
  /// flattened points). Used to propagate measurement noise; built on demand.
  std::vector<double> linear_operator() const;

  double e0_ev() const { return e0_ev_; }
  AbsoluteWindow pre_edge_used_ev() const;   // after clipping
  AbsoluteWindow post_edge_used_ev() const;  // after clipping
  bool clipped_pre() const { return clipped_pre_; }
  bool clipped_post() const { return clipped_post_; }
  std::size_t pre_points() const { return pre_end_ - pre_begin_; }
  std::size_t pre_begin() const { return pre_begin_; }  // grid index of the first pre-edge point
  std::size_t post_points() const { return post_end_ - post_begin_; }

 private:
  std::vector<double> x_;                 // E - e0 for every grid point
  std::size_t first_at_or_above_e0_ = 0;  // first index with x_ >= 0 (flattened from there)
  double e0_ev_ = 0.0;
  bool flatten_ = true;
  std::size_t pre_begin_ = 0, pre_end_ = 0, post_begin_ = 0, post_end_ = 0;
  std::vector<double> pre_pinv_;   // 2 x pre_points, row-major
  std::vector<double> post_pinv_;  // (order + 1) x post_points, row-major
  int post_order_ = 2;
  double step_noise_gain_ = 0.0;  // sqrt(sum of squared weights of mu in post(e0) - pre(e0))
  bool clipped_pre_ = false, clipped_post_ = false;
};

}  // namespace xanesmap
