// Energy lists as files give them: unit detection, and a description of the grid
// (coarse/fine regions, duplicates, order) for `xanesmap info`.
//
// Nothing here throws for a suspicious grid: the report lists what is wrong, so that `info`
// can show it. EnergyStack is the place that refuses such grids.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace xanesmap {

enum class EnergyUnit { ev, kev };

struct EnergyUnitDecision {
  EnergyUnit unit = EnergyUnit::ev;
  std::string reason;  // one sentence for `info`, e.g. "values 6.45-6.70 are below 200: keV"
};

/// Decides whether `values` are keV or eV by magnitude. Hard X-ray edges lie between ~1 and
/// ~120 keV, so values all within [0.1, 200) are keV and values all within [200, 200000] eV.
/// Throws InputError (without a file name; the caller adds it) when the values fit neither,
/// are empty, or are not finite.
EnergyUnitDecision detect_energy_unit(std::span<const double> values);

/// Values in eV: multiplied by 1000 when `unit` is keV.
std::vector<double> to_electronvolts(std::span<const double> values, EnergyUnit unit);

/// A run of consecutive points with about the same step.
struct EnergyGridRegion {
  double start_ev = 0.0;
  double end_ev = 0.0;
  std::size_t points = 0;
  double step_ev = 0.0;  // median step inside the region (0 for a one-point region)
};

struct EnergyGridReport {
  std::size_t count = 0;
  double min_ev = 0.0;
  double max_ev = 0.0;
  std::vector<EnergyGridRegion> regions;        // empty unless strictly increasing
  std::vector<std::size_t> duplicate_indices;   // i where e[i] == e[i-1]
  std::vector<std::size_t> decreasing_indices;  // i where e[i] < e[i-1]
  std::vector<std::size_t> non_finite_indices;  // NaN or Inf
  bool strictly_increasing() const {
    return duplicate_indices.empty() && decreasing_indices.empty() && non_finite_indices.empty();
  }
};

/// Groups consecutive steps whose sizes differ by less than 25 % (or 0.05 eV) into regions.
EnergyGridReport describe_energy_grid(std::span<const double> energies_ev);

}  // namespace xanesmap
