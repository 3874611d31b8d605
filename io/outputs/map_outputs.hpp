// Everything `xanesmap map` writes into its output folder (docs/map-outputs.md is the contract):
// TIFF maps, calibration.csv, summary.json, results.h5, config.toml and PNG previews.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/base/defaults.hpp"
#include "core/particles/particle_analysis.hpp"
#include "core/pipeline.hpp"
#include "io/formats/reference_manifest.hpp"
#include "io/formats/shifts_table.hpp"
#include "io/formats/stack_reader.hpp"

namespace xanesmap {

struct InputFile {
  std::filesystem::path path;
  std::string sha256;
  std::uintmax_t bytes = 0;
};

/// Path, size and SHA-256 of a file (InputError naming it when it cannot be read).
InputFile describe_input_file(const std::filesystem::path& file);

struct MapRunInfo {
  std::string version;  // program version
  std::string git_commit =
      "unknown";             // commit the program was built from ("-dirty": with local edits)
  std::string command_line;  // as typed
  std::string time_utc;      // when the run started, ISO 8601 in UTC
  std::string config_toml;   // the effective configuration (config.toml; not written when empty)
  StackDescription stack;
  std::vector<InputFile>
      stack_files;  // the stack (one file, or each TIFF of a folder), flat, dark, energies
  double pixel_size_nm = kDefaultPixelSizeNm;
  std::string pixel_size_source;  // "file", "option" or "default (the file does not say)"
  std::filesystem::path manifest;
  std::vector<ReferenceEntry> references;
  std::vector<InputFile> reference_files;
  MapPipelineOptions options;
  ParticleAnalysisOptions particle_options;
};

nlohmann::json map_summary(const MapRunInfo& info, const MapPipelineResult& result,
                           const ParticleAnalysis& particles);

/// shifts.csv rows of a registration. Flagged frames have quality 0; the drift plot marks
/// frames below kFlaggedBelow.
std::vector<ShiftRow> shift_rows(const std::vector<double>& energies_ev,
                                 const RegistrationResult& reg);
inline constexpr double kFlaggedBelow = 0.01;
/// The shifts table's comment naming the frames left out (RegistrationResult::excluded), e.g.
/// "excluded (--unregistered exclude): frame 3 (6540 eV)..."; empty when none was.
std::vector<std::string> excluded_frames_comment(const RegistrationResult& reg,
                                                 const std::vector<double>& energies_ev);

namespace h5 {
class File;
}
/// The shifts of a registration under `group` ("/registration", "/shifts"): dy_px, dx_px,
/// quality, flagged, excluded (one per frame, with the sign convention as an attribute),
/// reference and max_shift_px (the search bound, NaN when the shifts were not estimated).
void write_registration_h5(h5::File& file, const std::string& group, const RegistrationResult& reg);

/// Writes every output into `folder` (which must exist). Throws OutputError naming the file.
void write_map_outputs(const std::filesystem::path& folder, const MapRunInfo& info,
                       const MapPipelineResult& result, const ParticleAnalysis& particles);

}  // namespace xanesmap
