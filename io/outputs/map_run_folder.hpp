// Reading back a folder written by `xanesmap map` (for `xanesmap compare`), and checking that
// two runs were made the same way.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/base/image.hpp"

namespace xanesmap {

struct MapRunFolder {
  std::filesystem::path folder;
  nlohmann::json summary;       // summary.json
  Image<float> valence;         // valence.tif
  Image<std::uint8_t> regions;  // regions.tif
  Image<std::uint16_t> labels;  // labels.tif
  Image<float> edge_jump_od;    // edge_jump.tif
  double pixel_size_nm = 0.0;   // from summary.json input.pixel_size_nm
};

/// Throws InputError naming the folder and the file when the folder is missing, is not a map
/// output (no summary.json), or a file is missing, unreadable or of another size than valence.tif.
MapRunFolder read_map_run_folder(const std::filesystem::path& folder);

/// How run `b` was made differently from run `a`: one line per difference in the valence method,
/// the edge definition, the LCF constraint, the normalization (post-edge order, flattening) or
/// the references (names, valences, energy shifts, file contents by SHA-256). Empty when they
/// agree.
std::vector<std::string> run_differences(const MapRunFolder& a, const MapRunFolder& b);

}  // namespace xanesmap
