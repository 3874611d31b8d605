// The reference manifest: a TOML file listing Mn standards (see examples/mn-k/references.toml).
//
//   [[reference]]
//   name = "MnO"             # unique; letters, digits and _ . + - (it names output files)
//   file = "MnO.txt"         # relative to the manifest's folder, or absolute
//   valence = 2.0            # formal Mn oxidation state
//   energy_shift_ev = 0.0    # optional, added to the file's energies
//
// Errors are InputError naming the manifest and the entry.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/base/spectrum.hpp"

namespace xanesmap {

struct ReferenceEntry {
  std::string name;
  std::filesystem::path file;  // resolved against the manifest's folder
  double valence = 0.0;
  double energy_shift_ev = 0.0;
};

struct ReferenceManifest {
  std::filesystem::path file;
  std::vector<ReferenceEntry> references;
};

ReferenceManifest read_reference_manifest(const std::filesystem::path& file);

struct LoadedReference {
  ReferenceEntry entry;
  Spectrum spectrum;  // energies shifted by entry.energy_shift_ev
};

/// Reads every reference file of the manifest (io/formats/text_tables.hpp formats).
std::vector<LoadedReference> load_references(const ReferenceManifest& manifest);

}  // namespace xanesmap
