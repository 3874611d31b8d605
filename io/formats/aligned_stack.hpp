// The aligned optical-density stack that `xanesmap align` writes: one HDF5 file.
//
// Layout (all datasets at the root unless named otherwise):
//   /od             float32 [frames][rows][cols]: OD with the frames aligned (NaN: no value);
//                   attribute "content". Frames excluded (--unregistered exclude) are not in it.
//   /energies_ev    float64 [frames]: the frames in /od
//   /flags          uint8 [rows][cols]: the OD flags (core/stack/optical_density.hpp), bits named
//                   in the attribute "bits"
//   /shifts/...     the registration (io/outputs/map_outputs.hpp, write_registration_h5), one
//                   entry per input frame, with /shifts/energies_ev and /shifts/excluded
//   /pixel_size_nm  float64 [1], only when the input file gave one
//   /provenance/command_line, version, git_commit, config_toml   strings
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/pipeline.hpp"

namespace xanesmap {

struct AlignedStackProvenance {
  std::string command_line, version, git_commit, config_toml;
};

/// Writes `aligned` to `path` (created; an existing file is an error of HDF5's, so callers write
/// to a staging name first). Throws OutputError naming the file when it cannot be written.
void write_aligned_stack(const std::filesystem::path& path, const AlignedOpticalDensity& aligned,
                         std::optional<double> pixel_size_nm,
                         const AlignedStackProvenance& provenance);

}  // namespace xanesmap
