// The per-frame drift shifts as a CSV table, and a PNG plot of the drift against energy.
//
// CSV format (one row per frame, in the stack's energy order):
//
//     energy_ev,dy_px,dx_px,quality
//     6450,0.25,-1.125,0.93
//     ...
//
// - The header line is exactly "energy_ev,dy_px,dx_px,quality" (surrounding blanks and a
//   Windows line end are tolerated). Lines starting with '#' are comments and blank lines are
//   ignored, before and after the header.
// - Numbers are written in the shortest form that reads back to the same double (std::to_chars),
//   so write -> read is exact.
// - dy_px, dx_px follow the shift convention of core/registration/shift_apply.hpp (+dy = content
// moved down);
//   quality is the registration's match quality (higher is better; its scale is registration's).
//
// Errors: InputError naming the file (and line) when reading; OutputError naming the file when
// writing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace xanesmap {

struct ShiftRow {
  double energy_ev = 0, dy_px = 0, dx_px = 0, quality = 0;
};

/// Writes the table: `comments` as '#' lines (line breaks replaced by blanks), the header and one
/// line per row. Throws OutputError naming the file when it cannot be written (a partial file is
/// removed) or when a value is not finite (NaN or Inf could not be read back); nothing is
/// written in that case.
void write_shifts_csv(const std::filesystem::path& file, const std::vector<ShiftRow>& rows,
                      const std::vector<std::string>& comments = {});

/// Reads the format above. Throws InputError naming the file, and the line where there is one,
/// for: a missing file or a folder, no header or a wrong header, a data line without exactly 4
/// comma-separated fields, a field that is not a number, a value that is NaN or infinite.
/// A table with a header and no rows gives an empty vector.
std::vector<ShiftRow> read_shifts_csv(const std::filesystem::path& file);

/// A PNG plot of the drift against energy (about 1000x600 pixels, white background, OpenCV's
/// Hershey "duplex" font like the map previews): dy and dx in px as two coloured lines with
/// markers (dy blue circles, dx green squares, Okabe & Ito colours), a horizontal line at 0 px,
/// light grid lines at round tick values, axis labels "energy (eV)" and "shift (px)", the title,
/// and a legend above the plot. Frames whose quality is below `flag_below` (or NaN) are circled
/// in vermillion and counted in the legend entry "flagged: quality < ...". Rows are drawn in
/// energy order; a non-finite dy or dx leaves a gap in its line.
/// Throws OptionError when flag_below is NaN, InputError when `rows` is empty or no energy is
/// finite, OutputError naming the file when it cannot be written. The file is a PNG whatever
/// its extension.
void write_drift_plot_png(const std::filesystem::path& file, const std::vector<ShiftRow>& rows,
                          double flag_below, const std::string& title);

}  // namespace xanesmap
