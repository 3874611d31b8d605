// Writers for simulated scans: the FXI-layout HDF5 a beamline would write, the TIFF variant
// (multi-page raw, flat and dark TIFFs plus energies.txt) and the ground-truth HDF5.
// Layouts are documented in docs/file-formats.md.
#pragma once

#include <filesystem>
#include <string>

#include "core/simulation/simulator.hpp"

namespace xanesmap {

/// /img_xanes, /img_bkg (n, H, W) and /img_dark (m, H, W) as uint16, /X_eng in keV (float64),
/// /pixel_size_nm (scalar), and a /provenance string.
void write_fxi_hdf5(const std::filesystem::path& file, const sim::SimulatedScan& scan,
                    const std::string& provenance);

/// folder/raw.tif, flat.tif (one page per energy), dark.tif (uint16 multi-page, pixel size in
/// the ImageJ tags) and energies.txt (eV, one per line).
void write_tiff_variant(const std::filesystem::path& folder, const sim::SimulatedScan& scan);

/// Every map of the truth under /truth/..., energies, true shifts, the references on the grid
/// and the particle table (docs/file-formats.md).
void write_truth_hdf5(const std::filesystem::path& file, const sim::SimulatedScan& scan,
                      const sim::SimulationTruth& truth, const std::string& provenance);

}  // namespace xanesmap
