#include "core/spectral/reference_fit.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "core/base/error.hpp"

namespace xanesmap {

std::string to_string(LcfConstraint c) {
  return c == LcfConstraint::simplex ? "simplex" : "sum-to-one";
}

LcfConstraint parse_lcf_constraint(const std::string& text) {
  if (text == "simplex") return LcfConstraint::simplex;
  if (text == "sum-to-one") return LcfConstraint::sum_to_one;
  throw OptionError("lcf-constraint", "'" + text + "' is not simplex or sum-to-one");
}

namespace {
constexpr double kFeasibilityTolerance = 1e-12;  // fractions this far below 0 count as 0
}

LinearCombinationFit::LinearCombinationFit(std::vector<std::vector<double>> references,
                                           std::vector<double> valences, LcfConstraint constraint,
                                           bool free_amplitude)
    : refs_(std::move(references)),
      valences_(std::move(valences)),
      constraint_(constraint),
      free_amplitude_(free_amplitude) {
  const std::size_t k = refs_.size();
  if (k < 2 || k != valences_.size())
    throw InputError("a linear-combination fit needs at least two references, got " +
                     std::to_string(k));
  if (k > kMaxLcfReferences)
    throw OptionError("refs",
                      "at most " + std::to_string(kMaxLcfReferences) + " references can be fitted");
  points_ = refs_[0].size();
  for (const auto& r : refs_)
    if (r.size() != points_) throw InputError("references differ in length on the fit grid");
  if (points_ < k + 1)
    throw InputError("the fit window holds " + std::to_string(points_) + " energies; fitting " +
                     std::to_string(k) + " references needs at least " + std::to_string(k + 1));
  gram_.assign(k * k, 0.0);
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t b = 0; b < k; ++b)
      for (std::size_t i = 0; i < points_; ++i) gram_[a * k + b] += refs_[a][i] * refs_[b][i];

  auto make_face = [&](std::uint32_t members, Face& face) {
    face.members = members;
    for (std::size_t j = 0; j < k; ++j)
      if (members & (1u << j)) face.index.push_back(j);
    const auto m = static_cast<Eigen::Index>(face.index.size());
    Eigen::MatrixXd sub(m, m);
    for (Eigen::Index r = 0; r < m; ++r)
      for (Eigen::Index c = 0; c < m; ++c)
        sub(r, c) = gram_[face.index[static_cast<std::size_t>(r)] * k +
                          face.index[static_cast<std::size_t>(c)]];
    Eigen::FullPivLU<Eigen::MatrixXd> lu(sub);
    // Relative threshold: references that agree to ~1e-10 of their norm are indistinguishable.
    lu.setThreshold(1e-10);
    if (!lu.isInvertible()) return false;
    const Eigen::MatrixXd g = lu.inverse();
    const Eigen::VectorXd g1 = g * Eigen::VectorXd::Ones(m);
    face.g.assign(g.data(), g.data() + m * m);  // symmetric: storage order does not matter
    face.g_ones.assign(g1.data(), g1.data() + m);
    face.ones_g_ones = g1.sum();
    return face.ones_g_ones > 0.0;
  };
  const std::uint32_t all = (1u << k) - 1u;
  if (!make_face(all, full_))
    throw InputError(
        "the references are linearly dependent on the fit window: a linear-combination "
        "fit cannot tell them apart (remove one, or widen the window)");
  if (constraint == LcfConstraint::sum_to_one) {
    faces_.push_back(full_);
    return;
  }
  for (std::uint32_t members = 1; members <= all; ++members) {
    Face face;
    if (make_face(members, face)) faces_.push_back(std::move(face));
  }
}

LcfResult LinearCombinationFit::operator()(std::span<const double> y) const {
  const std::size_t k = valences_.size();
  std::array<double, kMaxLcfReferences> b{};
  double yy = 0.0;
  // y'y and A'y in one pass over y: independent sums side by side, each in the order of a
  // separate loop (the same values).
  auto dots = [&]<std::size_t K>() {
    const double* r[K];
    double s[K];
    for (std::size_t j = 0; j < K; ++j) r[j] = refs_[j].data(), s[j] = 0.0;
    for (std::size_t i = 0; i < points_; ++i) {
      const double v = y[i];
      yy += v * v;
      for (std::size_t j = 0; j < K; ++j) s[j] += r[j][i] * v;
    }
    for (std::size_t j = 0; j < K; ++j) b[j] = s[j];
  };
  switch (k) {
    case 2:
      dots.template operator()<2>();
      break;
    case 3:
      dots.template operator()<3>();
      break;
    case 4:
      dots.template operator()<4>();
      break;
    default:
      for (std::size_t i = 0; i < points_; ++i) yy += y[i] * y[i];
      for (std::size_t j = 0; j < k; ++j) {
        double sum = 0.0;
        const double* r = refs_[j].data();
        for (std::size_t i = 0; i < points_; ++i) sum += r[i] * y[i];
        b[j] = sum;
      }
  }
  LcfResult best;
  double best_objective = std::numeric_limits<double>::infinity();
  std::array<double, kMaxLcfReferences> f{};
  for (const Face& face : faces_) {
    const std::size_t m = face.index.size();
    std::array<double, kMaxLcfReferences> gb{};
    double ones_gb = 0.0;
    for (std::size_t r = 0; r < m; ++r) {
      double s = 0.0;
      for (std::size_t c = 0; c < m; ++c) s += face.g[r * m + c] * b[face.index[c]];
      gb[r] = s;
      ones_gb += s;
    }
    // Free amplitude: plain least squares on the face (g = G b); else the sum-to-one solution.
    const double lambda = free_amplitude_ ? 0.0 : (ones_gb - 1.0) / face.ones_g_ones;
    f.fill(0.0);
    bool feasible = true;
    const bool simplex = constraint_ == LcfConstraint::simplex;
    for (std::size_t r = 0; r < m; ++r) {
      const double value = gb[r] - face.g_ones[r] * lambda;
      if (simplex && value < -kFeasibilityTolerance) feasible = false;
      f[face.index[r]] = simplex ? std::max(value, 0.0) : value;
    }
    if (!feasible) continue;
    // |A f - y|^2 = y'y - 2 f'b + f' (A'A) f
    double objective = yy;
    for (std::size_t a = 0; a < k; ++a) {
      if (f[a] == 0.0) continue;
      objective -= 2.0 * f[a] * b[a];
      for (std::size_t c = 0; c < k; ++c) objective += f[a] * gram_[a * k + c] * f[c];
    }
    if (objective < best_objective) {
      best_objective = objective;
      best.fractions = f;
    }
  }
  if (!std::isfinite(best_objective)) return best;  // ok = false: nothing feasible
  const double rss = std::max(0.0, best_objective);
  best.rfactor = yy > 0.0 ? rss / yy : std::numeric_limits<double>::quiet_NaN();
  best.rss = rss;
  double amplitude = 1.0;
  if (free_amplitude_) {
    amplitude = 0.0;
    for (std::size_t j = 0; j < k; ++j) amplitude += best.fractions[j];
    if (!(amplitude > 0.0)) return best;  // ok = false: no positive combination fits
    for (std::size_t j = 0; j < k; ++j) best.fractions[j] /= amplitude;
  }
  best.ok = true;
  best.amplitude = amplitude;
  best.valence = 0.0;
  for (std::size_t j = 0; j < k; ++j) best.valence += best.fractions[j] * valences_[j];
  // Valence variance J' C J from the full-set covariance (see the header).
  const std::size_t parameters = free_amplitude_ ? k : k - 1;
  const double s2 = rss / static_cast<double>(points_ - parameters);
  std::array<double, kMaxLcfReferences> jac{};
  for (std::size_t j = 0; j < k; ++j)
    jac[j] = free_amplitude_ ? (valences_[j] - best.valence) / amplitude : valences_[j];
  double jgj = 0.0, j_g1 = 0.0;
  for (std::size_t r = 0; r < k; ++r) {
    double gj = 0.0;
    for (std::size_t c = 0; c < k; ++c) gj += full_.g[r * k + c] * jac[c];
    jgj += jac[r] * gj;
    j_g1 += jac[r] * full_.g_ones[r];
  }
  const double variance = free_amplitude_ ? s2 * jgj : s2 * (jgj - j_g1 * j_g1 / full_.ones_g_ones);
  best.valence_sigma = std::sqrt(std::max(0.0, variance));
  return best;
}

std::vector<double> LinearCombinationFit::model(const LcfResult& fit) const {
  std::vector<double> out(points_, 0.0);
  for (std::size_t j = 0; j < valences_.size(); ++j)
    for (std::size_t i = 0; i < points_; ++i)
      out[i] += fit.amplitude * fit.fractions[j] * refs_[j][i];
  return out;
}

}  // namespace xanesmap

namespace xanesmap {

std::array<double, kMaxLcfReferences> LinearCombinationFit::valence_gradient(
    const LcfResult& fit) const {
  const std::size_t k = valences_.size();
  // Free amplitude: v = sum g_k v_k / sum g_k, g = G A'y: dv/dy = (G J)' A', J_k = (v_k - v)/s.
  // Sum-to-one: f = C A'y + const, C = G - G1 1'G / 1'G1: dv/dy = (C v)' A'.
  std::array<double, kMaxLcfReferences> jac{}, c{};
  for (std::size_t j = 0; j < k; ++j)
    jac[j] = free_amplitude_ ? (valences_[j] - fit.valence) / fit.amplitude : valences_[j];
  double g1_dot_jac = 0.0;
  for (std::size_t j = 0; j < k; ++j) g1_dot_jac += full_.g_ones[j] * jac[j];
  for (std::size_t r = 0; r < k; ++r) {
    double value = 0.0;
    for (std::size_t col = 0; col < k; ++col) value += full_.g[r * k + col] * jac[col];
    if (!free_amplitude_) value -= full_.g_ones[r] * g1_dot_jac / full_.ones_g_ones;
    c[r] = value;
  }
  return c;
}

}  // namespace xanesmap
