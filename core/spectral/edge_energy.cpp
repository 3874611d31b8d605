#include "core/spectral/edge_energy.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/base/error.hpp"
#include "core/kernels/slope_groups.hpp"

namespace xanesmap {

namespace {
constexpr double not_found = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t npos = static_cast<std::size_t>(-1);

// Inclusive index range [first, last] of the grid points with |E - centre| <= half_window_ev,
// widened to contain [must_first, must_last] (clipped to the grid).
struct IndexRange {
  std::size_t first, last;
};
IndexRange window(std::span<const double> e, double centre_ev, double half_window_ev,
                  std::ptrdiff_t must_first, std::ptrdiff_t must_last) {
  const auto n = static_cast<std::ptrdiff_t>(e.size());
  const auto lo = std::lower_bound(e.begin(), e.end(), centre_ev - half_window_ev) - e.begin();
  const auto hi = std::upper_bound(e.begin(), e.end(), centre_ev + half_window_ev) - e.begin() - 1;
  const auto first = std::clamp<std::ptrdiff_t>(std::min(lo, must_first), 0, n - 1);
  const auto last = std::clamp<std::ptrdiff_t>(std::max(hi, must_last), 0, n - 1);
  return {static_cast<std::size_t>(first), static_cast<std::size_t>(last)};
}

// Rows of the least-squares pseudo-inverse for a polynomial of `order` in (E - centre) over
// grid points [r.first, r.last]: coefficient c_k = sum_j out[k][j] y_j. The abscissa is scaled
// to ~1 for conditioning and the scale is folded back into the weights.
Eigen::MatrixXd polynomial_weights(std::span<const double> e, double centre_ev, IndexRange r,
                                   int order) {
  const auto m = static_cast<Eigen::Index>(r.last - r.first + 1);
  const double scale_ev = std::max({centre_ev - e[r.first], e[r.last] - centre_ev, 1e-9});
  Eigen::MatrixXd x(m, order + 1);
  for (Eigen::Index j = 0; j < m; ++j) {
    const double u = (e[r.first + static_cast<std::size_t>(j)] - centre_ev) / scale_ev;
    double p = 1.0;
    for (int k = 0; k <= order; ++k, p *= u) x(j, k) = p;
  }
  Eigen::MatrixXd w = x.colPivHouseholderQr().solve(Eigen::MatrixXd::Identity(m, m));
  for (int k = 1; k <= order; ++k) w.row(k) /= std::pow(scale_ev, k);
  return w;
}

// Vertex of the parabola through three points (non-uniform spacing) when it is a maximum,
// else the middle abscissa.
double parabola_vertex(double x0, double y0, double x1, double y1, double x2, double y2) {
  const double d1 = (y1 - y0) / (x1 - x0), d2 = (y2 - y1) / (x2 - x1);
  const double curvature = (d2 - d1) / (x2 - x0);
  if (!(curvature < 0.0)) return x1;
  return std::clamp(0.5 * (x0 + x1) - d1 / (2.0 * curvature), x0, x2);
}
// Solves the 3x3 system a x = b (a row-major) by Cramer's rule; NaN or inf when singular.
void solve_3x3(const double a[9], const double b[3], double* x0, double* x1, double* x2) {
  auto det = [](const double m[9]) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
  };
  const double d = det(a);
  double* out[3] = {x0, x1, x2};
  for (int c = 0; c < 3; ++c) {
    double m[9];
    std::copy(a, a + 9, m);
    for (int r = 0; r < 3; ++r) m[3 * r + c] = b[r];
    *out[c] = det(m) / d;
  }
}

}  // namespace

std::string to_string(EdgeDefinition definition) {
  switch (definition) {
    case EdgeDefinition::half_height:
      return "half-height";
    case EdgeDefinition::derivative_max:
      return "derivative-max";
    case EdgeDefinition::white_line:
      return "white-line";
  }
  return "unknown";
}

EdgeDefinition parse_edge_definition(const std::string& text) {
  for (const auto d :
       {EdgeDefinition::half_height, EdgeDefinition::derivative_max, EdgeDefinition::white_line})
    if (text == to_string(d)) return d;
  throw OptionError("edge", "'" + text + "' is not half-height, derivative-max or white-line");
}

void EdgeEnergyOptions::validate() const {
  if (!(std::isfinite(search_ev.from_ev) && std::isfinite(search_ev.to_ev) &&
        search_ev.from_ev < search_ev.to_ev))
    throw OptionError("search_ev", "must run from a lower to a higher energy");
  if (!(smoothing_half_window_ev > 0.0 && std::isfinite(smoothing_half_window_ev)))
    throw OptionError("edge-smoothing", "must be a positive energy");
  if (!(white_line_half_window_ev > 0.0 && std::isfinite(white_line_half_window_ev)))
    throw OptionError("white_line_half_window_ev", "must be a positive energy");
}

EdgeEnergyFinder::EdgeEnergyFinder(std::span<const double> energy_ev, double e0_ev,
                                   const EdgeEnergyOptions& options)
    : energy_ev_(energy_ev.begin(), energy_ev.end()), e0_ev_(e0_ev), options_(options) {
  options_.validate();
  const auto& e = energy_ev_;
  for (std::size_t i = 0; i < e.size(); ++i)
    if (!std::isfinite(e[i]) || (i > 0 && !(e[i] > e[i - 1]))) {
      std::ostringstream m;
      m.precision(10);
      m << "edge energy grid: energies must be finite and strictly increasing, but point " << i
        << " is " << e[i] << " eV";
      if (i > 0) m << " after " << e[i - 1] << " eV";
      throw InputError(m.str());
    }
  if (!std::isfinite(e0_ev)) throw InputError("edge energy grid: e0 must be a finite energy");

  const double lo = e0_ev + options_.search_ev.from_ev, hi = e0_ev + options_.search_ev.to_ev;
  search_first_ = static_cast<std::size_t>(std::lower_bound(e.begin(), e.end(), lo) - e.begin());
  const auto end = static_cast<std::size_t>(std::upper_bound(e.begin(), e.end(), hi) - e.begin());
  if (end < search_first_ + 3) {
    std::ostringstream m;
    m.precision(7);
    m << "edge search range " << lo << "-" << hi << " eV (e0 " << options_.search_ev.from_ev
      << " to " << options_.search_ev.to_ev << " eV) holds " << (end - std::min(end, search_first_))
      << " point(s) of the energy grid";
    if (!e.empty()) m << " (" << e.front() << "-" << e.back() << " eV)";
    m << "; at least 3 are needed";
    throw InputError(m.str());
  }
  search_last_ = end - 1;
  min_slope_per_ev_ = 1.0 / (hi - lo);

  for (std::size_t i = search_first_; i <= search_last_; ++i) {
    const auto ii = static_cast<std::ptrdiff_t>(i);
    // Derivative: slope of a quadratic (a line below 4 points), at least 2 neighbours each side.
    IndexRange r = window(e, e[i], options_.smoothing_half_window_ev, ii - 2, ii + 2);
    std::size_t count = r.last - r.first + 1;
    Eigen::MatrixXd w = polynomial_weights(e, e[i], r, count >= 4 ? 2 : 1);
    slope_stencils_.push_back({r.first, count, weights_.size()});
    for (Eigen::Index j = 0; j < w.cols(); ++j) weights_.push_back(w(1, j));
    // White line: a quadratic, at least 2 neighbours each side (a line at a 2-point grid end).
    r = window(e, e[i], options_.white_line_half_window_ev, ii - 2, ii + 2);
    count = r.last - r.first + 1;
    w = polynomial_weights(e, e[i], r, count >= 3 ? 2 : 1);
    white_line_stencils_.push_back({r.first, count, weights_.size()});
    for (Eigen::Index k = 0; k < 3; ++k)
      for (Eigen::Index j = 0; j < w.cols(); ++j) weights_.push_back(k < w.rows() ? w(k, j) : 0.0);
  }
  // Groups of four consecutive slope stencils that can be evaluated together (see
  // kernels::four_slopes): one size, windows starting at consecutive grid points.
  for (std::size_t p = 0; p + 4 <= slope_stencils_.size(); p += 4) {
    const Stencil* st = slope_stencils_.data() + p;
    bool together = true;
    for (std::size_t q = 1; q < 4; ++q)
      together = together && st[q].count == st[0].count && st[q].first == st[0].first + q;
    if (!together) {
      slope_groups_.push_back(npos);
      continue;
    }
    slope_groups_.push_back(group_weights_.size());
    for (std::size_t j = 0; j < st[0].count; ++j)
      for (std::size_t q = 0; q < 4; ++q) group_weights_.push_back(weights_[st[q].offset + j]);
  }
}

double EdgeEnergyFinder::apply(const Stencil& s, std::size_t row, std::span<const double> y) const {
  const double* w = weights_.data() + s.offset + row * s.count;
  double sum = 0.0;
  for (std::size_t j = 0; j < s.count; ++j) sum += w[j] * y[s.first + j];
  return sum;
}

double EdgeEnergyFinder::slope(std::size_t i, std::span<const double> y) const {
  return apply(slope_stencils_[i - search_first_], 0, y);
}

void EdgeEnergyFinder::check_length(std::span<const double> y) const {
  if (y.size() != energy_ev_.size())
    throw InputError("edge energy: the spectrum has " + std::to_string(y.size()) +
                     " values but the energy grid has " + std::to_string(energy_ev_.size()));
}

std::size_t EdgeEnergyFinder::max_slope_index(std::span<const double> y) const {
  check_length(y);
  std::size_t best = npos;
  double best_slope = -INFINITY;
  auto take = [&](std::size_t i, double d) {
    if (d > best_slope) best_slope = d, best = i;
  };
  // All slopes first, then the scan: the dot products do not wait for one another, and groups
  // of four stencils run as one vector sum (the same value for each slope as apply()).
  constexpr std::size_t kLocal = 256;
  const std::size_t points = search_last_ - search_first_ + 1;
  if (points > kLocal) {
    for (std::size_t i = search_first_; i <= search_last_; ++i) {
      const double d = slope(i, y);
      if (!std::isfinite(d)) return npos;
      take(i, d);
    }
  } else {
    double slopes[kLocal];
    std::size_t p = 0;
    for (const std::size_t offset : slope_groups_) {
      if (offset != npos) {
        const Stencil& st = slope_stencils_[p];
        kernels::four_slopes(group_weights_.data() + offset, y.data() + st.first, st.count,
                             slopes + p);
      } else {
        for (std::size_t q = 0; q < 4; ++q) slopes[p + q] = apply(slope_stencils_[p + q], 0, y);
      }
      p += 4;
    }
    for (; p < points; ++p) slopes[p] = apply(slope_stencils_[p], 0, y);
    // The scan without a branch per point: every slope finite, their maximum (in four
    // independent lanes: max is exact, so the grouping does not matter), then its first index
    // (what the "larger than the best so far" scan keeps).
    bool finite = true;
    double lane[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    for (p = 0; p < points; ++p) {
      const double d = slopes[p];
      finite = finite && std::isfinite(d);
      lane[p & 3] = d > lane[p & 3] ? d : lane[p & 3];
    }
    if (!finite) return npos;
    best_slope = std::max(std::max(lane[0], lane[1]), std::max(lane[2], lane[3]));
    for (p = 0; slopes[p] != best_slope; ++p) {
    }
    best = search_first_ + p;
  }
  if (best_slope < min_slope_per_ev_ || best == search_first_ || best == search_last_) return npos;
  return best;
}

double EdgeEnergyFinder::derivative_max(std::span<const double> y) const {
  const std::size_t k = max_slope_index(y);
  if (k == npos) return not_found;
  const auto& e = energy_ev_;
  return parabola_vertex(e[k - 1], slope(k - 1, y), e[k], slope(k, y), e[k + 1], slope(k + 1, y));
}

double EdgeEnergyFinder::half_height(std::span<const double> y) const {
  std::size_t m = max_slope_index(y);  // then m, m + 1 bracket the crossing: y[m] < 0.5 <= y[m+1]
  if (m == npos) return not_found;
  if (y[m] >= 0.5) {
    while (y[m] >= 0.5)
      if (m-- == search_first_) return not_found;
  } else {
    while (!(y[m + 1] >= 0.5))
      if (++m == search_last_) return not_found;
  }
  if (!(y[m] < 0.5)) return not_found;  // a NaN stopped the walk
  const auto& e = energy_ev_;
  const double e_lin = e[m] + (0.5 - y[m]) * (e[m + 1] - e[m]) / (y[m + 1] - y[m]);

  // Quadratic in u = (E - e_lin) / h by least squares (normal equations, 3x3) over the points
  // within +-h, grown point by point (the nearer neighbour first) to at least 5.
  const auto mm = static_cast<std::ptrdiff_t>(m);
  const double h = options_.smoothing_half_window_ev;
  IndexRange r = window(e, e_lin, h, mm, mm + 1);
  while (r.last - r.first + 1 < 5 && (r.first > 0 || r.last + 1 < e.size())) {
    const bool down =
        r.last + 1 >= e.size() || (r.first > 0 && e_lin - e[r.first - 1] < e[r.last + 1] - e_lin);
    down ? --r.first : ++r.last;
  }
  double s[5] = {0, 0, 0, 0, 0}, t[3] = {0, 0, 0};
  for (std::size_t j = r.first; j <= r.last; ++j) {
    const double u = (e[j] - e_lin) / h;
    double p = 1.0;
    for (int k = 0; k < 5; ++k, p *= u) {
      s[k] += p;
      if (k < 3) t[k] += p * y[j];
    }
  }
  double c0 = 0.0, c1 = 0.0, c2 = 0.0;
  if (r.last - r.first >= 2) {
    const double n[9] = {s[0], s[1], s[2], s[1], s[2], s[3], s[2], s[3], s[4]};
    solve_3x3(n, t, &c0, &c1, &c2);
  } else {  // two points: the line through them
    const double det = s[0] * s[2] - s[1] * s[1];
    c0 = (t[0] * s[2] - s[1] * t[1]) / det;
    c1 = (s[0] * t[1] - s[1] * t[0]) / det;
  }
  if (!(std::isfinite(c0) && std::isfinite(c1) && std::isfinite(c2))) return not_found;
  // Root of c2 u^2 + c1 u + (c0 - 0.5) nearest u = 0 (the stable form of the quadratic formula).
  const double a0 = c0 - 0.5;
  const double disc = c1 * c1 - 4.0 * c2 * a0;
  if (!(c1 > 0.0) || disc < 0.0) return e_lin;
  const double u = -2.0 * a0 / (c1 + std::sqrt(disc));
  const double e_fit = e_lin + u * h;
  const bool rising = c1 + 2.0 * c2 * u > 0.0;
  return rising && e_fit >= e[r.first] && e_fit <= e[r.last] ? e_fit : e_lin;
}

double EdgeEnergyFinder::white_line(std::span<const double> y) const {
  const std::size_t k = max_slope_index(y);
  if (k == npos) return not_found;
  std::size_t w = k;
  for (std::size_t i = k; i <= search_last_; ++i) {
    if (!std::isfinite(y[i])) return not_found;
    if (y[i] > y[w]) w = i;
  }
  if (w == search_last_) return not_found;  // still rising at the end of the range
  const Stencil& s = white_line_stencils_[w - search_first_];
  const double c1 = apply(s, 1, y), c2 = apply(s, 2, y);
  const auto& e = energy_ev_;
  if (!(c2 < 0.0)) return e[w];
  const double vertex_ev = e[w] - c1 / (2.0 * c2);
  return vertex_ev >= e[s.first] && vertex_ev <= e[s.first + s.count - 1] ? vertex_ev : e[w];
}

double EdgeEnergyFinder::find(EdgeDefinition definition, std::span<const double> y) const {
  switch (definition) {
    case EdgeDefinition::half_height:
      return half_height(y);
    case EdgeDefinition::derivative_max:
      return derivative_max(y);
    case EdgeDefinition::white_line:
      return white_line(y);
  }
  return not_found;
}

}  // namespace xanesmap
