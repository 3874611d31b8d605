#include "core/spectral/detail/reference_alignment.hpp"

#include <tbb/blocked_range.h>
#include <tbb/combinable.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "core/base/error.hpp"

namespace xanesmap::detail {

std::vector<double> masked_mean_od(const EnergyStack& od, ImageView<const std::uint8_t> od_flags,
                                   std::size_t grid_first, std::size_t grid_points,
                                   const SpectrumNormalizer& normalizer, double min_edge_jump_od,
                                   double min_jump_to_noise, std::size_t& pixels) {
  const std::size_t h = od.height(), w = od.width(), n = grid_points;
  tbb::combinable<std::pair<std::vector<double>, std::size_t>> sums([n] {
    return std::pair{std::vector<double>(n, 0.0), std::size_t{0}};
  });
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h), [&](const auto& rows) {
    std::vector<double> mu(n), norm(n);
    auto& local = sums.local();
    for (std::size_t r = rows.begin(); r != rows.end(); ++r)
      for (std::size_t c = 0; c < w; ++c) {
        if (od_flags(r, c)) continue;
        for (std::size_t i = 0; i < n; ++i) mu[i] = od.frame(grid_first + i)(r, c);
        const auto res = normalizer(mu, norm);
        if (!(res.edge_step >= min_edge_jump_od &&
              res.edge_step >= min_jump_to_noise * res.edge_step_sigma && res.edge_step > 0))
          continue;
        for (std::size_t i = 0; i < n; ++i) local.first[i] += mu[i];
        ++local.second;
      }
  });
  std::vector<double> total(n, 0.0);
  std::size_t count = 0;
  sums.combine_each([&](const auto& s) {
    for (std::size_t i = 0; i < n; ++i) total[i] += s.first[i];
    count += s.second;
  });
  for (double& v : total) v /= static_cast<double>(std::max<std::size_t>(count, 1));
  pixels = count;
  return total;
}

ReferenceOffset fit_reference_offset(
    double range_ev, const std::function<std::optional<double>(double)>& rfactor_at) {
  // Scan the offset in 0.1 eV steps, then refine with a parabola through the best three.
  std::vector<std::pair<double, double>> scan;
  for (double d = -range_ev; d <= range_ev + 1e-9; d += 0.1)
    if (const auto rfactor = rfactor_at(d)) scan.emplace_back(d, *rfactor);
  if (scan.empty()) {
    std::ostringstream m;
    m.precision(7);
    m << "no reference energy offset within +-" << range_ev
      << " eV keeps the references covering the stack's energies";
    throw InputError(m.str());
  }
  const auto best = std::min_element(
      scan.begin(), scan.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  ReferenceOffset out{best->first, best != scan.begin() && best + 1 != scan.end()};
  // Parabola through the best three only when they are consecutive 0.1 eV steps (offsets
  // whose fit failed are missing from the scan).
  if (out.interior && std::abs((best + 1)->first - (best - 1)->first - 0.2) < 1e-6) {
    const double r0 = (best - 1)->second, r1 = best->second, r2 = (best + 1)->second;
    const double curvature = r0 - 2 * r1 + r2;
    if (curvature > 0) out.offset_ev += 0.1 * 0.5 * (r0 - r2) / curvature;
  }
  return out;
}

}  // namespace xanesmap::detail
