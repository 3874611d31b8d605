// The FFT plans measured by one run, kept for the next (FFTW "wisdom",
// core/registration/detail/fft.hpp): measuring the 2048 x 2048 plan takes about 0.7 s of every
// registration otherwise, and the algorithm it picks varies from run to run (last bits of the
// shifts). With the plans kept, later runs on the same machine make them without timing anything
// and pick the same algorithm each time.
//
// Where: $XANESMAP_FFTW_WISDOM when set (a file path; "off" or empty: nothing is read or
// written), else $XDG_CACHE_HOME/xanesmap/fftw-wisdom, else $HOME/.cache/xanesmap/fftw-wisdom
// (none when neither variable is set). The file starts with a header naming the processor; a file
// from another processor is not used (its plans were timed there) and is replaced when this run
// measures plans of its own. A missing file is normal (the first run); a file that cannot be read
// or written gives one warning on stderr, never an error: plans are then simply measured. A file
// at that path that is not a plan file of ours is neither used nor replaced.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace xanesmap::cli {

/// The wisdom file of this environment (nullopt: kept nowhere).
std::optional<std::filesystem::path> fft_wisdom_path();

/// Imports the plans of `path` if it exists and is from this processor. Returns a warning
/// (empty when all is well or the file does not exist).
std::string load_fft_wisdom(const std::filesystem::path& path);

/// When this process measured plans, writes all its plans to `path` (a temporary file renamed
/// over it, so a reader never sees half a file). Returns a warning (empty when all is well).
std::string save_fft_wisdom(const std::filesystem::path& path);

}  // namespace xanesmap::cli
