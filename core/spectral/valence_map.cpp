#include "core/spectral/valence_map.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include <tbb/blocked_range.h>
#include <tbb/combinable.h>
#include <tbb/parallel_for.h>

#include "core/kernels/gather_columns.hpp"
#include "core/base/error.hpp"
#include "core/spectral/lcf_noise.hpp"
#include "core/stack/optical_density.hpp"
#include "core/spectral/spectrum_normalizer.hpp"

namespace xanesmap {

std::string to_string(ValenceMethod m) { return m == ValenceMethod::lcf ? "lcf" : "edge"; }

ValenceMethod parse_valence_method(const std::string& s) {
  if (s == "lcf") return ValenceMethod::lcf;
  if (s == "edge") return ValenceMethod::edge;
  throw OptionError("method", "'" + s + "' is not lcf or edge");
}

const char* status_name(PixelStatus s) {
  switch (s) {
    case PixelStatus::ok: return "ok";
    case PixelStatus::no_mn: return "no_mn";
    case PixelStatus::invalid_od: return "invalid_od";
    case PixelStatus::no_edge: return "no_edge";
    case PixelStatus::fit_failed: return "fit_failed";
    case PixelStatus::edge_extrapolated: return "edge_extrapolated";
    case PixelStatus::outside_view: return "outside_view";
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

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
constexpr std::array<EdgeDefinition, 3> kDefinitions{
    EdgeDefinition::half_height, EdgeDefinition::derivative_max, EdgeDefinition::white_line};

std::string ev_text(double e) {
  std::ostringstream s;
  s.precision(7);
  s << e << " eV";
  return s.str();
}

// The stack energies the analysis uses: from the pre-edge window's start to the post-edge
// window's end, clipped to the stack.
struct AnalysisGrid {
  std::size_t first = 0, count = 0;
  std::vector<double> energy_ev;
};

AnalysisGrid analysis_grid(const std::vector<double>& e, double e0, const NormalizationOptions& n) {
  const double lo = e0 + n.pre_edge_ev.from_ev, hi = e0 + n.post_edge_ev.to_ev;
  AnalysisGrid g;
  const auto begin = std::lower_bound(e.begin(), e.end(), lo);
  const auto end = std::upper_bound(e.begin(), e.end(), hi);
  g.first = static_cast<std::size_t>(begin - e.begin());
  g.energy_ev.assign(begin, std::max(begin, end));
  g.count = g.energy_ev.size();
  return g;
}

// References interpolated onto the grid (their energies shifted by offset_ev) and normalized.
std::vector<std::vector<double>> normalized_references(const std::vector<ReferenceSpectrum>& refs,
                                                       const AnalysisGrid& grid, double offset_ev,
                                                       const SpectrumNormalizer& normalizer) {
  std::vector<std::vector<double>> out;
  std::vector<double> at(grid.energy_ev);
  for (double& e : at) e -= offset_ev;
  for (const auto& ref : refs) {
    std::vector<double> mu;
    try {
      mu = interpolate(ref.mu, at);
    } catch (const Error& e) {
      rethrow_with_context(e, "reference '" + ref.name + "' does not cover the energies of the fit");
    }
    std::vector<double> norm(mu.size());
    if (!(normalizer(mu, norm).edge_step > 0.0))
      throw InputError("reference '" + ref.name + "' shows no absorption edge on the stack's energies "
                       "(its edge step is not positive)");
    out.push_back(std::move(norm));
  }
  return out;
}

std::vector<std::vector<double>> window_of(const std::vector<std::vector<double>>& spectra,
                                           std::size_t first, std::size_t count) {
  std::vector<std::vector<double>> out;
  for (const auto& s : spectra)
    out.emplace_back(s.begin() + static_cast<std::ptrdiff_t>(first),
                     s.begin() + static_cast<std::ptrdiff_t>(first + count));
  return out;
}

double mean_derivative_max(const std::vector<ReferenceSpectrum>& refs, double half_window_ev) {
  double sum = 0.0;
  for (const auto& r : refs) sum += find_e0_max_derivative(r.mu.energy_ev, r.mu.mu, half_window_ev);
  return sum / static_cast<double>(refs.size());
}

std::array<double, 3> edges_on(const EdgeEnergyFinder& finder, std::span<const double> normalized) {
  std::array<double, 3> out{};
  for (std::size_t d = 0; d < kDefinitions.size(); ++d) out[d] = finder.find(kDefinitions[d], normalized);
  return out;
}

std::vector<CalibrationRow> calibration_rows(const std::vector<ReferenceSpectrum>& refs,
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
    // within 0.2 eV (tests/core/spectral/edge_energy_test.cpp), so this column compares with literature.
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
      warnings.push_back("reference '" + refs[k].name + "': no edge energies on its own grid (" + e.what() + ")");
    }
    rows.push_back(row);
  }
  return rows;
}

std::size_t definition_index(EdgeDefinition d) {
  return static_cast<std::size_t>(std::find(kDefinitions.begin(), kDefinitions.end(), d) - kDefinitions.begin());
}

// 1-sigma of an edge energy from the pre-edge noise: sigma_E = (noise / step) / (slope sqrt(m)),
// slope and m from a straight line through the normalized points within +-half_window of E.
double edge_sigma_ev(std::span<const double> e, std::span<const double> normalized, double edge_ev,
                     double noise_over_step, double half_window_ev) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  std::size_t m = 0;
  // The grid increases, and so does e[i] - edge_ev: the points with |e[i] - edge_ev| <= half
  // window form one run, found by bisection with the same test (the same points, the same sums).
  const auto first = static_cast<std::size_t>(
      std::partition_point(e.begin(), e.end(), [&](double x) { return x - edge_ev < -half_window_ev; }) - e.begin());
  const auto end = static_cast<std::size_t>(
      std::partition_point(e.begin() + static_cast<std::ptrdiff_t>(first), e.end(),
                           [&](double x) { return x - edge_ev <= half_window_ev; }) -
      e.begin());
  for (std::size_t i = first; i < end; ++i) {
    if (std::abs(e[i] - edge_ev) > half_window_ev) continue;
    const double x = e[i] - edge_ev;
    sx += x, sy += normalized[i], sxx += x * x, sxy += x * normalized[i];
    ++m;
  }
  const double den = static_cast<double>(m) * sxx - sx * sx;
  if (m < 2 || !(den > 0)) return kNaN;
  const double slope = (static_cast<double>(m) * sxy - sx * sy) / den;
  if (!(slope > 0)) return kNaN;
  return noise_over_step / (slope * std::sqrt(static_cast<double>(m)));
}

struct PixelContext {
  const EnergyStack& od;
  ImageView<const std::uint8_t> flags;
  const AnalysisGrid& grid;
  const SpectrumNormalizer& normalizer;
  const EdgeEnergyFinder& finder;
  const EdgeCalibration& calibration;
  const LinearCombinationFit& lcf;
  std::size_t fit_first = 0;  // within the analysis grid
  const ValenceMapOptions& options;
};

// Mean OD spectrum (analysis grid) of the pixels passing the mask, for reference alignment.
std::vector<double> masked_mean_od(const PixelContext& ctx, std::size_t* pixels) {
  const std::size_t h = ctx.od.height(), w = ctx.od.width(), n = ctx.grid.count;
  tbb::combinable<std::pair<std::vector<double>, std::size_t>> sums(
      [n] { return std::pair{std::vector<double>(n, 0.0), std::size_t{0}}; });
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h), [&](const auto& rows) {
    std::vector<double> mu(n), norm(n);
    auto& local = sums.local();
    for (std::size_t r = rows.begin(); r != rows.end(); ++r)
      for (std::size_t c = 0; c < w; ++c) {
        if (ctx.flags(r, c)) continue;
        for (std::size_t i = 0; i < n; ++i) mu[i] = ctx.od.frame(ctx.grid.first + i)(r, c);
        const auto res = ctx.normalizer(mu, norm);
        if (!(res.edge_step >= ctx.options.min_edge_jump_od &&
              res.edge_step >= ctx.options.min_jump_to_noise * res.edge_step_sigma && res.edge_step > 0))
          continue;
        for (std::size_t i = 0; i < n; ++i) local.first[i] += mu[i];
        ++local.second;
      }
  });
  std::vector<double> total(n, 0.0);
  std::size_t count = 0;
  sums.combine_each([&](const auto& s) {
    for (std::size_t i = 0; i < n; ++i) total[i] += s.first[i];
    count += s.second;
  });
  for (double& v : total) v /= static_cast<double>(std::max<std::size_t>(count, 1));
  *pixels = count;
  return total;
}

}  // namespace

namespace {

ValenceMaps valence_maps_impl(const EnergyStack& od, ImageView<const std::uint8_t> od_flags,
                              const std::vector<ReferenceSpectrum>& references,
                              const ValenceMapOptions& options, const ProgressSink& progress,
                              ValenceMapProfile* profile) {
  const auto call_start = std::chrono::steady_clock::now();
  options.validate();
  if (references.size() < 2)
    throw InputError("at least two references are needed, got " + std::to_string(references.size()));
  {
    std::vector<double> valences;
    for (const auto& r : references) valences.push_back(r.valence);
    std::sort(valences.begin(), valences.end());
    if (std::unique(valences.begin(), valences.end()) - valences.begin() < 2)
      throw InputError("the references need at least two different valences to calibrate a valence scale");
  }
  if (od_flags.height() != od.height() || od_flags.width() != od.width())
    throw InputError("the OD flag map does not match the stack's size");

  ValenceMaps maps;
  maps.e0_ev = options.e0_ev ? *options.e0_ev
                             : mean_derivative_max(references, options.normalization.derivative_half_window_ev);
  const AnalysisGrid grid = analysis_grid(od.energies_ev(), maps.e0_ev, options.normalization);
  if (grid.count == 0) {
    // Usually energies in the wrong unit or a stack of another edge than the references'.
    const auto& e = od.energies_ev();
    throw InputError("the stack's energies (" + ev_text(e.front()) + " to " + ev_text(e.back()) +
                     ") hold none between the pre-edge window start and the post-edge window end (" +
                     ev_text(maps.e0_ev + options.normalization.pre_edge_ev.from_ev) + " to " +
                     ev_text(maps.e0_ev + options.normalization.post_edge_ev.to_ev) + ") around e0 = " +
                     ev_text(maps.e0_ev) + ": is the energy unit right, and do the references belong to this edge?");
  }
  const SpectrumNormalizer normalizer(grid.energy_ev, maps.e0_ev, options.normalization);
  maps.pre_edge_used_ev = normalizer.pre_edge_used_ev();
  maps.post_edge_used_ev = normalizer.post_edge_used_ev();
  const auto& stack_e = od.energies_ev();
  const bool clipped_pre = maps.e0_ev + options.normalization.pre_edge_ev.from_ev < stack_e.front() ||
                           maps.e0_ev + options.normalization.pre_edge_ev.to_ev > stack_e.back();
  const bool clipped_post = maps.e0_ev + options.normalization.post_edge_ev.from_ev < stack_e.front() ||
                            maps.e0_ev + options.normalization.post_edge_ev.to_ev > stack_e.back();
  if (clipped_pre)
    maps.warnings.push_back("the pre-edge window was clipped to the stack's energies: " +
                            ev_text(maps.pre_edge_used_ev.from_ev) + " to " + ev_text(maps.pre_edge_used_ev.to_ev));
  if (clipped_post)
    maps.warnings.push_back("the post-edge window was clipped to the stack's energies: " +
                            ev_text(maps.post_edge_used_ev.from_ev) + " to " + ev_text(maps.post_edge_used_ev.to_ev));
  const EdgeEnergyFinder finder(grid.energy_ev, maps.e0_ev, options.edge);

  // LCF window inside the analysis grid.
  const auto fit_lo = std::lower_bound(grid.energy_ev.begin(), grid.energy_ev.end(),
                                       maps.e0_ev + options.fit_window_ev.from_ev);
  const auto fit_hi = std::upper_bound(grid.energy_ev.begin(), grid.energy_ev.end(),
                                       maps.e0_ev + options.fit_window_ev.to_ev);
  const std::size_t fit_first = static_cast<std::size_t>(fit_lo - grid.energy_ev.begin());
  const std::size_t fit_count = static_cast<std::size_t>(std::max(fit_lo, fit_hi) - fit_lo);
  if (fit_count < references.size() + 1)
    throw InputError("the fit window " + ev_text(maps.e0_ev + options.fit_window_ev.from_ev) + " to " +
                     ev_text(maps.e0_ev + options.fit_window_ev.to_ev) + " holds " + std::to_string(fit_count) +
                     " of the stack's energies; fitting " + std::to_string(references.size()) +
                     " references needs at least " + std::to_string(references.size() + 1));
  maps.fit_window_used_ev = {grid.energy_ev[fit_first], grid.energy_ev[fit_first + fit_count - 1]};
  std::vector<double> valences;
  for (const auto& r : references) valences.push_back(r.valence);

  auto build = [&](double offset_ev) {
    auto on_grid = normalized_references(references, grid, offset_ev, normalizer);
    LinearCombinationFit fit(window_of(on_grid, fit_first, fit_count), valences, options.constraint,
                             options.free_amplitude);
    return std::pair{std::move(on_grid), std::move(fit)};
  };
  auto [ref_norm, lcf] = build(0.0);

  // Calibration of edge energy against valence, measured on the stack's grid.
  auto calibration_for = [&](const std::vector<std::vector<double>>& on_grid) {
    std::vector<CalibrationPoint> points;
    const std::size_t d = definition_index(options.edge_definition);
    for (std::size_t k = 0; k < references.size(); ++k)
      points.push_back({references[k].name, references[k].valence, edges_on(finder, on_grid[k])[d]});
    return EdgeCalibration(points, options.edge_definition);
  };
  std::optional<EdgeCalibration> calibration(calibration_for(ref_norm));

  const std::size_t h = od.height(), w = od.width(), n = grid.count, k = references.size();
  if (options.align_references) {
    const PixelContext pre{od, od_flags, grid, normalizer, finder, *calibration, lcf, fit_first, options};
    std::size_t pixels = 0;
    const std::vector<double> mean_od = masked_mean_od(pre, &pixels);
    if (pixels == 0) throw InputError("no pixel passes the Mn mask, so the references cannot be aligned");
    std::vector<double> mean_norm(n);
    normalizer(mean_od, mean_norm);
    const std::span<const double> y(mean_norm.data() + fit_first, fit_count);
    // Scan the offset in 0.1 eV steps, then refine with a parabola through the best three.
    std::vector<std::pair<double, double>> scan;
    for (double d = -options.align_range_ev; d <= options.align_range_ev + 1e-9; d += 0.1) {
      try {
        auto [on_grid, fit] = build(d);
        const auto r = fit(y);
        if (r.ok) scan.emplace_back(d, r.rfactor);
      } catch (const InputError&) {
        // the shifted references no longer cover the grid: that offset is not a candidate
      }
    }
    if (scan.empty())
      throw InputError("no reference energy offset within +-" + ev_text(options.align_range_ev) +
                       " keeps the references covering the stack's energies");
    const auto best = std::min_element(scan.begin(), scan.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
    double offset = best->first;
    const bool interior = best != scan.begin() && best + 1 != scan.end();
    // Parabola through the best three only when they are consecutive 0.1 eV steps (offsets
    // whose fit failed are missing from the scan).
    if (interior && std::abs((best + 1)->first - (best - 1)->first - 0.2) < 1e-6) {
      const double r0 = (best - 1)->second, r1 = best->second, r2 = (best + 1)->second;
      const double curvature = r0 - 2 * r1 + r2;
      if (curvature > 0) offset += 0.1 * 0.5 * (r0 - r2) / curvature;
    }
    if (!interior)
      maps.warnings.push_back("the reference energy offset " + ev_text(offset) +
                              " lies at the edge of the searched offsets (the range, or where the "
                              "references stop covering the stack): widen --align-range or check the references");
    maps.reference_offset_ev = offset;
    std::tie(ref_norm, lcf) = build(offset);
    calibration.emplace(calibration_for(ref_norm));
  }
  maps.calibration = calibration_rows(references, ref_norm, finder, options, maps.reference_offset_ev, maps.warnings);

  // Noise propagation (docs/method.md): valence = f(LCF(N mu / step)). The LCF gradient
  // c (per reference) times M = A' N_fit gives d valence / d mu_j = sum_k c_k M_kj / step.
  const std::size_t n_all = grid.count, k_refs = references.size();
  std::vector<double> noise_map(k_refs * n_all, 0.0);  // M, K x n
  {
    const std::vector<double> op = normalizer.linear_operator();
    for (std::size_t kk = 0; kk < k_refs; ++kk)
      for (std::size_t i = 0; i < fit_count; ++i) {
        const double a = ref_norm[kk][fit_first + i];
        const double* row = op.data() + (fit_first + i) * n_all;
        for (std::size_t j = 0; j < n_all; ++j) noise_map[kk * n_all + j] += a * row[j];
      }
  }
  const std::size_t pre_lo = normalizer.pre_begin(), pre_hi = pre_lo + normalizer.pre_points();
  const LcfNoiseModel noise_model{noise_map, k_refs, n_all, pre_lo, pre_hi};
  const double lcf_dof = static_cast<double>(fit_count - lcf.parameters());  // of every pixel's fit
  for (const auto& r : references) {
    maps.reference_names.push_back(r.name);
    maps.reference_valences.push_back(r.valence);
  }

  // ---- Per-pixel pass.
  maps.valence = Image<float>(h, w, kNaNf);
  maps.valence_edge = Image<float>(h, w, kNaNf);
  maps.valence_lcf = Image<float>(h, w, kNaNf);
  maps.valence_sigma = Image<float>(h, w, kNaNf);
  maps.edge_energy_ev = Image<float>(h, w, kNaNf);
  maps.edge_jump_od = Image<float>(h, w, kNaNf);
  maps.rfactor = Image<float>(h, w, kNaNf);
  maps.mask = Image<std::uint8_t>(h, w, 0);
  maps.status = Image<std::uint8_t>(h, w, 0);
  maps.fractions.assign(k, Image<float>(h, w, kNaNf));
  const bool use_edge = options.method == ValenceMethod::edge;
  struct Tally {
    std::vector<double> od_sum;
    std::size_t ok = 0;
  };
  tbb::combinable<Tally> tallies([n] { return Tally{std::vector<double>(n, 0.0), 0}; });

  // Each row goes through the stages one after the other (normalization and mask, LCF, edge
  // energy, uncertainty), each over the whole row: a stage's coefficients stay in cache, and the
  // time per stage can be attributed (ValenceMapProfile) with a few clock reads per row.
  struct RowScratch {
    std::vector<double> norm;   // w x n: normalized spectra, pixel-major
    std::vector<double> mu;     // w x n: the masked pixels' OD spectra, pixel-major
    std::vector<float> block;   // kernels::gather_masked_columns' tile
    std::vector<SpectrumNormalizer::Result> res;
    std::vector<SpectrumNormalizer::Fit> fits;
    std::vector<LcfResult> fit;
    std::vector<std::uint8_t> in_mask;
    std::vector<double> edge, v_edge, v_edge_sigma;
    std::vector<LcfNoisePixel> noise_pixels;  // the row's fitted pixels (capacity w)
    std::vector<double> variances;
    std::array<double, 4> seconds{};  // thread time: normalization, LCF, edge, uncertainty
  };
  tbb::combinable<RowScratch> scratch([n, w] {
    RowScratch s;
    s.norm.resize(n * w), s.mu.resize(n * w), s.block.resize(n * kernels::kGatherTileColumns), s.res.resize(w), s.fits.resize(w), s.fit.resize(w);
    s.in_mask.resize(w), s.edge.resize(w), s.v_edge.resize(w), s.v_edge_sigma.resize(w);
    s.noise_pixels.reserve(w), s.variances.reserve(w);
    return s;
  });
  using Clock = std::chrono::steady_clock;
  auto seconds_between = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  auto process_rows = [&](std::size_t row_begin, std::size_t row_end) {
    RowScratch& s = scratch.local();
    Tally& tally = tallies.local();
    for (std::size_t r = row_begin; r < row_end; ++r) {
      const auto t0 = Clock::now();
      // The row in every analysis frame, read in place: value i of pixel c at row[i * plane + c].
      const std::size_t plane = h * w;
      const float* row = od.values().data() + grid.first * plane + r * w;
      // Normalization and the Mn mask: the fits of the whole row at once (frame-major, as the
      // stack holds it), then the normalized spectra of the masked pixels only.
      normalizer.fit_columns(row, plane, s.fits);
      for (std::size_t c = 0; c < w; ++c) {
        s.in_mask[c] = 0;
        if (od_flags(r, c)) {
          maps.status(r, c) = static_cast<std::uint8_t>((od_flags(r, c) & od_outside_view) ? PixelStatus::outside_view
                                                                                            : PixelStatus::invalid_od);
          continue;
        }
        const auto res = s.fits[c].result;
        s.res[c] = res;
        maps.edge_jump_od(r, c) = static_cast<float>(res.edge_step);
        const bool in_mask = res.edge_step > 0.0 && res.edge_step >= options.min_edge_jump_od &&
                             res.edge_step >= options.min_jump_to_noise * res.edge_step_sigma;
        if (!in_mask) {
          maps.status(r, c) = static_cast<std::uint8_t>(PixelStatus::no_mn);
          continue;
        }
        maps.mask(r, c) = 1;
        s.in_mask[c] = 1;
      }
      // The masked pixels' spectra (kept, as double, for the tally of the mean spectrum),
      // gathered through tiles of columns, then normalized.
      kernels::gather_masked_columns(row, n, plane, s.in_mask, s.block, s.mu);
      for (std::size_t c = 0; c < w; ++c)
        if (s.in_mask[c])
          normalizer.apply(s.fits[c], std::span<const double>(s.mu.data() + c * n, n), std::span<double>(s.norm.data() + c * n, n));
      const auto t1 = Clock::now();
      // Linear-combination fit.
      for (std::size_t c = 0; c < w; ++c)
        if (s.in_mask[c]) s.fit[c] = lcf(std::span<const double>(s.norm.data() + c * n + fit_first, fit_count));
      const auto t2 = Clock::now();
      // Edge energy and its calibrated valence. With the free amplitude, the LCF's scale s
      // corrects the edge step (extrapolated from few noisy post-edge points) first.
      for (std::size_t c = 0; c < w; ++c) {
        if (!s.in_mask[c]) continue;
        const LcfResult& fit = s.fit[c];
        const auto& res = s.res[c];
        const std::span<double> norm(s.norm.data() + c * n, n);
        const bool rescaled = fit.ok && options.free_amplitude && fit.amplitude > 0.0;
        if (rescaled)
          for (double& value : norm) value /= fit.amplitude;
        const double edge = finder.find(options.edge_definition, norm);
        s.edge[c] = edge;
        s.v_edge[c] = s.v_edge_sigma[c] = kNaN;
        if (std::isfinite(edge)) {
          maps.edge_energy_ev(r, c) = static_cast<float>(edge);
          s.v_edge[c] = calibration->valence(edge);
          const double scale = res.edge_step * (rescaled ? fit.amplitude : 1.0);  // norm's divisor
          const double sigma_e = edge_sigma_ev(grid.energy_ev, norm, edge, res.pre_edge_rms / scale,
                                               options.edge.smoothing_half_window_ev);
          const double slope = (calibration->valence(edge + 0.05) - calibration->valence(edge - 0.05)) / 0.1;
          s.v_edge_sigma[c] = std::abs(slope) * sigma_e;
          maps.valence_edge(r, c) = static_cast<float>(s.v_edge[c]);
        }
      }
      const auto t3 = Clock::now();
      // LCF uncertainty (the variances of the row's fitted pixels in one batch), the statuses and
      // the chosen valence.
      s.noise_pixels.clear();
      for (std::size_t c = 0; c < w; ++c) {
        if (!s.in_mask[c] || !s.fit[c].ok) continue;
        const LcfResult& fit = s.fit[c];
        const auto& res = s.res[c];
        // Pre-edge points carry the pre-edge RMS, the others the LCF residual's noise level
        // (both in OD).
        s.noise_pixels.push_back({lcf.valence_gradient(fit), res.edge_step, res.pre_edge_rms,
                                  std::sqrt(fit.rss / lcf_dof) * res.edge_step});
      }
      s.variances.resize(s.noise_pixels.size());
      lcf_valence_variances(noise_model, s.noise_pixels, s.variances);
      std::size_t next_variance = 0;
      for (std::size_t c = 0; c < w; ++c) {
        if (!s.in_mask[c]) continue;
        const LcfResult& fit = s.fit[c];
        const double edge = s.edge[c];
        const PixelStatus edge_status = !std::isfinite(edge)               ? PixelStatus::no_edge
                                        : calibration->within_range(edge) ? PixelStatus::ok
                                                                          : PixelStatus::edge_extrapolated;
        const PixelStatus lcf_status = fit.ok ? PixelStatus::ok : PixelStatus::fit_failed;
        double lcf_sigma = kNaN;
        if (fit.ok) {
          lcf_sigma = std::sqrt(s.variances[next_variance++]);
          maps.valence_lcf(r, c) = static_cast<float>(fit.valence);
          maps.rfactor(r, c) = static_cast<float>(fit.rfactor);
          for (std::size_t j = 0; j < k; ++j) maps.fractions[j](r, c) = static_cast<float>(fit.fractions[j]);
        }
        const PixelStatus status = use_edge ? edge_status : lcf_status;
        maps.status(r, c) = static_cast<std::uint8_t>(status);
        if (status == PixelStatus::ok || status == PixelStatus::edge_extrapolated) {
          maps.valence(r, c) = static_cast<float>(use_edge ? s.v_edge[c] : fit.valence);
          maps.valence_sigma(r, c) = static_cast<float>(use_edge ? s.v_edge_sigma[c] : lcf_sigma);
        }
        if (status == PixelStatus::ok) {
          for (std::size_t i = 0; i < n; ++i) tally.od_sum[i] += s.mu[c * n + i];
          ++tally.ok;
        }
      }
      const auto t4 = Clock::now();
      s.seconds[0] += seconds_between(t0, t1), s.seconds[1] += seconds_between(t1, t2);
      s.seconds[2] += seconds_between(t2, t3), s.seconds[3] += seconds_between(t3, t4);
    }
  };
  // Chunks of rows run in parallel; progress is reported between chunks, from this thread.
  const auto pass_start = Clock::now();
  const std::size_t chunk = std::max<std::size_t>(1, h / 20);
  for (std::size_t start = 0; start < h; start += chunk) {
    const std::size_t stop = std::min(h, start + chunk);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(start, stop, 1),
                      [&](const auto& rows) { process_rows(rows.begin(), rows.end()); });
    report(progress, "valence maps", stop, h);
  }
  const double pass_s = seconds_between(pass_start, Clock::now());

  // ---- Counts and statistics.
  for (std::size_t p = 0; p < h * w; ++p) {
    ++maps.status_counts[maps.status.data()[p]];
    if (!maps.mask.data()[p]) continue;
    maps.edge_not_found += std::isnan(maps.edge_energy_ev.data()[p]);
    const float e = maps.edge_energy_ev.data()[p];
    maps.edge_outside_calibration += std::isfinite(e) && !calibration->within_range(e);
    maps.lcf_failed += std::isnan(maps.valence_lcf.data()[p]);
  }
  std::size_t masked = 0;
  for (const auto m : maps.mask.pixels()) masked += m;
  if (masked == 0)
    throw InputError("no pixel passes the Mn mask (edge jump >= " + std::to_string(options.min_edge_jump_od) +
                     " OD and >= " + std::to_string(options.min_jump_to_noise) +
                     " x its standard error): is there Mn in the field of view, and does the stack cover its edge?");
  std::vector<float> ok_values;
  for (std::size_t p = 0; p < h * w; ++p)
    if (maps.status.data()[p] == static_cast<std::uint8_t>(PixelStatus::ok)) ok_values.push_back(maps.valence.data()[p]);
  auto& stats = maps.statistics;
  stats.pixels = ok_values.size();
  if (ok_values.empty()) {
    stats.mean = stats.median = stats.std = kNaN;
    maps.warnings.push_back("no pixel has status ok: there is no valence to summarize");
  } else {
    double sum = 0, sum2 = 0;
    for (const float v : ok_values) sum += v, sum2 += static_cast<double>(v) * v;
    stats.mean = sum / static_cast<double>(ok_values.size());
    stats.std = std::sqrt(std::max(0.0, sum2 / static_cast<double>(ok_values.size()) - stats.mean * stats.mean));
    const auto mid = ok_values.begin() + static_cast<std::ptrdiff_t>(ok_values.size() / 2);
    std::nth_element(ok_values.begin(), mid, ok_values.end());
    stats.median = *mid;
  }

  // ---- Mean spectrum of the pixels with status ok, and its fit.
  MeanSpectrum& mean = maps.mean_spectrum;
  mean.energy_ev = grid.energy_ev;
  mean.od.assign(n, 0.0);
  tallies.combine_each([&](const Tally& t) {
    for (std::size_t i = 0; i < n; ++i) mean.od[i] += t.od_sum[i];
    mean.pixels += t.ok;
  });
  mean.normalized.assign(n, kNaN);
  mean.fit.assign(n, kNaN);
  mean.fractions.assign(k, kNaN);
  mean.valence = mean.rfactor = mean.edge_ev = kNaN;
  if (mean.pixels > 0) {
    for (double& v : mean.od) v /= static_cast<double>(mean.pixels);
    if (normalizer(mean.od, mean.normalized).edge_step > 0.0) {
      const LcfResult fit = lcf(std::span<const double>(mean.normalized.data() + fit_first, fit_count));
      if (fit.ok) {
        const auto model = lcf.model(fit);
        std::copy(model.begin(), model.end(), mean.fit.begin() + static_cast<std::ptrdiff_t>(fit_first));
        for (std::size_t j = 0; j < k; ++j) mean.fractions[j] = fit.fractions[j];
        mean.valence = fit.valence;
        mean.rfactor = fit.rfactor;
      }
      mean.edge_ev = finder.find(options.edge_definition, mean.normalized);
    }
  }
  if (profile) {
    std::array<double, 4> thread_s{};
    scratch.combine_each([&](const RowScratch& rs) {
      for (std::size_t i = 0; i < thread_s.size(); ++i) thread_s[i] += rs.seconds[i];
    });
    const double sum = thread_s[0] + thread_s[1] + thread_s[2] + thread_s[3];
    auto share = [&](std::size_t i) { return sum > 0.0 ? pass_s * thread_s[i] / sum : 0.0; };
    profile->pixel_pass_s = pass_s;
    profile->normalization_s = share(0), profile->lcf_s = share(1);
    profile->edge_s = share(2), profile->uncertainty_s = share(3);
    profile->masked_pixels = masked;
    profile->total_s = seconds_between(call_start, Clock::now());
  }
  return maps;
}

}  // namespace

ValenceMaps compute_valence_maps(const EnergyStack& od, ImageView<const std::uint8_t> od_flags,
                                 const std::vector<ReferenceSpectrum>& references,
                                 const ValenceMapOptions& options, const ProgressSink& progress) {
  return valence_maps_impl(od, od_flags, references, options, progress, nullptr);
}

ValenceMaps compute_valence_maps(const EnergyStack& od, ImageView<const std::uint8_t> od_flags,
                                 const std::vector<ReferenceSpectrum>& references,
                                 const ValenceMapOptions& options, const ProgressSink& progress,
                                 ValenceMapProfile& profile) {
  return valence_maps_impl(od, od_flags, references, options, progress, &profile);
}

}  // namespace xanesmap
