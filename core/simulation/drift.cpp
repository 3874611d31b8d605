#include "core/simulation/drift.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/base/random.hpp"

namespace xanesmap::sim {

DriftPath make_drift(std::size_t energies, double max_displacement_px, std::uint64_t seed) {
  DriftPath path{std::vector<double>(energies, 0.0), std::vector<double>(energies, 0.0)};
  if (energies == 0 || max_displacement_px <= 0.0) return path;
  Random rng{seed, 0xD21F7ull};
  constexpr double walk_sigma_px = 0.3;
  constexpr double jump_probability = 0.04;
  const double drift_angle = rng.uniform(0.0, 2.0 * std::numbers::pi);
  const double drift_per_step = rng.uniform(0.05, 0.15);
  double y = 0.0, x = 0.0, largest = 0.0;
  for (std::size_t i = 1; i < energies; ++i) {
    y += rng.normal(0.0, walk_sigma_px) + drift_per_step * std::sin(drift_angle);
    x += rng.normal(0.0, walk_sigma_px) + drift_per_step * std::cos(drift_angle);
    if (rng.uniform() < jump_probability) {
      const double size = rng.uniform(1.0, 2.5), angle = rng.uniform(0.0, 2.0 * std::numbers::pi);
      y += size * std::sin(angle);
      x += size * std::cos(angle);
    }
    path.dy_px[i] = y;
    path.dx_px[i] = x;
    largest = std::max(largest, std::hypot(y, x));
  }
  if (largest > 0.0) {
    const double scale = max_displacement_px / largest;
    for (std::size_t i = 0; i < energies; ++i) path.dy_px[i] *= scale, path.dx_px[i] *= scale;
  }
  return path;
}

}  // namespace xanesmap::sim
