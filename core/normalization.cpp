#include "core/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <Eigen/Dense>

#include "core/error.hpp"

namespace xanesmap {

void NormalizationOptions::validate() const {
  auto check_window = [](const EnergyWindow& w, const char* name) {
    if (!(std::isfinite(w.from_ev) && std::isfinite(w.to_ev) && w.from_ev < w.to_ev))
      throw OptionError(name, "the window must run from a lower to a higher energy");
  };
  check_window(pre_edge_ev, "pre-edge window");
  check_window(post_edge_ev, "post-edge window");
  if (pre_edge_ev.to_ev > post_edge_ev.from_ev)
    throw OptionError("pre-edge window", "must end before the post-edge window starts");
  if (post_edge_order != 1 && post_edge_order != 2)
    throw OptionError("post-edge order", "must be 1 or 2, not " + std::to_string(post_edge_order));
  if (e0_ev && !std::isfinite(*e0_ev)) throw OptionError("e0", "must be a finite energy");
  if (!(derivative_half_window_ev > 0.0))
    throw OptionError("derivative half window", "must be a positive energy");
}

namespace {
// Least-squares polynomial in (E - e0) through the points with E in [lo, hi].
std::vector<double> fit_polynomial(std::span<const double> e, std::span<const double> mu, double e0,
                                   double lo, double hi, int order, std::size_t* points) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e[i] >= lo && e[i] <= hi) idx.push_back(i);
  *points = idx.size();
  if (idx.size() < static_cast<std::size_t>(order) + 1) return {};
  // Scale the abscissa to ~1 so the quadratic term stays well conditioned.
  constexpr double scale_ev = 100.0;
  Eigen::MatrixXd a(static_cast<Eigen::Index>(idx.size()), order + 1);
  Eigen::VectorXd b(static_cast<Eigen::Index>(idx.size()));
  for (std::size_t r = 0; r < idx.size(); ++r) {
    const double x = (e[idx[r]] - e0) / scale_ev;
    double p = 1.0;
    for (int k = 0; k <= order; ++k, p *= x) a(static_cast<Eigen::Index>(r), k) = p;
    b(static_cast<Eigen::Index>(r)) = mu[idx[r]];
  }
  const Eigen::VectorXd c = a.colPivHouseholderQr().solve(b);
  std::vector<double> coeffs(static_cast<std::size_t>(order) + 1);
  for (int k = 0; k <= order; ++k) coeffs[static_cast<std::size_t>(k)] = c(k) / std::pow(scale_ev, k);
  return coeffs;
}

double evaluate(const std::vector<double>& c, double x) {
  double v = 0.0;
  for (std::size_t k = c.size(); k-- > 0;) v = v * x + c[k];
  return v;
}

std::string window_text(double lo, double hi) {
  std::ostringstream s;
  s.precision(7);
  s << lo << "-" << hi << " eV";
  return s.str();
}
}  // namespace

double find_e0_max_derivative(std::span<const double> e, std::span<const double> mu,
                              double half_window_ev) {
  const std::size_t n = e.size();
  if (n < 3 || mu.size() != n) throw InputError("at least 3 points are needed to find an edge");
  std::vector<double> slope(n, -INFINITY);
  std::size_t lo = 0, hi = 0;
  for (std::size_t i = 0; i < n; ++i) {
    while (e[lo] < e[i] - half_window_ev) ++lo;
    while (hi + 1 < n && e[hi + 1] <= e[i] + half_window_ev) ++hi;
    std::size_t a = lo, b = hi;
    // At least the two neighbours, so a sparse grid still gets a slope.
    if (b - a < 2) {
      a = i > 0 ? i - 1 : 0;
      b = std::min(n - 1, a + 2);
    }
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    const double m = static_cast<double>(b - a + 1);
    for (std::size_t j = a; j <= b; ++j) {
      const double x = e[j] - e[i];
      sx += x, sy += mu[j], sxx += x * x, sxy += x * mu[j];
    }
    const double den = m * sxx - sx * sx;
    if (den > 0) slope[i] = (m * sxy - sx * sy) / den;
  }
  const std::size_t best =
      static_cast<std::size_t>(std::max_element(slope.begin(), slope.end()) - slope.begin());
  if (best == 0 || best + 1 >= n) return e[best];
  // Vertex of the parabola through (e, slope) at best-1, best, best+1 (non-uniform spacing).
  const double x0 = e[best - 1], x1 = e[best], x2 = e[best + 1];
  const double y0 = slope[best - 1], y1 = slope[best], y2 = slope[best + 1];
  const double d1 = (y1 - y0) / (x1 - x0), d2 = (y2 - y1) / (x2 - x1);
  const double curvature = (d2 - d1) / (x2 - x0);
  if (!(curvature < 0) || !std::isfinite(y0) || !std::isfinite(y2)) return x1;
  const double vertex = 0.5 * (x0 + x1) - d1 / (2.0 * curvature);
  return std::clamp(vertex, x0, x2);
}

NormalizedSpectrum normalize_spectrum(std::span<const double> e, std::span<const double> mu,
                                      const NormalizationOptions& options) {
  options.validate();
  if (e.size() != mu.size()) throw InputError("energies and values differ in length");
  NormalizedSpectrum out;
  out.e0_ev = options.e0_ev ? *options.e0_ev
                            : find_e0_max_derivative(e, mu, options.derivative_half_window_ev);
  const double e0 = out.e0_ev;

  double pre_lo = e0 + options.pre_edge_ev.from_ev, pre_hi = e0 + options.pre_edge_ev.to_ev;
  double post_lo = e0 + options.post_edge_ev.from_ev, post_hi = e0 + options.post_edge_ev.to_ev;
  out.clipped_pre = pre_lo < e.front() || pre_hi > e.back();
  out.clipped_post = post_lo < e.front() || post_hi > e.back();
  pre_lo = std::max(pre_lo, e.front()), pre_hi = std::min(pre_hi, e.back());
  post_lo = std::max(post_lo, e.front()), post_hi = std::min(post_hi, e.back());
  out.pre_edge_used_ev = {pre_lo - e0, pre_hi - e0};
  out.post_edge_used_ev = {post_lo - e0, post_hi - e0};

  // Too few points: name the window as asked for, relative to e0, and the data's range.
  auto too_few = [&](const char* which, const EnergyWindow& w, std::size_t points, int needed) {
    std::ostringstream m;
    m.precision(7);
    m << which << " window " << window_text(e0 + w.from_ev, e0 + w.to_ev) << " (e0 " << w.from_ev
      << " to " << w.to_ev << " eV) holds " << points << " point(s) of the data ("
      << window_text(e.front(), e.back()) << "); its fit needs " << needed;
    return InputError(m.str());
  };
  std::size_t points = 0;
  const auto pre = fit_polynomial(e, mu, e0, pre_lo, pre_hi, 1, &points);
  if (pre.empty()) throw too_few("pre-edge", options.pre_edge_ev, points, 2);
  out.post_coefficients = fit_polynomial(e, mu, e0, post_lo, post_hi, options.post_edge_order,
                                         &points);
  if (out.post_coefficients.empty())
    throw too_few("post-edge", options.post_edge_ev, points, options.post_edge_order + 1);
  out.pre_intercept = pre[0];
  out.pre_slope = pre[1];
  out.edge_step = evaluate(out.post_coefficients, 0.0) - out.pre_intercept;
  if (!(out.edge_step > 0.0)) {
    std::ostringstream m;
    m << "no absorption edge: the edge step at e0 = " << e0 << " eV is " << out.edge_step;
    throw InputError(m.str());
  }
  out.normalized.resize(e.size());
  out.flattened.resize(e.size());
  for (std::size_t i = 0; i < e.size(); ++i) {
    const double x = e[i] - e0;
    const double pre_line = out.pre_intercept + out.pre_slope * x;
    out.normalized[i] = (mu[i] - pre_line) / out.edge_step;
    const double background = (evaluate(out.post_coefficients, x) - pre_line) / out.edge_step - 1.0;
    out.flattened[i] = x >= 0.0 ? out.normalized[i] - background : out.normalized[i];
  }
  return out;
}

}  // namespace xanesmap
