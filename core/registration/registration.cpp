#include "core/registration/registration.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

#include "core/base/error.hpp"
#include "core/registration/shift_apply.hpp"
#include "core/spectral/normalization.hpp"

namespace xanesmap {

std::size_t RegistrationResult::flagged_count() const {
  return static_cast<std::size_t>(std::count(flagged.begin(), flagged.end(), std::uint8_t{1}));
}

std::size_t RegistrationResult::excluded_count() const {
  return static_cast<std::size_t>(std::count(excluded.begin(), excluded.end(), std::uint8_t{1}));
}

double default_max_shift_px(std::size_t height, std::size_t width) {
  // At least 1 px: frames of fewer than 4 px per side would otherwise get a bound below a pixel.
  return std::max(1.0, static_cast<double>(std::min(height, width)) / 4.0);
}

void RegistrationOptions::validate() const {
  if (max_shift_px && !(*max_shift_px > 0.0 && std::isfinite(*max_shift_px)))
    throw OptionError("max-shift", "must be a positive number of pixels");
  if (!(outlier_px > 0.0 && std::isfinite(outlier_px)))
    throw OptionError("outlier-px", "must be a positive number of pixels");
  if (upsample < 1 || upsample > 1000) throw OptionError("upsample", "must be 1-1000");
  if (post_edge_from_ev && !std::isfinite(*post_edge_from_ev))
    throw OptionError("post-edge-from", "must be an energy in eV");
  if (!(post_edge_offset_ev >= 0.0 && std::isfinite(post_edge_offset_ev)))
    throw OptionError("post-edge-offset", "must be a non-negative energy in eV");
  if (coarse_binning < 0 || coarse_binning > 16)
    throw OptionError("coarse-binning", "must be 0 (auto) or 1-16");
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The stack's absorption edge: the energy of the steepest rise of the frames' mean OD (every
// 4th row is plenty for a mean over a whole frame), by find_e0_max_derivative with a 3 eV half
// window after a 3-point running median. NaN when fewer than 3 frames have a finite mean or the
// grid gives no maximum.
double stack_edge_ev(const EnergyStack& od) {
  const std::size_t n = od.frame_count(), h = od.height(), w = od.width();
  std::vector<double> energies, means;
  std::vector<double> frame_means(n, kNaN);
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) {
    const ImageView<const float> frame = od.frame(i);
    double sum = 0.0;
    std::size_t count = 0;
    for (std::size_t r = 0; r < h; r += 4)
      for (std::size_t c = 0; c < w; ++c)
        if (const float v = frame(r, c); std::isfinite(v)) sum += v, ++count;
    if (count) frame_means[i] = sum / static_cast<double>(count);
  });
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(frame_means[i]))
      energies.push_back(od.energies_ev()[i]), means.push_back(frame_means[i]);
  if (means.size() < 3) return kNaN;
  // A 3-point running median first: one blank or bright frame would otherwise be the steepest
  // "rise" of the curve.
  std::vector<double> smooth(means);
  for (std::size_t i = 1; i + 1 < means.size(); ++i) {
    std::array<double, 3> three{means[i - 1], means[i], means[i + 1]};
    std::nth_element(three.begin(), three.begin() + 1, three.end());
    smooth[i] = three[1];
  }
  means = std::move(smooth);
  try {
    return find_e0_max_derivative(energies, means, 3.0);
  } catch (const Error&) {
    return kNaN;
  }
}

struct Measurement {
  double dy = 0.0, dx = 0.0, weight = 0.0;  // weight 0: not usable
};

Measurement measurement(const TranslationEstimate& t) {
  if (!t.ok || !std::isfinite(t.dy_px) || !std::isfinite(t.dx_px)) return {};
  // Inverse variance taken proportional to the squared sharpness of the correlation peak.
  return {t.dy_px, t.dx_px, std::max(t.sharpness, 1e-6) * std::max(t.sharpness, 1e-6)};
}

// The frame the shifts are relative to, for the single-frame choices; npos for "mean".
std::size_t parse_reference(const std::string& text, const EnergyStack& od) {
  const std::size_t n = od.frame_count();
  if (text == "mean") return static_cast<std::size_t>(-1);
  if (text == "first") return 0;
  if (text == "last") return n - 1;
  auto number_after = [&](const std::string& prefix) -> double {
    try {
      std::size_t used = 0;
      const double v = std::stod(text.substr(prefix.size()), &used);
      if (used + prefix.size() != text.size()) throw std::invalid_argument("trailing text");
      return v;
    } catch (const std::exception&) {
      throw OptionError("reference", "'" + text + "' is not " + prefix + "<number>");
    }
  };
  if (text.rfind("index:", 0) == 0) {
    const double index = number_after("index:");
    if (!(index >= 0 && index < static_cast<double>(n) && index == std::floor(index)))
      throw OptionError("reference", "frame index " + text.substr(6) +
                                         " is out of range (the stack has " + std::to_string(n) +
                                         " frames, 0-" + std::to_string(n - 1) + ")");
    return static_cast<std::size_t>(index);
  }
  if (text.rfind("energy:", 0) == 0) {
    const double energy = number_after("energy:");
    const auto& e = od.energies_ev();
    if (!(energy >= e.front() - 1.0 && energy <= e.back() + 1.0)) {
      std::ostringstream m;
      m << "energy " << energy << " eV is outside the stack's range " << e.front() << "-"
        << e.back() << " eV";
      throw OptionError("reference", m.str());
    }
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
      if (std::abs(e[i] - energy) < std::abs(e[best] - energy)) best = i;
    return best;
  }
  throw OptionError("reference", "'" + text + "' is not mean, first, last, index:N or energy:E");
}

// Weighted least squares per axis: direct s_i = t_i (weight w_i), chain s_{i+1} - s_i = p_i
// (weight u_i). Tiny links keep frames without any usable measurement attached to their
// neighbours (they are flagged anyway).
std::vector<double> solve_axis(const std::vector<Measurement>& direct,
                               const std::vector<Measurement>& chain, bool y_axis) {
  const auto n = static_cast<Eigen::Index>(direct.size());
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(n);
  double scale = 0.0;
  for (const auto& m : direct) scale = std::max(scale, m.weight);
  for (const auto& m : chain) scale = std::max(scale, m.weight);
  const double tiny = 1e-9 * std::max(scale, 1.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Measurement& m = direct[static_cast<std::size_t>(i)];
    a(i, i) += m.weight + tiny * (n == 1 ? 1.0 : 0.0);
    if (m.weight > 0) b(i) += m.weight * (y_axis ? m.dy : m.dx);
  }
  for (Eigen::Index i = 0; i + 1 < n; ++i) {
    const Measurement& m = chain[static_cast<std::size_t>(i)];
    const double u = m.weight + tiny;
    const double p = m.weight > 0 ? (y_axis ? m.dy : m.dx) : 0.0;
    a(i, i) += u, a(i + 1, i + 1) += u, a(i, i + 1) -= u, a(i + 1, i) -= u;
    b(i) -= u * p, b(i + 1) += u * p;
  }
  // If no frame has a direct measurement the system floats: pin the mean at 0.
  bool anchored = false;
  for (const auto& m : direct) anchored |= m.weight > 0;
  if (!anchored) a.array() += tiny / static_cast<double>(n);
  const Eigen::VectorXd s = a.ldlt().solve(b);
  return std::vector<double>(s.data(), s.data() + n);
}

}  // namespace

RegistrationResult register_stack(const EnergyStack& od, const RegistrationOptions& options,
                                  const ProgressSink& progress) {
  options.validate();
  const std::size_t n = od.frame_count();
  if (n < 2)
    throw InputError("registration needs at least two frames, the stack has " + std::to_string(n));
  TranslationOptions t;
  t.upsample = options.upsample;
  t.max_shift_px = options.max_shift_px.value_or(default_max_shift_px(od.height(), od.width()));
  t.weighting = options.weighting;
  t.window_fraction = options.window_fraction;
  t.lowpass_sigma_px = options.lowpass_sigma_px;
  t.background = BackgroundModel::constant;
  t.exhaustive_refinement = options.exhaustive_refinement;
  t.coarse_binning = options.coarse_binning;
  if (t.coarse_binning == 0) {
    t.coarse_binning = 1;
    const std::size_t side = std::min(od.height(), od.width());
    while (t.coarse_binning < 8 && side / static_cast<std::size_t>(2 * t.coarse_binning) >= 256)
      t.coarse_binning *= 2;
  }
  const auto& e = od.energies_ev();

  RegistrationResult result;
  result.max_shift_px = t.max_shift_px;
  // Frames prepared for the template (the post-edge frames) are kept for the direct and chain
  // estimates below and released round by round: a prepared frame (its half spectrum) takes about
  // as much memory as the frame itself, so the cache is at most the post-edge share of the stack,
  // held while the raw input (twice the stack and more) is already gone. During a round the
  // cache is only read (PreparedImage copies share their immutable data).
  std::vector<std::optional<PreparedImage>> prepared(n);
  auto take_prepared = [&](std::size_t i) {
    return prepared[i] ? *prepared[i] : PreparedImage(od.frame(i), t);
  };
  const std::size_t single = parse_reference(options.reference, od);
  Image<float> template_image;
  if (single != static_cast<std::size_t>(-1)) {
    result.reference_index = single;
    result.post_edge_from_ev = kNaN;
    template_image = Image<float>(od.frame(single));
    std::ostringstream d;
    d << "frame " << single << " (" << e[single] << " eV)";
    result.reference_description = d.str();
  } else {
    // Post-edge frames (or the upper third of the stack when it ends below the post-edge).
    result.post_edge_from_ev = options.post_edge_from_ev
                                   ? *options.post_edge_from_ev
                                   : stack_edge_ev(od) + options.post_edge_offset_ev;
    std::vector<std::size_t> post;
    for (std::size_t i = 0; i < n; ++i)
      if (e[i] >= result.post_edge_from_ev) post.push_back(i);
    if (post.size() < 2) {
      post.clear();
      for (std::size_t i = n - std::max<std::size_t>(2, n / 3); i < n; ++i) post.push_back(i);
    }
    // The anchor: the middle post-edge frame, or the nearest to it that holds an image (a blank
    // or all-NaN anchor would leave every frame unregistered).
    std::size_t anchor = post[post.size() / 2];
    for (std::size_t step = 0; step < 2 * post.size(); ++step) {
      const std::size_t middle = post.size() / 2, half = (step + 1) / 2;
      if (step % 2 == 1 ? middle + half >= post.size() : half > middle) continue;
      const std::size_t i = post[step % 2 == 1 ? middle + half : middle - half];
      prepared[i].emplace(od.frame(i), t);
      if (prepared[i]->ok()) {
        anchor = i;
        break;
      }
    }
    result.reference_index = anchor;
    const PreparedImage to_anchor = *prepared[anchor];
    std::size_t used = 0;
    // The estimates in parallel; the mean in the frames' order.
    std::vector<TranslationEstimate> to_anchor_estimates(post.size());
    tbb::parallel_for(std::size_t{0}, post.size(), [&](std::size_t k) {
      const std::size_t i = post[k];
      if (i == anchor) {
        to_anchor_estimates[k] = TranslationEstimate{0, 0, 1, 1, true};
        return;
      }
      if (!prepared[i]) prepared[i].emplace(od.frame(i), t);
      to_anchor_estimates[k] = estimate_translation(to_anchor, *prepared[i]);
    });
    std::vector<std::size_t> aligned;
    std::vector<double> aligned_dy, aligned_dx;
    for (std::size_t k = 0; k < post.size(); ++k) {
      const TranslationEstimate& est = to_anchor_estimates[k];
      if (!est.ok) continue;
      aligned.push_back(post[k]), aligned_dy.push_back(est.dy_px), aligned_dx.push_back(est.dx_px);
    }
    used = aligned.size();
    template_image = mean_of_shifted_frames(od, aligned, aligned_dy, aligned_dx);
    std::ostringstream d;
    d << "mean of " << used << " post-edge frames aligned to frame " << anchor << " (" << e[anchor]
      << " eV)";
    result.reference_description = d.str();
  }
  report(progress, "registration", 0, 2 * n);

  // Direct and chain measurements. Each frame is prepared (transformed) once and serves both:
  // blocks of consecutive frames run in parallel, each block preparing one frame past its end
  // for its last chain link; progress is reported between rounds of blocks, from this thread.
  const PreparedImage to_template(template_image.view(), t);
  std::vector<Measurement> direct(n), chain(n - 1);
  const auto workers =
      static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
  const std::size_t block = std::max<std::size_t>(4, (n + 4 * workers - 1) / (4 * workers));
  for (std::size_t round = 0; round < n; round += block * workers) {
    const std::size_t round_end = std::min(n, round + block * workers);
    tbb::parallel_for(round, round_end, block, [&](std::size_t start) {
      const std::size_t stop = std::min(round_end, start + block);
      std::optional<PreparedImage> current(take_prepared(start));
      for (std::size_t i = start; i < stop; ++i) {
        direct[i] = measurement(estimate_translation(to_template, *current));
        if (i + 1 >= n) break;
        PreparedImage next = take_prepared(i + 1);
        chain[i] = measurement(estimate_translation(*current, next));
        current = std::move(next);
      }
    });
    for (std::size_t i = round; i < round_end; ++i) prepared[i].reset();
    report(progress, "registration", n + round_end, 2 * n);
  }

  // Joint solution; then drop measurements that disagree with it by more than outlier_px and
  // solve again (one round of outlier rejection).
  std::vector<double> sy, sx;
  for (int round = 0; round < 2; ++round) {
    sy = solve_axis(direct, chain, true);
    sx = solve_axis(direct, chain, false);
    if (round == 1) break;
    for (std::size_t i = 0; i < n; ++i) {
      if (direct[i].weight > 0 &&
          std::hypot(direct[i].dy - sy[i], direct[i].dx - sx[i]) > options.outlier_px)
        direct[i].weight = 0.0;  // keep dy/dx finite: 0 x NaN would poison the solve
      if (i + 1 < n && chain[i].weight > 0 &&
          std::hypot(chain[i].dy - (sy[i + 1] - sy[i]), chain[i].dx - (sx[i + 1] - sx[i])) >
              options.outlier_px)
        chain[i].weight = 0.0;
    }
  }
  // Residuals against the kept measurements; rejected or missing direct estimates flag the frame.
  result.dy_px = sy, result.dx_px = sx;
  result.residual_px.assign(n, kNaN);
  result.quality.assign(n, 0.0);
  result.flagged.assign(n, 0);
  result.excluded.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    double residual = 0.0;
    bool measured = false;
    if (direct[i].weight > 0) {
      residual = std::max(residual, std::hypot(direct[i].dy - sy[i], direct[i].dx - sx[i]));
      measured = true;
    }
    for (const std::size_t c : {i - 1, i}) {
      if (c >= n - 1 || chain[c].weight <= 0) continue;  // i - 1 wraps to a huge value for i = 0
      residual = std::max(residual, std::hypot(chain[c].dy - (sy[c + 1] - sy[c]),
                                               chain[c].dx - (sx[c + 1] - sx[c])));
      measured = true;
    }
    result.residual_px[i] = measured ? residual : kNaN;
    const bool confirmed = measured && direct[i].weight > 0 && residual <= options.outlier_px;
    result.flagged[i] = confirmed ? 0 : 1;
    result.quality[i] = confirmed ? std::clamp(1.0 - residual / options.outlier_px, 0.0, 1.0) : 0.0;
  }
  // Shifts relative to the reference frame (the template's coordinates are the anchor's, but
  // the joint solution need not put the anchor exactly at 0).
  const double y0 = sy[result.reference_index], x0 = sx[result.reference_index];
  for (std::size_t i = 0; i < n; ++i) result.dy_px[i] -= y0, result.dx_px[i] -= x0;
  return result;
}

}  // namespace xanesmap
