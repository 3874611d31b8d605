// Reading energy stacks as beamlines write them.
//
// Layouts:
// - FXI HDF5 (NSLS-II 18-ID): /img_xanes (n, H, W) raw counts, /img_bkg (n or m, H, W) flats,
//   /img_dark (m, H, W) darks, /X_eng (n) energies in keV (eV accepted: decided by magnitude),
//   optional /pixel_size_nm (scalar). Dataset paths can be changed for other beamlines.
// - Multi-page TIFF: one page per energy; or a folder of single-page TIFFs in natural name
//   order. Energies from a text file (io/formats/text_tables.hpp). Flat and dark as TIFF: single
//   page (used for every energy) or multi-page (one per energy, or averaged).
//
// Flats: with as many flat frames as energies they are used one per energy (FlatMode::automatic);
// otherwise they are averaged. Darks are always averaged.
// Memory (load_raw_stack): the images become the float32 counts. Flats and darks are read frame
// by frame into their own images (never the whole array and a split copy at once). uint16 flats
// used per energy, or a single uint16 flat, stay uint16 (2 bytes per value, as recorded);
// averaged flats and every other type are float32. The dark is float32.
// Every error is an InputError naming the file (and dataset) and what is wrong.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/energy_grid.hpp"
#include "core/base/progress.hpp"
#include "core/base/sample_type.hpp"
#include "core/stack/raw_stack.hpp"

namespace xanesmap {

enum class StackLayout { fxi_hdf5, tiff_multipage, tiff_folder };
std::string to_string(StackLayout layout);

enum class EnergyUnitChoice { automatic, ev, kev };
enum class FlatMode { automatic, per_energy, average };

struct FxiDatasetPaths {
  std::string images = "/img_xanes";
  std::string flats = "/img_bkg";
  std::string darks = "/img_dark";
  std::string energies = "/X_eng";
  std::string pixel_size_nm = "/pixel_size_nm";
};

struct StackSource {
  std::filesystem::path stack;     // HDF5 file, multi-page TIFF, or folder of TIFFs
  std::filesystem::path energies;  // energy list (TIFF input)
  std::filesystem::path flat;      // flat field TIFF (TIFF input)
  std::filesystem::path dark;      // dark field TIFF (TIFF input), optional
  FxiDatasetPaths datasets;        // HDF5 dataset paths
  EnergyUnitChoice energy_unit = EnergyUnitChoice::automatic;
  FlatMode flat_mode = FlatMode::automatic;
};

/// What the files hold, read from headers and the energy list only. Suspicious energies are
/// described, not refused (describe_energy_grid), so that `info` can show them.
struct StackDescription {
  StackLayout layout = StackLayout::fxi_hdf5;
  std::vector<std::filesystem::path> image_files;  // one, or the folder's TIFFs
  std::size_t frames = 0, height = 0, width = 0;
  SampleType sample_type = SampleType::float32;
  std::vector<double> energies_as_read;  // in the file's unit
  std::vector<double> energies_ev;
  EnergyUnitDecision energy_unit;
  std::string energy_source;    // "'/x.h5' dataset '/X_eng'" or "energy list '/e.txt'"
  std::size_t flat_frames = 0;  // 0: none found
  SampleType flat_sample_type = SampleType::float32;  // of the flat frames, when there are some
  bool flats_per_energy = false;
  std::string flat_source;
  std::size_t dark_frames = 0;
  std::string dark_source;
  std::optional<double> pixel_size_nm;
  std::vector<std::string> problems;  // inconsistencies that make the stack unusable
};

StackDescription describe_stack(const StackSource& source);

/// All raw values as float, frame-major, as described (for `info`'s statistics; load_raw_stack
/// reads flats and darks frame by frame instead).
struct RawArrays {
  FloatBuffer images;  // frames x H x W
  FloatBuffer flats;   // flat_frames x H x W (may be empty)
  FloatBuffer darks;   // dark_frames x H x W (may be empty)
};

RawArrays read_raw_arrays(const StackSource& source, const StackDescription& description,
                          const ProgressSink& progress = {});

/// Whole arrays that cannot give a single optical-density value, one message each naming the
/// file: flats without one positive finite value, images without one finite value below the
/// integer type's saturation level. Empty when every array has a usable value (bad pixels are
/// data: optical density flags them).
std::vector<std::string> unusable_arrays(const StackSource& source,
                                         const StackDescription& description,
                                         const RawArrays& arrays);

struct LoadedStack {
  StackDescription description;
  RawStack raw;
};

/// Describes, reads and validates: throws InputError for any problem (missing flats, shape
/// mismatch, energies not strictly increasing, count mismatch, flats without one positive value,
/// images without one finite unsaturated value...).
LoadedStack load_raw_stack(const StackSource& source, const ProgressSink& progress = {});

}  // namespace xanesmap
