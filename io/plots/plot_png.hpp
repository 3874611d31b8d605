// A generic x-y plot as PNG: lines, histogram outlines (steps) and points, for spectra, fit
// residuals, valence histograms and the like. Same look as the drift plot
// (io/formats/shifts_table.hpp) and the map previews (io/plots/png_preview.hpp): white background,
// OpenCV's Hershey "duplex" font.
//
// Layout:
//
//     title (centred over the plot)
//     [sample] label 1   [sample] label 2 ...    <- legend rows above the plot
//     +------------------------------------------+
//   y |  :  light grid at round tick values      |   <- dashed vertical markers with their
//   l |  :mean                                   |      label at the top
//     +------------------------------------------+
//        tick values (1, 2, 2.5 or 5 x 10^k steps, see colour_bar_ticks), x label
//
// - Ranges: the given x_range / y_range, else the finite data (and error bars, and the finite
//   vertical markers for x) padded by 2% (x) and 5% (y) of their span on each side; with
//   y_from_zero the automatic y range includes 0 and is not padded past it. A single value v is
//   shown as v -+ max(0.5, 0.001 |v|). Data outside the ranges is cut at the frame.
// - Colours: series_colour order of Okabe & Ito's palette: blue, bluish green, vermillion,
//   orange, sky blue, reddish purple, black, yellow (then again); `colour` >= 0 picks that entry
//   (modulo 8); -1 takes the next entry not picked explicitly by another series.
// - line: straight segments between consecutive points in the order given; a point with a
//   non-finite x or y is a gap (an isolated finite point is drawn as a dot). points: filled
//   circles; non-finite points are skipped. steps: y[i] held over [x[i], x[i+1]) (x has
//   y.size() + 1 edges), an outline that starts and ends at the baseline (0 clamped to the y
//   range); a bin with a non-finite value or edge is left out (the outline drops to the
//   baseline around it). filled: the area between baseline and outline in the series' colour at
//   25% opacity. y_error (line and points only): vertical bars y -+ |e| with caps.
// - Legend: shown when there is more than one series or any label is non-empty; unlabelled
//   series are called "series N" (1-based). Entries wrap over several rows; if they would take
//   more than the picture can spare, the last ones are replaced by "(+N more)".
// - Text: Hershey fonts are ASCII only; "µ" is drawn as a real mu, other non-ASCII characters as
//   '?'. Too long titles and labels are shrunk, then cut with "...". Text, lines and markers
//   grow with the picture (scale min(width / 1000, height / 600), within 0.5 to 4).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace xanesmap {

enum class PlotStyle { line, steps, points };

struct PlotSeries {
  std::string label;         ///< legend text ("" = "series N" when a legend is shown)
  std::vector<double> x, y;  ///< steps: x holds y.size() + 1 bin edges
  PlotStyle style = PlotStyle::line;
  bool filled = false;          ///< steps only: translucent fill under the outline
  int colour = -1;              ///< index into the palette; -1 = next free one
  std::vector<double> y_error;  ///< optional error bars (line, points): empty or y.size() values
};

struct PlotOptions {
  std::string title, x_label, y_label;
  std::optional<std::pair<double, double>> x_range, y_range;  ///< {min, max}, min < max
  bool y_from_zero = false;                                   ///< automatic y range includes 0
  int width = 1000, height = 600;
  /// Dashed vertical lines at x with a small label at the top (e.g. {mean, "mean 3.42"}).
  std::vector<std::pair<double, std::string>> vertical_markers;
};

/// Draws the series, in the order given (translucent fills first), into a PNG.
/// Throws OptionError when width or height is outside [200, 8000] or a given range is not finite
/// with min < max; InputError naming the file and the series (number and label) when a series'
/// x and y (or y_error) sizes do not match its style, when y_error is given for steps, when
/// there is no series, or when no series has a single finite point; OutputError naming the file
/// when it cannot be written (no partial file is left). The file is a PNG whatever its extension.
void write_plot_png(const std::filesystem::path& file, const std::vector<PlotSeries>& series,
                    const PlotOptions& options);

}  // namespace xanesmap
