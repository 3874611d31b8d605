// The last step of a valence map (core/spectral/valence_map.hpp): the per-pixel maps of a pass
// (core/spectral/valence_pixels.hpp) and the set-up that made them
// (core/spectral/valence_model.hpp) become one ValenceMaps, with what summarizes the run: the
// status counts, the valence statistics over the pixels with status ok, and their mean spectrum
// with its fit.
#pragma once

#include "core/spectral/valence_map.hpp"
#include "core/spectral/valence_model.hpp"
#include "core/spectral/valence_pixels.hpp"

namespace xanesmap {

/// Moves the maps of `pixels` into the result and adds:
/// - status_counts (every pixel), and over the masked pixels edge_not_found (no edge energy),
///   edge_outside_calibration (an edge beyond the references' range) and lcf_failed;
/// - statistics: mean, median and (population) standard deviation of the valence map over the
///   pixels with status ok; NaN and a warning when there are none;
/// - mean_spectrum: the mean OD spectrum of the pixels with status ok, normalized and fitted
///   like every pixel (NaN where it cannot be);
/// - from the model: e0, the windows as applied, the reference offset, the references' names
///   and valences, the calibration table and the model's warnings (before the summary's own).
/// Throws InputError when no pixel passes the Mn mask.
ValenceMaps summarize_valence_maps(const ValenceModel& model, ValencePixelMaps pixels);

}  // namespace xanesmap
