#include "core/base/spectrum.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/base/energy_stack.hpp"
#include "core/base/error.hpp"

namespace xanesmap {

void Spectrum::validate() const {
  const std::string who = "spectrum '" + name + "'";
  if (energy_ev.size() != mu.size())
    throw InputError(who + " has " + std::to_string(energy_ev.size()) + " energies but " +
                     std::to_string(mu.size()) + " values");
  if (energy_ev.size() < 2)
    throw InputError(who + " has " + std::to_string(energy_ev.size()) +
                     " point(s); at least 2 are needed");
  try {
    check_energies_strictly_increasing(energy_ev);
  } catch (const Error& e) {
    rethrow_with_context(e, who);
  }
  for (std::size_t i = 0; i < mu.size(); ++i)
    if (!std::isfinite(mu[i]))
      throw InputError(who + ": value " + std::to_string(i) + " is not a finite number");
}

std::vector<double> interpolate(const Spectrum& spectrum, std::span<const double> at_ev) {
  const auto& x = spectrum.energy_ev;
  const auto& y = spectrum.mu;
  std::vector<double> out(at_ev.size());
  for (std::size_t i = 0; i < at_ev.size(); ++i) {
    const double e = at_ev[i];
    if (!(e >= x.front() && e <= x.back())) {
      std::ostringstream m;
      m.precision(8);
      m << "spectrum '" << spectrum.name << "' covers " << x.front() << "-" << x.back()
        << " eV but is needed at " << e << " eV";
      throw InputError(m.str());
    }
    auto hi = std::upper_bound(x.begin(), x.end(), e);
    if (hi == x.end()) {
      out[i] = y.back();
      continue;
    }
    const std::size_t j = static_cast<std::size_t>(hi - x.begin());
    const double t = (e - x[j - 1]) / (x[j] - x[j - 1]);
    out[i] = y[j - 1] + t * (y[j] - y[j - 1]);
  }
  return out;
}

}  // namespace xanesmap
