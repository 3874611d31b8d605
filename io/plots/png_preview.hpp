// PNG previews of maps for people: a valence (or edge-energy, or any float) map in viridis with a
// colour bar, title and scale bar, and categorical maps (per-pixel status codes) with a legend.
//
// These pictures are for looking at, not for analysis: values are quantized to the 256 colours
// of the colour map and clamped to the colour scale. The numbers live in the TIFF/HDF5 outputs.
//
// Layout of a map preview (white background, dark text, OpenCV's Hershey "duplex" font):
//
//     title
//     +------------------+   /\  <- drawn only when some values lie above scale.max
//     |                  |   [] - 3.8
//     |   map (viridis,  |   []         l
//     |   NaN dark grey) |   [] - 3.6   a   <- colour bar with round tick values (usually 4-6,
//     |                  |   []         b      see colour_bar_ticks), label written upwards
//     |                  |   [] - 3.4   e
//     +------------------+   \/  <- only when some values lie below scale.min
//     |====| 2 um            [#] no value   <- scale bar (pixel_size_um > 0), NaN swatch (if any)
//
// - Enlargement: a map whose long side is under 512 pixels is drawn with each value pixel as a
//   f x f block, f = ceil(512 / long side) (so 256x256 -> 512x512, 100x60 -> 600x360); larger
//   maps are drawn 1:1 (up to 16384 pixels on a side). Nearest neighbour: no smoothing, every
//   block is exactly one value.
// - Colours: a value v maps to viridis index round(255 * (v - min) / (max - min)), clamped to
//   [0, 255]; so v <= min is viridis' dark purple (RGB 68, 1, 84), v >= max its yellow
//   (RGB 253, 231, 37). -inf and +inf are clamped like any value outside the scale. NaN ("no
//   value", see core/base/image.hpp) is neutral dark grey RGB (80, 80, 80), never a colour of the
//   map.
// - Text: Hershey fonts are ASCII only; "µ" (U+00B5 or U+03BC, UTF-8) is drawn as a real mu,
//   any other non-ASCII character as '?'. Too long titles and colour-bar labels are shrunk,
//   then cut with "...".
// - Text and bars grow with the picture for maps larger than ~560 pixels, so they stay legible
//   when a 2048-pixel map is shown on a slide.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/base/image.hpp"

namespace xanesmap {

struct ColourScale {
  double min = 0.0, max = 1.0;  ///< values mapped to the ends of the colour map (values outside
                                ///< are clamped in the picture only)
  std::string label;            ///< colour-bar label with units, e.g. "Mn valence" or
                                ///< "edge energy (eV)"
};

struct MapPreviewOptions {
  ColourScale scale;
  std::string title;           ///< drawn above the map; "" = no title
  double pixel_size_um = 0.0;  ///< > 0: draw a scale bar of a round length (1, 2 or 5 x 10^k um,
                               ///< 12-30% of the map's width); 0 = no scale bar
  const Image<std::uint16_t>* outlines = nullptr;  ///< optional particle labels (0 = background,
                                                   ///< same size as the map): label boundaries are
                                                   ///< drawn in white inside each particle
};

/// Where write_map_png puts the map and the colour bar, in picture pixels ((0, 0) = top left).
/// It depends only on the map's size and the options, not on the values.
struct MapPreviewGeometry {
  int factor = 1;  ///< each value pixel is drawn as factor x factor pixels
  int canvas_height = 0, canvas_width = 0;
  int map_top = 0, map_left = 0;      ///< top-left picture pixel of value pixel (0, 0)
  int map_height = 0, map_width = 0;  ///< = factor * the map's height, width
  int bar_top = 0, bar_left = 0;      ///< colour bar: scale.max at bar_top, scale.min at
  int bar_height = 0, bar_width = 0;  ///< bar_top + bar_height - 1
};

MapPreviewGeometry map_preview_geometry(std::size_t height, std::size_t width,
                                        const MapPreviewOptions& options);

/// Viridis map of `values` with NaN drawn as neutral dark grey, a vertical colour bar with round
/// tick values and the label, the title and a scale bar (see the layout above).
/// Throws OptionError when scale.min or scale.max is not finite or max <= min, or when
/// pixel_size_um is negative or not finite; InputError when `values` is empty or has a side
/// above 16384, or when `outlines` has another size; OutputError naming the file when it cannot
/// be written (no partial file is left). The file is a PNG whatever its extension.
void write_map_png(const std::filesystem::path& file, ImageView<const float> values,
                   const MapPreviewOptions& options);

/// Categorical map (e.g. per-pixel status codes) with a legend to the right of the map, one entry
/// "code: name (share of the pixels)" per listed code. Colours in legend order: neutral light
/// grey for the first entry (list the background / not-analysed code first so that it stays
/// quiet), then the 7 colours of Okabe & Ito's colour-blind-safe palette, then 8 more distinct
/// colours, then generated hues. Pixels whose code is not listed are drawn black and counted
/// under an extra "other codes" entry. Same enlargement as write_map_png; no colour bar, no
/// scale bar.
/// Throws OptionError when a code is listed twice; InputError when `codes` is empty or has a side
/// above 16384; OutputError as write_map_png.
void write_category_png(const std::filesystem::path& file, ImageView<const std::uint8_t> codes,
                        const std::vector<std::pair<std::uint8_t, std::string>>& legend,
                        const std::string& title);

/// One map of a side-by-side figure (write_map_panels_png).
struct MapPanel {
  ImageView<const float> values;
  std::string title;                               ///< drawn above the panel; "" = none
  double pixel_size_um = 0.0;                      ///< > 0: the panel's own scale bar
  const Image<std::uint16_t>* outlines = nullptr;  ///< optional particle labels, as in
                                                   ///< MapPreviewOptions
};

/// Where write_map_panels_png puts the panels and the colour bar, in picture pixels.
struct MapPanelsGeometry {
  int factor = 1;  ///< every panel's value pixel is drawn as factor x factor pixels
  int canvas_height = 0, canvas_width = 0;
  struct Panel {
    int map_top = 0, map_left = 0;      ///< top-left picture pixel of value pixel (0, 0)
    int map_height = 0, map_width = 0;  ///< = factor * the panel's height, width
  };
  std::vector<Panel> panels;      ///< in the order given
  int bar_top = 0, bar_left = 0;  ///< colour bar, as in MapPreviewGeometry
  int bar_height = 0, bar_width = 0;
};

/// Layout of a panel figure:
///
///                          title
///        panel 1 title          panel 2 title
///     +---------------+      +---------------+     /\  <- values above the scale
///     |               |      |               |     [] - 3.8
///     |    map 1      |      |    map 2      |     []        label
///     |               |      |               |     [] - 3.4
///     +---------------+      +---------------+     \/  <- values below the scale
///     |==| 2 um              |====| 1 um           [#] no value
///
/// Panels left to right in the order given, wrapping to a new row after `columns` panels
/// (0 = all in one row). All panels share one enlargement factor: write_map_png's rule applied
/// to the panel with the longest side, so panels keep their relative sizes; each is drawn at the
/// top of a cell as wide as the widest and as tall as the tallest panel, centred across it. All are
/// drawn with the SAME colour scale (same colours, NaN grey and clamping as write_map_png) and one
/// colour bar at the right spanning the rows; the bar's arrow heads show values outside the scale
/// in any panel. Each panel has its own scale bar (pixel sizes may differ) right under it and its
/// title above it. Throws InputError when `panels` is empty, a panel is empty or has a side above
/// 16384, its outlines have another size, or the picture would exceed 32767 pixels on a side
/// (messages name the panel by number and title); OptionError for a bad scale, a negative or
/// non-finite pixel size or negative `columns`; OutputError naming the file when it cannot be
/// written (no partial file is left). The file is a PNG whatever its extension.
void write_map_panels_png(const std::filesystem::path& file, const std::vector<MapPanel>& panels,
                          const ColourScale& scale, const std::string& title, int columns = 0);

/// The layout write_map_panels_png uses (it depends on the panels' sizes, not on their values);
/// throws as write_map_panels_png does for bad panels or options.
MapPanelsGeometry map_panels_geometry(const std::vector<MapPanel>& panels, const ColourScale& scale,
                                      const std::string& title, int columns = 0);

/// A robust colour range for a map: the 1st and 99th percentiles of the finite values (linear
/// interpolation between order statistics, numpy's default), widened symmetrically to at least
/// `min_span` around their middle; if the span is still 0 (constant map and min_span 0) it is
/// widened to 1. {0, 1} if there are no finite values. Throws OptionError if min_span is negative
/// or not finite.
ColourScale robust_scale(ImageView<const float> values, double min_span, std::string label);

/// The tick values the colour bar of [min, max] shows, in increasing order, and the number of
/// decimals needed to print them: the multiples inside [min, max] of a round step 1, 2, 2.5 or 5 x
/// 10^k (matplotlib's choice of steps), 4 to 6 of them whenever such a step exists (preferring
/// 1, 2, 5 over 2.5, and 5 ticks). For about 9%
/// of ranges none does (e.g. 0.03 to 3.95: steps 0.5 and 1 give 7 and 3 ticks) and the result
/// has 3 or 7 ticks; 4-6 in every case would need less round steps such as 0.15 or 0.75.
/// Throws OptionError unless min < max, both finite.
struct ColourBarTicks {
  std::vector<double> values;
  int decimals = 0;
};
ColourBarTicks colour_bar_ticks(double min, double max);

/// The length in micrometres of the scale bar for a map `width_um` wide: the largest 1, 2 or 5 x
/// 10^k not above 30% of the width (so between 12% and 30% of it). OptionError unless width > 0.
double scale_bar_length_um(double width_um);

}  // namespace xanesmap
