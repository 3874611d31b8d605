// Normalization of one XANES spectrum (pre-edge line, post-edge polynomial, edge step), as
// defined for Athena/IFEFFIT: B. Ravel & M. Newville, J. Synchrotron Rad. 12, 537 (2005).
//
//   pre(E)  = a + b (E - e0)                  least squares over the pre-edge window
//   post(E) = c0 + c1 (E - e0) [+ c2 (E - e0)^2]  least squares over the post-edge window
//   step    = post(e0) - pre(e0)
//   norm(E) = (mu(E) - pre(E)) / step
//   flat(E) = norm(E) - [(post(E) - pre(E)) / step - 1]  for E >= e0, norm(E) below
//
// "flat" (Athena's flattened spectrum) removes the difference between the pre- and post-edge
// background slopes, which belongs to the sample's matrix, not to the absorbing atom.
//
// Windows are given relative to e0 in eV and are clipped to the data; `clipped_*` records when
// that happened. Works on non-uniform grids (nothing assumes a constant step).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "core/spectral/energy_window.hpp"

namespace xanesmap {

struct NormalizationOptions {
  RelativeWindow pre_edge_ev{-100.0, -20.0};  // relative to e0, eV
  RelativeWindow post_edge_ev{30.0, 150.0};   // relative to e0, eV
  int post_edge_order = 1;                    // 1 (line) or 2 (quadratic)
  double derivative_half_window_ev = 1.0;     // eV, local-line half width for the e0 search
  bool flatten = true;                        // SpectrumNormalizer: write the flattened spectrum
  void validate() const;                      // throws OptionError naming the field
};

struct NormalizedSpectrum {
  double e0_ev = 0.0;
  double edge_step = 0.0;                       // post(e0) - pre(e0), in the units of mu
  double pre_intercept = 0.0, pre_slope = 0.0;  // pre(E) = intercept + slope (E - e0)
  std::vector<double> post_coefficients;        // post(E) = sum c_k (E - e0)^k
  std::vector<double> normalized;               // (mu - pre) / step, one per input point
  std::vector<double> flattened;                // normalized minus the post-edge background shape
  RelativeWindow pre_edge_used_ev, post_edge_used_ev;  // after clipping, relative to e0
  bool clipped_pre = false, clipped_post = false;
};

/// Energy of the maximum of dmu/dE, the slope of a straight line fitted to the points within
/// +-half_window_ev of each point, refined by a parabola through the three best slopes.
/// Throws InputError when fewer than 3 points are given.
double find_e0_max_derivative(std::span<const double> energy_ev, std::span<const double> mu,
                              double half_window_ev);

/// The normalization of one spectrum around its own e0: `e0_ev` when given, else the derivative
/// maximum (find_e0_max_derivative with options.derivative_half_window_ev). The e0 is an argument,
/// not an option, so that a caller with its own e0 (ValenceMapOptions::e0_ev, SpectrumNormalizer's
/// constructor) has one place to set it. The background fits and both normalized forms are those
/// of SpectrumNormalizer (core/spectral/spectrum_normalizer.hpp) on this spectrum's grid and e0:
/// `normalized` as with options.flatten = false, `flattened` as with true, whatever
/// options.flatten. Throws OptionError for invalid options or a non-finite e0; InputError when a
/// window holds too few points for its fit or the step is not positive (no edge). Energies must be
/// strictly increasing.
NormalizedSpectrum normalize_spectrum(std::span<const double> energy_ev, std::span<const double> mu,
                                      const NormalizationOptions& options = {},
                                      std::optional<double> e0_ev = std::nullopt);

}  // namespace xanesmap
