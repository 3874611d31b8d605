#include "core/base/energy_grid.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/base/error.hpp"

namespace xanesmap {

namespace {
constexpr double kKevUpperBound = 200.0;    // a keV list never reaches 200 keV here
constexpr double kKevLowerBound = 0.1;      // 100 eV: below any hard X-ray edge
constexpr double kEvUpperBound = 200000.0;  // 200 keV written in eV

std::string range_text(double lo, double hi) {
  std::ostringstream s;
  s.precision(8);
  s << lo << "-" << hi;
  return s.str();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}
}  // namespace

EnergyUnitDecision detect_energy_unit(std::span<const double> values) {
  if (values.empty()) throw InputError("the energy list is empty");
  double lo = values[0], hi = values[0];
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      throw InputError("energy " + std::to_string(i) + " is not a finite number");
    lo = std::min(lo, values[i]);
    hi = std::max(hi, values[i]);
  }
  if (lo >= kKevLowerBound && hi < kKevUpperBound)
    return {EnergyUnit::kev, "values " + range_text(lo, hi) + " are below 200, so keV"};
  if (lo >= kKevUpperBound && hi <= kEvUpperBound)
    return {EnergyUnit::ev, "values " + range_text(lo, hi) + " are 200 or more, so eV"};
  throw InputError("energies " + range_text(lo, hi) +
                   " look like neither keV (0.1-200) nor eV (200-200000); give the unit "
                   "explicitly");
}

std::vector<double> to_electronvolts(std::span<const double> values, EnergyUnit unit) {
  std::vector<double> ev(values.begin(), values.end());
  if (unit == EnergyUnit::kev)
    for (double& e : ev) e *= 1000.0;
  return ev;
}

EnergyGridReport describe_energy_grid(std::span<const double> energies_ev) {
  EnergyGridReport report;
  report.count = energies_ev.size();
  if (energies_ev.empty()) return report;
  report.min_ev = report.max_ev = energies_ev[0];
  for (std::size_t i = 0; i < energies_ev.size(); ++i) {
    const double e = energies_ev[i];
    if (!std::isfinite(e)) {
      report.non_finite_indices.push_back(i);
      continue;
    }
    report.min_ev = std::min(report.min_ev, e);
    report.max_ev = std::max(report.max_ev, e);
    if (i == 0 || !std::isfinite(energies_ev[i - 1])) continue;
    if (e == energies_ev[i - 1]) report.duplicate_indices.push_back(i);
    if (e < energies_ev[i - 1]) report.decreasing_indices.push_back(i);
  }
  if (!report.strictly_increasing()) return report;

  // Walk the steps; start a new region when a step differs from the region's first step
  // by more than 25 % (and by more than 0.05 eV, so jitter on fine grids does not split).
  EnergyGridRegion region{energies_ev[0], energies_ev[0], 1, 0.0};
  std::vector<double> steps;
  auto close_region = [&] {
    region.step_ev = median(steps);
    report.regions.push_back(region);
  };
  for (std::size_t i = 1; i < energies_ev.size(); ++i) {
    const double step = energies_ev[i] - energies_ev[i - 1];
    if (!steps.empty()) {
      const double ref = steps.front();
      if (std::abs(step - ref) > std::max(0.25 * ref, 0.05)) {
        close_region();
        region = EnergyGridRegion{energies_ev[i], energies_ev[i], 1, 0.0};
        steps.clear();
        continue;
      }
    }
    steps.push_back(step);
    region.end_ev = energies_ev[i];
    ++region.points;
  }
  close_region();
  return report;
}

}  // namespace xanesmap
