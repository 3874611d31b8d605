// Test support: simulated stacks as in-memory RawStacks, and the shipped references.
#pragma once

#include <vector>

#include "core/simulation/simulator.hpp"
#include "core/spectral/valence_map.hpp"
#include "core/stack/raw_stack.hpp"

namespace xanesmap::test {

/// The manifest in examples/mn-k (MnO, Mn2O3, MnO2).
std::vector<sim::SimulationReference> simulation_references();
std::vector<ReferenceSpectrum> map_references();

/// The scan's uint16 counts as a RawStack (float counts, per-energy uint16 flats as recorded,
/// averaged darks, 65535 saturation), as sim::to_raw_stack gives but without consuming the scan.
RawStack raw_from(const sim::SimulatedScan& scan);

/// 1 where every pixel within `radius_px` (a square) lies inside the mask.
Image<std::uint8_t> erode(const Image<std::uint8_t>& mask, int radius_px);

}  // namespace xanesmap::test
