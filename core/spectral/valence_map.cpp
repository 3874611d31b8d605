#include "core/spectral/valence_map.hpp"

#include <cmath>
#include <utility>

#include "core/base/error.hpp"
#include "core/spectral/valence_model.hpp"
#include "core/spectral/valence_pixels.hpp"
#include "core/spectral/valence_summary.hpp"

namespace xanesmap {

std::string to_string(ValenceMethod m) { return m == ValenceMethod::lcf ? "lcf" : "edge"; }

ValenceMethod parse_valence_method(const std::string& s) {
  if (s == "lcf") return ValenceMethod::lcf;
  if (s == "edge") return ValenceMethod::edge;
  throw OptionError("method", "'" + s + "' is not lcf or edge");
}

const char* status_name(PixelStatus s) {
  switch (s) {
    case PixelStatus::ok:
      return "ok";
    case PixelStatus::no_mn:
      return "no_mn";
    case PixelStatus::invalid_od:
      return "invalid_od";
    case PixelStatus::no_edge:
      return "no_edge";
    case PixelStatus::fit_failed:
      return "fit_failed";
    case PixelStatus::edge_extrapolated:
      return "edge_extrapolated";
    case PixelStatus::outside_view:
      return "outside_view";
  }
  return "unknown";
}

void ValenceMapOptions::validate() const {
  normalization.validate();
  edge.validate();
  if (e0_ev && !std::isfinite(*e0_ev)) throw OptionError("e0-ev", "must be a finite energy");
  if (!(min_edge_jump_od >= 0.0 && std::isfinite(min_edge_jump_od)))
    throw OptionError("min-edge-jump", "must be a non-negative OD");
  if (!(min_jump_to_noise >= 0.0 && std::isfinite(min_jump_to_noise)))
    throw OptionError("min-jump-to-noise", "must be a non-negative ratio");
  if (!(fit_window_ev.from_ev < fit_window_ev.to_ev) || !std::isfinite(fit_window_ev.from_ev) ||
      !std::isfinite(fit_window_ev.to_ev))
    throw OptionError("fit-window", "must run from a lower to a higher energy");
  if (!(align_range_ev > 0.0 && align_range_ev <= 50.0))
    throw OptionError("align-range", "must be between 0 and 50 eV");
}

ValenceMaps compute_valence_maps(const EnergyStack& od, ImageView<const std::uint8_t> od_flags,
                                 const std::vector<ReferenceSpectrum>& references,
                                 const ValenceMapOptions& options, const ProgressSink& progress) {
  const ValenceModel model(od, od_flags, references, options);
  ValencePixelMaps pixels = fit_valence_pixels(model, od, od_flags, progress);
  return summarize_valence_maps(model, std::move(pixels));
}

}  // namespace xanesmap
