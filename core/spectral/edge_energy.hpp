// Edge energy of one normalized XANES spectrum (pre-edge 0, edge step 1), by three definitions.
//
// Convention: energies in eV; "normalized" means the output of normalize_spectrum (or its flattened
// form) on the finder's own grid. The finder searches the MAIN edge in a range given relative to a
// reference e0 (typically the references' e0), so pre-edge peaks and EXAFS wiggles stay outside.
//
// Local polynomials. Derivatives and smoothed values come from least-squares polynomials in
// x = E - E_i fitted to the points near E_i: Savitzky & Golay, Anal. Chem. 36, 1627 (1964),
// generalized to non-uniform grids by solving the least-squares problem for each point's own
// abscissae (the "local polynomial regression" of W. S. Cleveland, J. Am. Stat. Assoc. 74, 829
// (1979), with uniform weights). The fit is linear in the data, so for y on the grid
//   c_k(i) = sum_j w_kj(i) y_j,   w_k(i) = row k of (X^T X)^-1 X^T,   X_jk = (E_j - E_i)^k,
// and the weights are computed once per grid; finding an edge is then a few dot products.
//
// Definitions (h = smoothing_half_window_ev, [lo, hi] = search_ev around e0):
// - derivative-max: D_i = c_1(i), the slope of a quadratic fitted to the points with
//   |E_j - E_i| <= h, the window widened to at least the 2 neighbours on each side, a line when it
//   holds fewer than 4 points (ends of the grid). k = argmax D_i over the grid points in [lo, hi];
//   E = vertex of the parabola through (E_{k-1}, D_{k-1}), (E_k, D_k), (E_{k+1}, D_{k+1}). This is
//   Athena's default e0 (first-derivative maximum: B. Ravel & M. Newville, J. Synchrotron Rad. 12,
//   537 (2005)), here smoothed and restricted to the search range.
// - half-height: the energy where the normalized spectrum crosses 0.5 on the main edge, i.e. the
//   crossing reached from the derivative-maximum point k by walking down in energy while y >= 0.5
//   (or up while y < 0.5). The bracket [E_m, E_m+1] gives the linear crossing E_lin; then a
//   quadratic p(x) is fitted to the points with |E_j - E_lin| <= h (grown to the 5 nearest when
//   fewer: on a coarse/fine boundary the nearer points, not a fixed count each side) and
//   E = E_lin + x with p(x) = 0.5 and p'(x) > 0, the root nearest E_lin (E_lin itself when the
//   fit has no such root within the window).
// - white-line: the largest normalized value at a grid point between E_k and hi; a quadratic fitted
//   to the points within +-white_line_half_window_ev of it (at least 2 neighbours each side) gives
//   its vertex -c_1 / (2 c_2) when c_2 < 0 and the vertex lies inside that window, else the point.
//
// No edge: every function returns NaN when the spectrum holds a non-finite value where it is used,
// when the largest slope in [lo, hi] is below 1 / (hi - lo) (a unit step spread over the whole
// range is the flattest edge possible: anything flatter is no edge), or when the extremum sits on
// the first or last grid point of [lo, hi] (the edge or the peak lies outside the range).
// half-height is also NaN when the walk leaves [lo, hi] without crossing 0.5.
//
// The find functions allocate nothing and are const: one finder serves all pixels and threads.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/spectral/energy_window.hpp"

namespace xanesmap {

enum class EdgeDefinition { half_height, derivative_max, white_line };

/// "half-height", "derivative-max", "white-line".
std::string to_string(EdgeDefinition definition);
/// Accepts the words of to_string; OptionError("edge", ...) listing them otherwise.
EdgeDefinition parse_edge_definition(const std::string& text);

struct EdgeEnergyOptions {
  RelativeWindow search_ev{-20.0,
                           25.0};  // relative to the finder's e0: where the main edge is searched
  double smoothing_half_window_ev =
      1.0;  // eV, half width of the local polynomial (derivative, half-height)
  double white_line_half_window_ev = 2.0;  // eV, half width of the quadratic around the white line
  void validate() const;                   // throws OptionError naming the field
};

class EdgeEnergyFinder {
 public:
  /// energy_ev: strictly increasing, possibly non-uniform. Throws InputError when it is not, or
  /// when the search range holds fewer than 3 grid points; OptionError for invalid options.
  EdgeEnergyFinder(std::span<const double> energy_ev, double e0_ev,
                   const EdgeEnergyOptions& options = {});

  /// Each takes a NORMALIZED spectrum on the finder's grid (InputError when the length differs)
  /// and returns the edge energy in eV, or NaN when there is none in the search range.
  double derivative_max(std::span<const double> normalized) const;
  double half_height(std::span<const double> normalized) const;
  double white_line(std::span<const double> normalized) const;
  double find(EdgeDefinition definition, std::span<const double> normalized) const;

  std::span<const double> energy_ev() const { return energy_ev_; }
  double e0_ev() const { return e0_ev_; }
  const EdgeEnergyOptions& options() const { return options_; }

 private:
  friend struct EdgeEnergyFinderProbe;  // tests/core/spectral/edge_energy_test.cpp: the fast scan
                                        // against the plain one
  // A local polynomial at one grid point: data indices [first, first + count); the weights of its
  // stored coefficients, row r at weights_[offset + r * count + j] (slope stencils store c_1
  // only, white-line stencils c_0, c_1, c_2).
  struct Stencil {
    std::size_t first = 0, count = 0, offset = 0;
  };
  double apply(const Stencil& s, std::size_t row, std::span<const double> y) const;
  double slope(std::size_t i, std::span<const double> y) const;
  // Index of the largest slope in the search range, or npos when there is no edge.
  std::size_t max_slope_index(std::span<const double> y) const;
  void check_length(std::span<const double> y) const;

  std::vector<double> energy_ev_;
  double e0_ev_ = 0.0;
  EdgeEnergyOptions options_;
  std::size_t search_first_ = 0, search_last_ = 0;  // grid indices inside [lo, hi], inclusive
  double min_slope_per_ev_ = 0.0;                   // 1 / (hi - lo)
  std::vector<Stencil> slope_stencils_;             // one per search point, c_1 only stored
  std::vector<Stencil> white_line_stencils_;        // one per search point, c_0..c_2 stored
  std::vector<double> weights_;
  // Per group of four slope stencils (search points 4g .. 4g + 3): the offset of its transposed
  // weights in group_weights_, or npos when the four cannot be evaluated together.
  std::vector<std::size_t> slope_groups_;
  std::vector<double> group_weights_;
};

}  // namespace xanesmap
