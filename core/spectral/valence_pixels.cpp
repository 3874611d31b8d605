#include "core/spectral/valence_pixels.hpp"

#include <tbb/blocked_range.h>
#include <tbb/combinable.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "core/base/error.hpp"
#include "core/kernels/gather_columns.hpp"
#include "core/stack/optical_density.hpp"

namespace xanesmap {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

// 1-sigma of an edge energy from the pre-edge noise: sigma_E = (noise / step) / (slope sqrt(m)),
// slope and m from a straight line through the normalized points within +-half_window of E.
double edge_sigma_ev(std::span<const double> e, std::span<const double> normalized, double edge_ev,
                     double noise_over_step, double half_window_ev) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  std::size_t m = 0;
  // The grid increases, and so does e[i] - edge_ev: the points with |e[i] - edge_ev| <= half
  // window form one run, found by bisection with the same test (the same points, the same sums).
  const auto first = static_cast<std::size_t>(
      std::partition_point(e.begin(), e.end(),
                           [&](double x) { return x - edge_ev < -half_window_ev; }) -
      e.begin());
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

void check_stack(const ValenceModel& model, const EnergyStack& od,
                 ImageView<const std::uint8_t> od_flags) {
  const auto& e = od.energies_ev();
  const auto grid = model.energy_ev();
  if (e.size() < model.grid_first() + grid.size() ||
      !std::equal(grid.begin(), grid.end(),
                  e.begin() + static_cast<std::ptrdiff_t>(model.grid_first())))
    throw InputError(
        "valence maps: the stack's energies are not those the valence model was built for");
  if (od_flags.height() != od.height() || od_flags.width() != od.width())
    throw InputError("the OD flag map does not match the stack's size");
}

}  // namespace

ValenceRowFitter::ValenceRowFitter(const ValenceModel& model, const EnergyStack& od,
                                   ImageView<const std::uint8_t> od_flags)
    : model_(&model),
      flags_(od_flags),
      values_(nullptr),
      plane_(od.height() * od.width()),
      width_(od.width()),
      points_(model.points()),
      references_(model.reference_count()),
      noise_model_(model.noise_model()),
      use_edge_(model.options().method == ValenceMethod::edge) {
  check_stack(model, od, od_flags);
  values_ = od.values().data() + model.grid_first() * plane_;
  const std::size_t n = points_, w = width_;
  mu_.resize(n * w), norm_.resize(n * w), tile_.resize(n * kernels::kGatherTileColumns);
  fits_.resize(w), lcf_.resize(w), in_mask_.resize(w);
  edge_.resize(w), v_edge_.resize(w), v_edge_sigma_.resize(w);
  noise_pixels_.reserve(w), variances_.reserve(w);
  ok_od_sum_.assign(n, 0.0);
}

void ValenceRowFitter::operator()(std::size_t row, ValencePixelMaps& out) {
  normalize_and_mask(row, out);
  fit_lcf();
  measure_edges(row, out);
  finish(row, out);
}

// Normalization and the Mn mask: the fits of the whole row at once (frame-major, as the stack
// holds it), then the normalized spectra of the masked pixels only.
void ValenceRowFitter::normalize_and_mask(std::size_t r, ValencePixelMaps& out) {
  const ValenceMapOptions& options = model_->options();
  const SpectrumNormalizer& normalizer = model_->normalizer();
  const float* row = values_ + r * width_;  // value i of pixel c at row[i * plane_ + c]
  normalizer.fit_columns(row, plane_, fits_);
  for (std::size_t c = 0; c < width_; ++c) {
    in_mask_[c] = 0;
    if (flags_(r, c)) {
      out.status(r, c) = static_cast<std::uint8_t>(
          (flags_(r, c) & od_outside_view) ? PixelStatus::outside_view : PixelStatus::invalid_od);
      continue;
    }
    const auto& res = fits_[c].result;
    out.edge_jump_od(r, c) = static_cast<float>(res.edge_step);
    const bool in_mask = res.edge_step > 0.0 && res.edge_step >= options.min_edge_jump_od &&
                         res.edge_step >= options.min_jump_to_noise * res.edge_step_sigma;
    if (!in_mask) {
      out.status(r, c) = static_cast<std::uint8_t>(PixelStatus::no_mn);
      continue;
    }
    out.mask(r, c) = 1;
    in_mask_[c] = 1;
  }
  // The masked pixels' spectra (kept, as double, for the sum of the mean spectrum) gathered
  // through tiles of columns.
  const std::size_t n = points_;
  kernels::gather_masked_columns(row, n, plane_, in_mask_, tile_, mu_);
  for (std::size_t c = 0; c < width_; ++c)
    if (in_mask_[c])
      normalizer.apply(fits_[c], std::span<const double>(mu_.data() + c * n, n),
                       std::span<double>(norm_.data() + c * n, n));
}

void ValenceRowFitter::fit_lcf() {
  const LinearCombinationFit& lcf = model_->lcf();
  const std::size_t n = points_, fit_first = model_->fit_first(), fit_count = model_->fit_count();
  for (std::size_t c = 0; c < width_; ++c)
    if (in_mask_[c])
      lcf_[c] = lcf(std::span<const double>(norm_.data() + c * n + fit_first, fit_count));
}

// Edge energy and its calibrated valence. With the free amplitude, the LCF's scale s corrects
// the edge step (extrapolated from few noisy post-edge points) first.
void ValenceRowFitter::measure_edges(std::size_t r, ValencePixelMaps& out) {
  const ValenceMapOptions& options = model_->options();
  const EdgeCalibration& calibration = model_->calibration();
  const std::size_t n = points_;
  for (std::size_t c = 0; c < width_; ++c) {
    if (!in_mask_[c]) continue;
    const LcfResult& fit = lcf_[c];
    const auto& res = fits_[c].result;
    const std::span<double> norm(norm_.data() + c * n, n);
    const bool rescaled = fit.ok && options.free_amplitude && fit.amplitude > 0.0;
    if (rescaled)
      for (double& value : norm) value /= fit.amplitude;
    const double edge = model_->finder().find(options.edge_definition, norm);
    edge_[c] = edge;
    v_edge_[c] = v_edge_sigma_[c] = kNaN;
    if (std::isfinite(edge)) {
      out.edge_energy_ev(r, c) = static_cast<float>(edge);
      v_edge_[c] = calibration.valence(edge);
      const double scale = res.edge_step * (rescaled ? fit.amplitude : 1.0);  // norm's divisor
      const double sigma_e =
          edge_sigma_ev(model_->energy_ev(), norm, edge, res.pre_edge_rms / scale,
                        options.edge.smoothing_half_window_ev);
      const double slope =
          (calibration.valence(edge + 0.05) - calibration.valence(edge - 0.05)) / 0.1;
      v_edge_sigma_[c] = std::abs(slope) * sigma_e;
      out.valence_edge(r, c) = static_cast<float>(v_edge_[c]);
    }
  }
}

// LCF uncertainty (the variances of the row's fitted pixels in one batch), the statuses, the
// chosen valence and the sum of the ok pixels' spectra.
void ValenceRowFitter::finish(std::size_t r, ValencePixelMaps& out) {
  const LinearCombinationFit& lcf = model_->lcf();
  const EdgeCalibration& calibration = model_->calibration();
  const double lcf_dof = model_->lcf_dof();
  const std::size_t n = points_;
  noise_pixels_.clear();
  for (std::size_t c = 0; c < width_; ++c) {
    if (!in_mask_[c] || !lcf_[c].ok) continue;
    const LcfResult& fit = lcf_[c];
    const auto& res = fits_[c].result;
    // Pre-edge points carry the pre-edge RMS, the others the LCF residual's noise level (both in
    // OD).
    noise_pixels_.push_back({lcf.valence_gradient(fit), res.edge_step, res.pre_edge_rms,
                             std::sqrt(fit.rss / lcf_dof) * res.edge_step});
  }
  variances_.resize(noise_pixels_.size());
  lcf_valence_variances(noise_model_, noise_pixels_, variances_);
  std::size_t next_variance = 0;
  for (std::size_t c = 0; c < width_; ++c) {
    if (!in_mask_[c]) continue;
    const LcfResult& fit = lcf_[c];
    const double edge = edge_[c];
    const PixelStatus edge_status = !std::isfinite(edge) ? PixelStatus::no_edge
                                    : calibration.within_range(edge)
                                        ? PixelStatus::ok
                                        : PixelStatus::edge_extrapolated;
    const PixelStatus lcf_status = fit.ok ? PixelStatus::ok : PixelStatus::fit_failed;
    double lcf_sigma = kNaN;
    if (fit.ok) {
      lcf_sigma = std::sqrt(variances_[next_variance++]);
      out.valence_lcf(r, c) = static_cast<float>(fit.valence);
      out.rfactor(r, c) = static_cast<float>(fit.rfactor);
      for (std::size_t j = 0; j < references_; ++j)
        out.fractions[j](r, c) = static_cast<float>(fit.fractions[j]);
    }
    const PixelStatus status = use_edge_ ? edge_status : lcf_status;
    out.status(r, c) = static_cast<std::uint8_t>(status);
    if (status == PixelStatus::ok || status == PixelStatus::edge_extrapolated) {
      out.valence(r, c) = static_cast<float>(use_edge_ ? v_edge_[c] : fit.valence);
      out.valence_sigma(r, c) = static_cast<float>(use_edge_ ? v_edge_sigma_[c] : lcf_sigma);
    }
    if (status == PixelStatus::ok) {
      for (std::size_t i = 0; i < n; ++i) ok_od_sum_[i] += mu_[c * n + i];
      ++ok_pixels_;
    }
  }
}

ValencePixelMaps fit_valence_pixels(const ValenceModel& model, const EnergyStack& od,
                                    ImageView<const std::uint8_t> od_flags,
                                    const ProgressSink& progress) {
  const ValenceRowFitter prototype(model, od, od_flags);  // checks the stack against the model
  const std::size_t h = od.height(), w = od.width(), n = model.points();
  ValencePixelMaps out;
  out.valence = Image<float>(h, w, kNaNf);
  out.valence_edge = Image<float>(h, w, kNaNf);
  out.valence_lcf = Image<float>(h, w, kNaNf);
  out.valence_sigma = Image<float>(h, w, kNaNf);
  out.edge_energy_ev = Image<float>(h, w, kNaNf);
  out.edge_jump_od = Image<float>(h, w, kNaNf);
  out.rfactor = Image<float>(h, w, kNaNf);
  out.mask = Image<std::uint8_t>(h, w, 0);
  out.status = Image<std::uint8_t>(h, w, 0);
  out.fractions.assign(model.reference_count(), Image<float>(h, w, kNaNf));
  tbb::combinable<ValenceRowFitter> fitters([&] { return prototype; });
  // Chunks of rows run in parallel; progress is reported between chunks, from this thread.
  const std::size_t chunk = std::max<std::size_t>(1, h / 20);
  for (std::size_t start = 0; start < h; start += chunk) {
    const std::size_t stop = std::min(h, start + chunk);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(start, stop, 1), [&](const auto& rows) {
      ValenceRowFitter& fitter = fitters.local();
      for (std::size_t r = rows.begin(); r < rows.end(); ++r) fitter(r, out);
    });
    report(progress, "valence maps", stop, h);
  }
  out.ok_od_sum.assign(n, 0.0);
  fitters.combine_each([&](const ValenceRowFitter& f) {
    for (std::size_t i = 0; i < n; ++i) out.ok_od_sum[i] += f.ok_od_sum()[i];
    out.ok_pixels += f.ok_pixels();
  });
  return out;
}

}  // namespace xanesmap
