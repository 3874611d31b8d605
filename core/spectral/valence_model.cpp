#include "core/spectral/valence_model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>

#include "core/base/error.hpp"
#include "core/spectral/detail/reference_alignment.hpp"
#include "core/spectral/normalization.hpp"

namespace xanesmap {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::array<EdgeDefinition, 3> kDefinitions{
    EdgeDefinition::half_height, EdgeDefinition::derivative_max, EdgeDefinition::white_line};

std::string ev_text(double e) {
  std::ostringstream s;
  s.precision(7);
  s << e << " eV";
  return s.str();
}

const ValenceMapOptions& checked(const ValenceMapOptions& options, const EnergyStack& od,
                                 ImageView<const std::uint8_t> od_flags,
                                 const std::vector<ReferenceSpectrum>& references) {
  options.validate();
  if (references.size() < 2)
    throw InputError("at least two references are needed, got " +
                     std::to_string(references.size()));
  std::vector<double> valences;
  for (const auto& r : references) valences.push_back(r.valence);
  std::sort(valences.begin(), valences.end());
  if (std::unique(valences.begin(), valences.end()) - valences.begin() < 2)
    throw InputError(
        "the references need at least two different valences to calibrate a valence scale");
  if (od_flags.height() != od.height() || od_flags.width() != od.width())
    throw InputError("the OD flag map does not match the stack's size");
  return options;
}

double mean_derivative_max(const std::vector<ReferenceSpectrum>& refs, double half_window_ev) {
  double sum = 0.0;
  for (const auto& r : refs) sum += find_e0_max_derivative(r.mu.energy_ev, r.mu.mu, half_window_ev);
  return sum / static_cast<double>(refs.size());
}

// The stack energies the analysis uses: from the pre-edge window's start to the post-edge
// window's end, clipped to the stack.
ValenceModel::AnalysisGrid analysis_grid(const std::vector<double>& e, double e0,
                                         const NormalizationOptions& n) {
  const double lo = e0 + n.pre_edge_ev.from_ev, hi = e0 + n.post_edge_ev.to_ev;
  const auto begin = std::lower_bound(e.begin(), e.end(), lo);
  const auto end = std::upper_bound(e.begin(), e.end(), hi);
  std::vector<double> grid(begin, std::max(begin, end));
  if (grid.empty())
    // Usually energies in the wrong unit or a stack of another edge than the references'.
    throw InputError(
        "the stack's energies (" + ev_text(e.front()) + " to " + ev_text(e.back()) +
        ") hold none between the pre-edge window start and the post-edge window end (" +
        ev_text(lo) + " to " + ev_text(hi) + ") around e0 = " + ev_text(e0) +
        ": is the energy unit right, and do the references belong to this edge?");
  return {static_cast<std::size_t>(begin - e.begin()), std::move(grid)};
}

std::vector<std::string> clipping_warnings(const std::vector<double>& stack_e, double e0,
                                           const NormalizationOptions& n,
                                           const SpectrumNormalizer& normalizer) {
  std::vector<std::string> warnings;
  auto clipped = [&](const RelativeWindow& w) {
    return e0 + w.from_ev < stack_e.front() || e0 + w.to_ev > stack_e.back();
  };
  auto text = [](const AbsoluteWindow& w) {
    return ev_text(w.from_ev) + " to " + ev_text(w.to_ev);
  };
  if (clipped(n.pre_edge_ev))
    warnings.push_back("the pre-edge window was clipped to the stack's energies: " +
                       text(normalizer.pre_edge_used_ev()));
  if (clipped(n.post_edge_ev))
    warnings.push_back("the post-edge window was clipped to the stack's energies: " +
                       text(normalizer.post_edge_used_ev()));
  return warnings;
}

// The LCF window inside the analysis grid: [first, first + count).
ValenceModel::GridRange fit_window(std::span<const double> grid, double e0,
                                   const RelativeWindow& window, std::size_t references) {
  const auto lo = std::lower_bound(grid.begin(), grid.end(), e0 + window.from_ev);
  const auto hi = std::upper_bound(grid.begin(), grid.end(), e0 + window.to_ev);
  const auto first = static_cast<std::size_t>(lo - grid.begin());
  const auto count = static_cast<std::size_t>(std::max(lo, hi) - lo);
  if (count < references + 1)
    throw InputError("the fit window " + ev_text(e0 + window.from_ev) + " to " +
                     ev_text(e0 + window.to_ev) + " holds " + std::to_string(count) +
                     " of the stack's energies; fitting " + std::to_string(references) +
                     " references needs at least " + std::to_string(references + 1));
  return {first, count};
}

// References interpolated onto the grid (their energies shifted by offset_ev) and normalized.
std::vector<std::vector<double>> normalized_references(const std::vector<ReferenceSpectrum>& refs,
                                                       std::span<const double> grid,
                                                       double offset_ev,
                                                       const SpectrumNormalizer& normalizer) {
  std::vector<std::vector<double>> out;
  std::vector<double> at(grid.begin(), grid.end());
  for (double& e : at) e -= offset_ev;
  for (const auto& ref : refs) {
    std::vector<double> mu;
    try {
      mu = interpolate(ref.mu, at);
    } catch (const Error& e) {
      rethrow_with_context(e,
                           "reference '" + ref.name + "' does not cover the energies of the fit");
    }
    std::vector<double> norm(mu.size());
    if (!(normalizer(mu, norm).edge_step > 0.0))
      throw InputError("reference '" + ref.name +
                       "' shows no absorption edge on the stack's energies "
                       "(its edge step is not positive)");
    out.push_back(std::move(norm));
  }
  return out;
}

std::array<double, 3> edges_on(const EdgeEnergyFinder& finder, std::span<const double> normalized) {
  std::array<double, 3> out{};
  for (std::size_t d = 0; d < kDefinitions.size(); ++d)
    out[d] = finder.find(kDefinitions[d], normalized);
  return out;
}

std::size_t definition_index(EdgeDefinition d) {
  return static_cast<std::size_t>(std::find(kDefinitions.begin(), kDefinitions.end(), d) -
                                  kDefinitions.begin());
}

// What the set-up of the references needs besides the references and the offset.
struct ReferenceGrid {
  std::span<const double> energy_ev;
  const SpectrumNormalizer& normalizer;
  const EdgeEnergyFinder& finder;
  std::size_t fit_first = 0, fit_count = 0;
  const ValenceMapOptions& options;
};

std::vector<double> valences_of(const std::vector<ReferenceSpectrum>& refs) {
  std::vector<double> valences;
  for (const auto& r : refs) valences.push_back(r.valence);
  return valences;
}

LinearCombinationFit lcf_of(const std::vector<std::vector<double>>& on_grid,
                            const std::vector<ReferenceSpectrum>& refs, const ReferenceGrid& g) {
  std::vector<std::vector<double>> window;
  for (const auto& s : on_grid)
    window.emplace_back(s.begin() + static_cast<std::ptrdiff_t>(g.fit_first),
                        s.begin() + static_cast<std::ptrdiff_t>(g.fit_first + g.fit_count));
  return LinearCombinationFit(std::move(window), valences_of(refs), g.options.constraint,
                              g.options.free_amplitude);
}

// Calibration of edge energy against valence, measured on the stack's grid.
EdgeCalibration calibration_of(const std::vector<std::vector<double>>& on_grid,
                               const std::vector<ReferenceSpectrum>& refs, const ReferenceGrid& g) {
  std::vector<CalibrationPoint> points;
  const std::size_t d = definition_index(g.options.edge_definition);
  for (std::size_t k = 0; k < refs.size(); ++k)
    points.push_back({refs[k].name, refs[k].valence, edges_on(g.finder, on_grid[k])[d]});
  return EdgeCalibration(points, g.options.edge_definition);
}

ValenceModel::ReferenceSet reference_set(const std::vector<ReferenceSpectrum>& refs,
                                         const ReferenceGrid& g, double offset_ev) {
  auto on_grid = normalized_references(refs, g.energy_ev, offset_ev, g.normalizer);
  LinearCombinationFit lcf = lcf_of(on_grid, refs, g);
  EdgeCalibration calibration = calibration_of(on_grid, refs, g);
  return {offset_ev, std::move(on_grid), std::move(lcf), std::move(calibration)};
}

// The references at offset 0, or (align_references) at the offset whose LCF fits the mean
// spectrum of the masked pixels best; a warning when that offset lies at the end of the scan.
ValenceModel::ReferenceSet fitted_references(const EnergyStack& od,
                                             ImageView<const std::uint8_t> od_flags,
                                             const std::vector<ReferenceSpectrum>& refs,
                                             const ReferenceGrid& g, std::size_t grid_first,
                                             std::vector<std::string>& warnings) {
  ValenceModel::ReferenceSet at_zero = reference_set(refs, g, 0.0);
  if (!g.options.align_references) return at_zero;
  std::size_t pixels = 0;
  const std::vector<double> mean_od =
      detail::masked_mean_od(od, od_flags, grid_first, g.energy_ev.size(), g.normalizer,
                             g.options.min_edge_jump_od, g.options.min_jump_to_noise, pixels);
  if (pixels == 0)
    throw InputError("no pixel passes the Mn mask, so the references cannot be aligned");
  std::vector<double> mean_norm(g.energy_ev.size());
  g.normalizer(mean_od, mean_norm);
  const std::span<const double> y(mean_norm.data() + g.fit_first, g.fit_count);
  const detail::ReferenceOffset offset = detail::fit_reference_offset(
      g.options.align_range_ev, [&](double d) -> std::optional<double> {
        try {
          const auto r =
              lcf_of(normalized_references(refs, g.energy_ev, d, g.normalizer), refs, g)(y);
          if (r.ok) return r.rfactor;
        } catch (const InputError&) {
          // the shifted references no longer cover the grid: that offset is not a candidate
        }
        return std::nullopt;
      });
  if (!offset.interior)
    warnings.push_back(
        "the reference energy offset " + ev_text(offset.offset_ev) +
        " lies at the edge of the searched offsets (the range, or where the "
        "references stop covering the stack): widen --align-range or check the references");
  return reference_set(refs, g, offset.offset_ev);
}

std::vector<CalibrationRow> calibration_table(const std::vector<ReferenceSpectrum>& refs,
                                              const std::vector<std::vector<double>>& on_grid,
                                              const EdgeEnergyFinder& grid_finder,
                                              const ValenceMapOptions& options, double offset_ev,
                                              std::vector<std::string>& warnings) {
  std::vector<CalibrationRow> rows;
  for (std::size_t k = 0; k < refs.size(); ++k) {
    CalibrationRow row{refs[k].name, refs[k].valence, edges_on(grid_finder, on_grid[k]), {}};
    // On the reference's own grid, normalized around its own e0 as Athena would for a full
    // scan (pre -150..-30 eV, a post-edge line over +150..+400 eV): with these windows the
    // half-heights of MnO, Mn2O3 and Li2MnO3 reproduce the values their measurer noted to
    // within 0.2 eV (tests/core/spectral/edge_energy_test.cpp), so this column compares with
    // literature.
    NormalizationOptions own = options.normalization;
    own.pre_edge_ev = {-150.0, -30.0};
    own.post_edge_ev = {150.0, 400.0};
    own.post_edge_order = 1;
    // Informational only: a reference too short for these long windows gets NaN and a warning.
    try {
      const NormalizedSpectrum n = normalize_spectrum(refs[k].mu.energy_ev, refs[k].mu.mu, own);
      const EdgeEnergyFinder native(refs[k].mu.energy_ev, n.e0_ev, options.edge);
      row.native_grid_ev = edges_on(native, n.flattened);
      for (double& e : row.native_grid_ev) e += offset_ev;
    } catch (const Error& e) {
      row.native_grid_ev.fill(kNaN);
      warnings.push_back("reference '" + refs[k].name + "': no edge energies on its own grid (" +
                         e.what() + ")");
    }
    rows.push_back(row);
  }
  return rows;
}

// Noise propagation (docs/method.md): valence = f(LCF(N mu / step)). The LCF gradient c (per
// reference) times M = A' N_fit gives d valence / d mu_j = sum_k c_k M_kj / step.
std::vector<double> lcf_noise_map(const SpectrumNormalizer& normalizer,
                                  const std::vector<std::vector<double>>& on_grid,
                                  std::size_t n_all, std::size_t fit_first, std::size_t fit_count) {
  const std::size_t k_refs = on_grid.size();
  std::vector<double> m(k_refs * n_all, 0.0);  // M, K x n
  const std::vector<double> op = normalizer.linear_operator();
  for (std::size_t kk = 0; kk < k_refs; ++kk)
    for (std::size_t i = 0; i < fit_count; ++i) {
      const double a = on_grid[kk][fit_first + i];
      const double* row = op.data() + (fit_first + i) * n_all;
      for (std::size_t j = 0; j < n_all; ++j) m[kk * n_all + j] += a * row[j];
    }
  return m;
}

}  // namespace

ValenceModel::ValenceModel(const EnergyStack& od, ImageView<const std::uint8_t> od_flags,
                           const std::vector<ReferenceSpectrum>& references,
                           const ValenceMapOptions& options)
    : options_(checked(options, od, od_flags, references)),
      e0_ev_(options_.e0_ev ? *options_.e0_ev
                            : mean_derivative_max(
                                  references, options_.normalization.derivative_half_window_ev)),
      grid_(analysis_grid(od.energies_ev(), e0_ev_, options_.normalization)),
      normalizer_(grid_.energy_ev, e0_ev_, options_.normalization),
      finder_(grid_.energy_ev, e0_ev_, options_.edge),
      fit_(fit_window(grid_.energy_ev, e0_ev_, options_.fit_window_ev, references.size())),
      warnings_(clipping_warnings(od.energies_ev(), e0_ev_, options_.normalization, normalizer_)),
      references_(fitted_references(
          od, od_flags, references,
          {grid_.energy_ev, normalizer_, finder_, fit_.first, fit_.count, options_}, grid_.first,
          warnings_)) {
  calibration_rows_ = calibration_table(references, references_.on_grid, finder_, options_,
                                        references_.offset_ev, warnings_);
  noise_map_ = lcf_noise_map(normalizer_, references_.on_grid, points(), fit_.first, fit_.count);
  for (const auto& r : references) {
    reference_names_.push_back(r.name);
    reference_valences_.push_back(r.valence);
  }
}

LcfNoiseModel ValenceModel::noise_model() const {
  const std::size_t pre_begin = normalizer_.pre_begin();
  return {noise_map_, reference_count(), points(), pre_begin, pre_begin + normalizer_.pre_points()};
}

AbsoluteWindow ValenceModel::fit_window_used_ev() const {
  return {grid_.energy_ev[fit_.first], grid_.energy_ev[fit_.first + fit_.count - 1]};
}

}  // namespace xanesmap
