#include "core/spectral/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/base/error.hpp"
#include "core/spectral/spectrum_normalizer.hpp"

namespace xanesmap {

void NormalizationOptions::validate() const {
  auto check_window = [](const RelativeWindow& w, const char* name) {
    if (!(std::isfinite(w.from_ev) && std::isfinite(w.to_ev) && w.from_ev < w.to_ev))
      throw OptionError(name, "the window must run from a lower to a higher energy");
  };
  check_window(pre_edge_ev, "pre-edge");
  check_window(post_edge_ev, "post-edge");
  if (pre_edge_ev.to_ev > post_edge_ev.from_ev)
    throw OptionError("pre-edge", "must end before the post-edge window starts");
  if (post_edge_order != 1 && post_edge_order != 2)
    throw OptionError("post-order", "must be 1 or 2, not " + std::to_string(post_edge_order));
  if (!(derivative_half_window_ev > 0.0))
    throw OptionError("derivative_half_window_ev", "must be a positive energy");
}

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
                                      const NormalizationOptions& options,
                                      std::optional<double> e0_ev) {
  options.validate();
  if (e0_ev && !std::isfinite(*e0_ev)) throw OptionError("e0", "must be a finite energy");
  if (e.size() != mu.size()) throw InputError("energies and values differ in length");
  NormalizedSpectrum out;
  out.e0_ev = e0_ev ? *e0_ev : find_e0_max_derivative(e, mu, options.derivative_half_window_ev);
  // The routine of every pixel (core/spectral/spectrum_normalizer.hpp) around this e0, once
  // without and once with flattening: the same fit, two ways of applying it.
  NormalizationOptions plain = options, flat = options;
  plain.flatten = false;
  flat.flatten = true;
  const SpectrumNormalizer normalizer(e, out.e0_ev, plain);
  const SpectrumNormalizer flattener(e, out.e0_ev, flat);
  const SpectrumNormalizer::Fit fit = normalizer.fit(mu);
  out.edge_step = fit.result.edge_step;
  if (!(out.edge_step > 0.0)) {
    std::ostringstream m;
    m << "no absorption edge: the edge step at e0 = " << out.e0_ev << " eV is " << out.edge_step;
    throw InputError(m.str());
  }
  out.pre_intercept = fit.pre_intercept;
  out.pre_slope = fit.pre_slope;
  out.post_coefficients.assign(fit.post.begin(), fit.post.begin() + options.post_edge_order + 1);
  out.pre_edge_used_ev = normalizer.pre_edge_used_ev().relative_to(out.e0_ev);
  out.post_edge_used_ev = normalizer.post_edge_used_ev().relative_to(out.e0_ev);
  out.clipped_pre = normalizer.clipped_pre();
  out.clipped_post = normalizer.clipped_post();
  out.normalized.resize(e.size());
  normalizer.apply(fit, mu, out.normalized);
  out.flattened.resize(e.size());
  flattener.apply(fit, mu, out.flattened);
  return out;
}

}  // namespace xanesmap
