// Sample drift between energies: the sample (not the beam) moves.
//
// The path starts at (0, 0) at the first energy. Each later energy adds a random-walk step
// (normal, 0.3 px per axis), a slow drift in one direction, and now and then (probability 4 %
// per energy) a jump of 1-2.5 px in a random direction, as when a stage settles. The whole
// path is then scaled so that its largest displacement from the start is exactly
// `max_displacement_px` (0: no drift).
//
// Convention (shared with registration): (dy, dx) is the displacement of the frame's content
// relative to the sample coordinates, in px; +dy moves content down (larger row index).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xanesmap::sim {

struct DriftPath {
  std::vector<double> dy_px;
  std::vector<double> dx_px;
};

DriftPath make_drift(std::size_t energies, double max_displacement_px, std::uint64_t seed);

}  // namespace xanesmap::sim
