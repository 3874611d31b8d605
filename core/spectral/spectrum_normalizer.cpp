#include "core/spectral/spectrum_normalizer.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

#include "core/base/error.hpp"
#include "core/kernels/frame_sums.hpp"

namespace xanesmap {

namespace {
constexpr double kScaleEv = 100.0;  // abscissa scaling that keeps the quadratic well conditioned

// [begin, end) of the grid points inside [lo, hi].
std::pair<std::size_t, std::size_t> index_range(std::span<const double> e, double lo, double hi) {
  const auto begin = std::lower_bound(e.begin(), e.end(), lo);
  const auto end = std::upper_bound(e.begin(), e.end(), hi);
  const auto b = static_cast<std::size_t>(begin - e.begin());
  return {b, std::max(b, static_cast<std::size_t>(end - e.begin()))};
}

// Pseudo-inverse of the polynomial design matrix on x[begin, end): coefficients of
// sum_k c_k x^k (x in eV) = pinv * values.
std::vector<double> polynomial_pinv(const std::vector<double>& x, std::size_t begin,
                                    std::size_t end, int order) {
  const auto rows = static_cast<Eigen::Index>(end - begin);
  Eigen::MatrixXd a(rows, order + 1);
  for (Eigen::Index r = 0; r < rows; ++r) {
    const double t = x[begin + static_cast<std::size_t>(r)] / kScaleEv;
    double p = 1.0;
    for (int k = 0; k <= order; ++k, p *= t) a(r, k) = p;
  }
  const Eigen::MatrixXd pinv = a.completeOrthogonalDecomposition().pseudoInverse();
  std::vector<double> out(static_cast<std::size_t>((order + 1) * rows));
  for (int k = 0; k <= order; ++k)
    for (Eigen::Index r = 0; r < rows; ++r)
      out[static_cast<std::size_t>(k * rows + r)] = pinv(k, r) / std::pow(kScaleEv, k);
  return out;
}

std::string window_text(double lo, double hi) {
  std::ostringstream s;
  s.precision(7);
  s << lo << "-" << hi << " eV";
  return s.str();
}
}  // namespace

SpectrumNormalizer::SpectrumNormalizer(std::span<const double> e, double e0_ev,
                                       const NormalizationOptions& options)
    : e0_ev_(e0_ev), flatten_(options.flatten), post_order_(options.post_edge_order) {
  options.validate();
  if (e.empty()) throw InputError("no energies to normalize on");
  for (std::size_t i = 1; i < e.size(); ++i)
    if (!(e[i] > e[i - 1])) {
      std::ostringstream m;
      m.precision(10);
      m << "normalization: energies must be strictly increasing, but point " << i << " is " << e[i]
        << " eV after " << e[i - 1] << " eV";
      throw InputError(m.str());
    }
  x_.resize(e.size());
  for (std::size_t i = 0; i < e.size(); ++i) x_[i] = e[i] - e0_ev;
  first_at_or_above_e0_ = static_cast<std::size_t>(
      std::find_if(x_.begin(), x_.end(), [](double x) { return x >= 0.0; }) - x_.begin());
  const double pre_lo = e0_ev + options.pre_edge_ev.from_ev,
               pre_hi = e0_ev + options.pre_edge_ev.to_ev;
  const double post_lo = e0_ev + options.post_edge_ev.from_ev,
               post_hi = e0_ev + options.post_edge_ev.to_ev;
  clipped_pre_ = pre_lo < e.front() || pre_hi > e.back();
  clipped_post_ = post_lo < e.front() || post_hi > e.back();
  std::tie(pre_begin_, pre_end_) = index_range(e, pre_lo, pre_hi);
  std::tie(post_begin_, post_end_) = index_range(e, post_lo, post_hi);
  auto too_few = [&](const char* which, double lo, double hi, std::size_t have, int need) {
    std::ostringstream m;
    m << which << " window " << window_text(lo, hi) << " (e0 = " << e0_ev << " eV) holds " << have
      << " of the " << e.size() << " energies (" << window_text(e.front(), e.back())
      << "); its fit needs at least " << need
      << ": widen the window or measure more energies there";
    return InputError(m.str());
  };
  // A line needs 2 points; 3 leave one degree of freedom for the noise estimate.
  if (pre_points() < 3) throw too_few("pre-edge", pre_lo, pre_hi, pre_points(), 3);
  if (post_points() < static_cast<std::size_t>(post_order_) + 2)
    throw too_few("post-edge", post_lo, post_hi, post_points(), post_order_ + 2);
  pre_pinv_ = polynomial_pinv(x_, pre_begin_, pre_end_, 1);
  post_pinv_ = polynomial_pinv(x_, post_begin_, post_end_, post_order_);
  // step = post intercept - pre intercept: a weighted sum of mu over both windows (disjoint), so
  // with independent noise sigma per point its standard error is sigma * sqrt(sum w^2).
  double sum_w2 = 0.0;
  for (std::size_t j = 0; j < pre_points(); ++j) sum_w2 += pre_pinv_[j] * pre_pinv_[j];
  for (std::size_t j = 0; j < post_points(); ++j) sum_w2 += post_pinv_[j] * post_pinv_[j];
  step_noise_gain_ = std::sqrt(sum_w2);
}

EnergyWindow SpectrumNormalizer::pre_edge_used_ev() const {
  return {x_[pre_begin_] + e0_ev_, x_[pre_end_ - 1] + e0_ev_};
}

EnergyWindow SpectrumNormalizer::post_edge_used_ev() const {
  return {x_[post_begin_] + e0_ev_, x_[post_end_ - 1] + e0_ev_};
}

std::vector<double> SpectrumNormalizer::linear_operator() const {
  const std::size_t n = x_.size(), n_pre = pre_points(), n_post = post_points();
  std::vector<double> op(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    double* row = op.data() + i * n;
    row[i] += 1.0;
    const double x = x_[i];
    const bool flat = flatten_ && x >= 0.0;
    // pre(E_i) = sum_j (p0_j + x p1_j) mu_j; flattened rows subtract post - pre instead of pre.
    if (!flat)
      for (std::size_t j = 0; j < n_pre; ++j)
        row[pre_begin_ + j] -= pre_pinv_[j] + x * pre_pinv_[n_pre + j];
    if (flat) {
      for (std::size_t j = 0; j < n_post; ++j) {
        double value = 0.0, power = 1.0;
        for (int k = 0; k <= post_order_; ++k, power *= x)
          value += power * post_pinv_[static_cast<std::size_t>(k) * n_post + j];
        row[post_begin_ + j] -= value;
      }
    }
  }
  return op;
}

SpectrumNormalizer::Fit SpectrumNormalizer::fit(std::span<const double> mu) const {
  const std::size_t n_pre = pre_points(), n_post = post_points();
  Fit f;
  for (std::size_t j = 0; j < n_pre; ++j) {
    f.pre_intercept += pre_pinv_[j] * mu[pre_begin_ + j];
    f.pre_slope += pre_pinv_[n_pre + j] * mu[pre_begin_ + j];
  }
  for (int k = 0; k <= post_order_; ++k)
    for (std::size_t j = 0; j < n_post; ++j)
      f.post[static_cast<std::size_t>(k)] +=
          post_pinv_[static_cast<std::size_t>(k) * n_post + j] * mu[post_begin_ + j];
  double rss = 0.0;
  for (std::size_t j = pre_begin_; j < pre_end_; ++j) {
    const double r = mu[j] - (f.pre_intercept + f.pre_slope * x_[j]);
    rss += r * r;
  }
  const double rms = std::sqrt(rss / static_cast<double>(n_pre - 2));
  f.result = {f.post[0] - f.pre_intercept, rms, rms * step_noise_gain_};
  return f;
}

void SpectrumNormalizer::fit_columns(const float* values, std::size_t stride,
                                     std::span<Fit> fits) const {
  const std::size_t n_pre = pre_points(), n_post = post_points();
  // Columns in tiles: a tile's accumulators (up to 6 x 2 KB) stay in the L1 cache while its
  // frames stream by, where a whole 2048 px row's (96 KB) would be reloaded from L2 for every
  // frame. Per spectrum the sums and their order are unchanged.
  constexpr std::size_t kTile = 256;
  const std::size_t tile = std::min(kTile, fits.size());
  std::vector<double> p0(tile), p1(tile), rss(tile);
  std::array<std::vector<double>, 3> q;
  for (int k = 0; k <= post_order_; ++k) q[static_cast<std::size_t>(k)].resize(tile);
  for (std::size_t begin = 0; begin < fits.size(); begin += kTile) {
    const std::size_t count = std::min(kTile, fits.size() - begin);
    // The next tile's values of each frame are requested while this tile is summed.
    const kernels::FrameTile frames{values + begin, stride, count,
                                    std::min(kTile, fits.size() - begin - count)};
    // Per-spectrum accumulators, filled frame by frame (j outer, spectrum inner): for each
    // spectrum the terms arrive in the order fit() adds them.
    std::fill(p0.begin(), p0.end(), 0.0), std::fill(p1.begin(), p1.end(), 0.0),
        std::fill(rss.begin(), rss.end(), 0.0);
    for (int k = 0; k <= post_order_; ++k)
      std::fill(q[static_cast<std::size_t>(k)].begin(), q[static_cast<std::size_t>(k)].end(), 0.0);
    kernels::weighted_frame_sums2(frames, pre_begin_, n_pre, pre_pinv_.data(),
                                  pre_pinv_.data() + n_pre, p0.data(), p1.data());
    // Every post-edge coefficient from one read of each frame row.
    if (post_order_ == 2)  // options.validate(): the order is 1 or 2
      kernels::weighted_frame_sums3(frames, post_begin_, n_post, post_pinv_.data(),
                                    post_pinv_.data() + n_post, post_pinv_.data() + 2 * n_post,
                                    q[0].data(), q[1].data(), q[2].data());
    else
      kernels::weighted_frame_sums2(frames, post_begin_, n_post, post_pinv_.data(),
                                    post_pinv_.data() + n_post, q[0].data(), q[1].data());
    // The pre-edge line's residuals (the tile's frames are still cached).
    kernels::line_residual_squares(frames, pre_begin_, n_pre, x_.data() + pre_begin_, p0.data(),
                                   p1.data(), rss.data());
    const double dof = static_cast<double>(n_pre - 2);
    for (std::size_t c = 0; c < count; ++c) {
      Fit& f = fits[begin + c];
      f.pre_intercept = p0[c];
      f.pre_slope = p1[c];
      f.post = {};
      for (int k = 0; k <= post_order_; ++k)
        f.post[static_cast<std::size_t>(k)] = q[static_cast<std::size_t>(k)][c];
      const double rms = std::sqrt(rss[c] / dof);
      f.result = {f.post[0] - f.pre_intercept, rms, rms * step_noise_gain_};
    }
  }
}

SpectrumNormalizer::Result SpectrumNormalizer::operator()(std::span<const double> mu,
                                                          std::span<double> out) const {
  const Fit f = fit(mu);
  if (!(f.result.edge_step > 0.0)) return f.result;
  apply(f, mu, out);
  return f.result;
}

void SpectrumNormalizer::apply(const Fit& f, std::span<const double> mu,
                               std::span<double> out) const {
  // The grid is increasing, so the points below e0 come first: two branch-free loops (the same
  // operations per point as one loop testing x >= 0, so the same values).
  const double inv_step = 1.0 / f.result.edge_step;
  const std::size_t n = x_.size(), split = flatten_ ? first_at_or_above_e0_ : n;
  kernels::normalize_range(x_.data(), mu.data(), out.data(), 0, split, f.pre_intercept, f.pre_slope,
                           f.post[0], f.post[1], f.post[2], inv_step, false);
  kernels::normalize_range(x_.data(), mu.data(), out.data(), split, n, f.pre_intercept, f.pre_slope,
                           f.post[0], f.post[1], f.post[2], inv_step, true);
}

}  // namespace xanesmap
