// A 1-D spectrum mu(E) on a strictly increasing energy grid, and linear interpolation onto
// another grid. Interpolation never extrapolates: energies outside the spectrum's range are an
// error, because a reference that does not cover the stack cannot describe it.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace xanesmap {

struct Spectrum {
  std::string name;
  std::vector<double> energy_ev;  // strictly increasing
  std::vector<double> mu;         // same length
  /// Throws InputError naming the spectrum when lengths differ, there are fewer than 2 points,
  /// or the energies are not finite and strictly increasing.
  void validate() const;
};

/// mu linearly interpolated at `at_ev`. Throws InputError naming the spectrum and the first
/// energy outside [energy_ev.front(), energy_ev.back()].
std::vector<double> interpolate(const Spectrum& spectrum, std::span<const double> at_ev);

}  // namespace xanesmap
