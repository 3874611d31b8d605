// Linear-combination fitting (LCF) of a normalized spectrum y by K normalized references A:
//
//   minimize |A f - y|^2   subject to   sum_k f_k = 1   and (simplex) f_k >= 0.
//
// The constrained problem is solved exactly, not by clipping an unconstrained fit: the optimum
// of a convex quadratic on the simplex is the sum-to-one optimum on its support (the face of
// the simplex it lies on), so for each non-empty subset S of the references (2^K - 1 <= 255 for
// K <= 8) the closed-form sum-to-one solution on S is computed,
//
//   f_S = G_S b_S - G_S 1 (1' G_S b_S - 1) / (1' G_S 1),   G_S = (A_S' A_S)^-1,  b = A' y,
//
// infeasible ones (a negative fraction) are discarded, and the feasible one with the smallest
// residual is the solution (Lawson & Hanson, Solving Least Squares Problems (1974), ch. 23,
// on active sets). G_S are computed once per reference set; a pixel costs K dot products of
// length n plus O(2^K K^2).
//
// Free amplitude (the default in xanesmap map): the model is s A f with f on the simplex and a
// scale s > 0, which absorbs an error in the spectrum's edge-step normalization (the step is
// extrapolated from a noisy post-edge fit and scales the whole normalized spectrum). It is
// solved as non-negative least squares for g = s f, by the same enumeration of subsets (on a
// subset, g_S = G_S b_S; feasible when all >= 0), and reported as f = g / sum(g), s = sum(g):
// the fractions still sum to one exactly. Without the free amplitude, s = 1.
//
// Uncertainty: sigma^2 = RSS / (n - p) with p the free parameters (K - 1, or K with the free
// amplitude), and the valence variance J' C J from the covariance C of the full-set fit
// (sum-to-one: sigma^2 (G - G1 1'G / 1'G1), J = v; free amplitude: sigma^2 G for g, and
// J_k = (v_k - valence) / s by the delta method). The full-set covariance is used for every
// pixel, also when the simplex solution lies on a face: the face covariance would claim zero
// error for a pixel fitted by one reference alone.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace xanesmap {

enum class LcfConstraint {
  simplex,     // fractions >= 0 and sum to 1 (exact active-set solve)
  sum_to_one,  // fractions sum to 1, may be negative (plain equality-constrained least squares)
};
std::string to_string(LcfConstraint c);                       // "simplex", "sum-to-one"
LcfConstraint parse_lcf_constraint(const std::string& text);  // OptionError otherwise

inline constexpr std::size_t kMaxLcfReferences = 8;

struct LcfResult {
  std::array<double, kMaxLcfReferences> fractions{};  // sum to 1
  double amplitude = 1.0;      // s: the fitted scale (1 without the free amplitude)
  double valence = 0.0;        // sum_k f_k v_k
  double valence_sigma = 0.0;  // 1 sigma from the fit's covariance and residual
  double rfactor = 0.0;        // sum (y - A f)^2 / sum y^2
  double rss = 0.0;            // sum (y - s A f)^2
  bool ok = false;             // false: no feasible, well-conditioned solution (degenerate)
};

class LinearCombinationFit {
 public:
  /// `references[k]` holds reference k's normalized values on the fit grid (all the same size,
  /// at least K + 1 points); `valences[k]` its valence. Throws InputError when the references
  /// are linearly dependent on the fit grid (the fit would be degenerate for every pixel),
  /// OptionError for more than kMaxLcfReferences.
  LinearCombinationFit(std::vector<std::vector<double>> references, std::vector<double> valences,
                       LcfConstraint constraint, bool free_amplitude = false);

  /// Fits `y` (same size as a reference). No allocation; thread-safe.
  LcfResult operator()(std::span<const double> y) const;

  std::size_t reference_count() const { return valences_.size(); }
  std::size_t points() const { return points_; }
  /// The fitted spectrum s A f.
  std::vector<double> model(const LcfResult& fit) const;
  /// Coefficients c with d(valence)/d(y_i) = sum_k c_k A_k(i), the full-set linearization at
  /// this solution; lets a caller propagate noise that reaches y through other linear steps.
  std::array<double, kMaxLcfReferences> valence_gradient(const LcfResult& fit) const;
  /// Free parameters of the fit (K - 1, or K with the free amplitude).
  std::size_t parameters() const {
    return free_amplitude_ ? valences_.size() : valences_.size() - 1;
  }
  const std::vector<std::vector<double>>& references() const { return refs_; }

 private:
  struct Face {
    std::uint32_t members = 0;       // bit k: reference k in the subset
    std::vector<std::size_t> index;  // the members, ascending
    std::vector<double> g;           // G_S, |S| x |S| row-major
    std::vector<double> g_ones;      // G_S 1
    double ones_g_ones = 0.0;        // 1' G_S 1
  };
  std::vector<std::vector<double>> refs_;
  std::vector<double> valences_;
  std::vector<double> gram_;  // A'A, K x K
  std::vector<Face> faces_;   // feasible candidates to try (all subsets, or the full set)
  Face full_;                 // the full set, for the covariance
  LcfConstraint constraint_ = LcfConstraint::simplex;
  bool free_amplitude_ = false;
  std::size_t points_ = 0;
};

}  // namespace xanesmap
