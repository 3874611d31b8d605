#include "core/spectral/valence_summary.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "core/base/error.hpp"

namespace xanesmap {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void count_statuses(const ValenceModel& model, ValenceMaps& maps) {
  const EdgeCalibration& calibration = model.calibration();
  for (std::size_t p = 0; p < maps.status.size(); ++p) {
    ++maps.status_counts[maps.status.data()[p]];
    if (!maps.mask.data()[p]) continue;
    maps.edge_not_found += std::isnan(maps.edge_energy_ev.data()[p]);
    const float e = maps.edge_energy_ev.data()[p];
    maps.edge_outside_calibration += std::isfinite(e) && !calibration.within_range(e);
    maps.lcf_failed += std::isnan(maps.valence_lcf.data()[p]);
  }
  std::size_t masked = 0;
  for (const auto m : maps.mask.pixels()) masked += m;
  const ValenceMapOptions& options = model.options();
  if (masked == 0)
    throw InputError(
        "no pixel passes the Mn mask (edge jump >= " + std::to_string(options.min_edge_jump_od) +
        " OD and >= " + std::to_string(options.min_jump_to_noise) +
        " x its standard error): is there Mn in the field of view, and does the stack cover its "
        "edge?");
}

void valence_statistics(ValenceMaps& maps) {
  std::vector<float> ok_values;
  for (std::size_t p = 0; p < maps.status.size(); ++p)
    if (maps.status.data()[p] == static_cast<std::uint8_t>(PixelStatus::ok))
      ok_values.push_back(maps.valence.data()[p]);
  auto& stats = maps.statistics;
  stats.pixels = ok_values.size();
  if (ok_values.empty()) {
    stats.mean = stats.median = stats.std = kNaN;
    maps.warnings.push_back("no pixel has status ok: there is no valence to summarize");
    return;
  }
  double sum = 0, sum2 = 0;
  for (const float v : ok_values) sum += v, sum2 += static_cast<double>(v) * v;
  stats.mean = sum / static_cast<double>(ok_values.size());
  stats.std = std::sqrt(
      std::max(0.0, sum2 / static_cast<double>(ok_values.size()) - stats.mean * stats.mean));
  const auto mid = ok_values.begin() + static_cast<std::ptrdiff_t>(ok_values.size() / 2);
  std::nth_element(ok_values.begin(), mid, ok_values.end());
  stats.median = *mid;
}

// The mean OD spectrum of the pixels with status ok, normalized, fitted and its edge measured
// as every pixel's.
MeanSpectrum mean_spectrum(const ValenceModel& model, std::vector<double> od_sum,
                           std::size_t pixels) {
  const std::size_t n = model.points(), k = model.reference_count();
  const std::size_t fit_first = model.fit_first(), fit_count = model.fit_count();
  MeanSpectrum mean;
  mean.energy_ev.assign(model.energy_ev().begin(), model.energy_ev().end());
  mean.od = std::move(od_sum);
  mean.pixels = pixels;
  mean.normalized.assign(n, kNaN);
  mean.fit.assign(n, kNaN);
  mean.fractions.assign(k, kNaN);
  mean.valence = mean.rfactor = mean.edge_ev = kNaN;
  if (mean.pixels == 0) return mean;
  for (double& v : mean.od) v /= static_cast<double>(mean.pixels);
  if (!(model.normalizer()(mean.od, mean.normalized).edge_step > 0.0)) return mean;
  const LinearCombinationFit& lcf = model.lcf();
  const LcfResult fit = lcf(std::span<const double>(mean.normalized.data() + fit_first, fit_count));
  if (fit.ok) {
    const auto fitted = lcf.model(fit);
    std::copy(fitted.begin(), fitted.end(),
              mean.fit.begin() + static_cast<std::ptrdiff_t>(fit_first));
    for (std::size_t j = 0; j < k; ++j) mean.fractions[j] = fit.fractions[j];
    mean.valence = fit.valence;
    mean.rfactor = fit.rfactor;
  }
  mean.edge_ev = model.finder().find(model.options().edge_definition, mean.normalized);
  return mean;
}

}  // namespace

ValenceMaps summarize_valence_maps(const ValenceModel& model, ValencePixelMaps pixels) {
  ValenceMaps maps;
  maps.valence = std::move(pixels.valence);
  maps.valence_edge = std::move(pixels.valence_edge);
  maps.valence_lcf = std::move(pixels.valence_lcf);
  maps.valence_sigma = std::move(pixels.valence_sigma);
  maps.edge_energy_ev = std::move(pixels.edge_energy_ev);
  maps.edge_jump_od = std::move(pixels.edge_jump_od);
  maps.rfactor = std::move(pixels.rfactor);
  maps.mask = std::move(pixels.mask);
  maps.status = std::move(pixels.status);
  maps.fractions = std::move(pixels.fractions);
  maps.reference_names = model.reference_names();
  maps.reference_valences = model.reference_valences();
  maps.calibration = model.calibration_rows();
  maps.e0_ev = model.e0_ev();
  maps.reference_offset_ev = model.reference_offset_ev();
  maps.pre_edge_used_ev = model.pre_edge_used_ev();
  maps.post_edge_used_ev = model.post_edge_used_ev();
  maps.fit_window_used_ev = model.fit_window_used_ev();
  maps.warnings = model.warnings();
  count_statuses(model, maps);
  valence_statistics(maps);
  maps.mean_spectrum = mean_spectrum(model, std::move(pixels.ok_od_sum), pixels.ok_pixels);
  return maps;
}

}  // namespace xanesmap
