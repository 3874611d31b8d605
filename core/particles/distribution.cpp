#include "core/particles/distribution.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <utility>

#include "core/base/error.hpp"

namespace xanesmap {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Weights: empty, or one finite weight >= 0 per value.
void check_weights(std::span<const double> values, std::span<const double> weights) {
  if (weights.empty()) return;
  if (weights.size() != values.size())
    throw InputError("weights: " + std::to_string(weights.size()) + " weights for " +
                     std::to_string(values.size()) + " values");
  for (std::size_t i = 0; i < weights.size(); ++i)
    if (!std::isfinite(weights[i]) || weights[i] < 0.0)
      throw InputError("weights: weight " + std::to_string(i) + " is " +
                       std::to_string(weights[i]) + " (weights must be finite and >= 0)");
}

// ---------------------------------------------------------------------------------------------
// Quantiles

// Type-7 quantile of `v` (any order; partially reordered) restricted to [first, v.size()): the
// caller guarantees that every element before `first` is <= every element from `first` on and
// that the wanted order statistic is at or after `first`. Returns the quantile and the index of
// the lower order statistic (a call for a higher p may start there).
std::pair<double, std::size_t> type7_quantile(std::vector<double>& v, std::size_t first, double p) {
  const std::size_t n = v.size();
  const double h = static_cast<double>(n - 1) * p;  // 0-based position
  const auto lo = std::min(static_cast<std::size_t>(std::floor(h)), n - 1);
  const double frac = h - static_cast<double>(lo);
  const auto begin = v.begin();
  std::nth_element(begin + static_cast<std::ptrdiff_t>(first),
                   begin + static_cast<std::ptrdiff_t>(lo), v.end());
  const double x_lo = v[lo];
  if (frac <= 0.0 || lo + 1 >= n) return {x_lo, lo};
  const double x_hi = *std::min_element(begin + static_cast<std::ptrdiff_t>(lo + 1), v.end());
  return {x_lo + frac * (x_hi - x_lo), lo};
}

// Type-7 quantile of sorted values.
double sorted_quantile(const std::vector<double>& sorted, double p) {
  const std::size_t n = sorted.size();
  const double h = static_cast<double>(n - 1) * p;
  const auto lo = std::min(static_cast<std::size_t>(std::floor(h)), n - 1);
  const double frac = h - static_cast<double>(lo);
  if (frac <= 0.0 || lo + 1 >= n) return sorted[lo];
  return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

struct WeightedValue {
  double x, w;
};

// Weighted quantile (see the header): values sorted by x, all w > 0; `centre[i]` = cumulative
// weight before i + w_i / 2.
double weighted_quantile(const std::vector<WeightedValue>& v, const std::vector<double>& centre,
                         double p) {
  const std::size_t n = v.size();
  if (n == 1) return v[0].x;
  const double target = centre.front() + p * (centre.back() - centre.front());
  // First i with centre[i] >= target, then interpolate between i - 1 and i.
  const auto it = std::lower_bound(centre.begin(), centre.end(), target);
  if (it == centre.begin()) return v.front().x;
  if (it == centre.end()) return v.back().x;
  const auto i = static_cast<std::size_t>(it - centre.begin());
  const double span = centre[i] - centre[i - 1];
  const double frac = span > 0.0 ? (target - centre[i - 1]) / span : 1.0;
  return v[i - 1].x + frac * (v[i].x - v[i - 1].x);
}

// G1 correction factor sqrt(n (n - 1)) / (n - 2) applied to g1; NaN when n <= 2.
double adjusted_skewness(double g1, double n) {
  if (!(n > 2.0)) return kNaN;
  return g1 * std::sqrt(n * (n - 1.0)) / (n - 2.0);
}

// ---------------------------------------------------------------------------------------------
// Gaussian mixtures

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 ln(2 pi)

struct Mixture {
  std::vector<GaussianComponent> parts;
};

struct EmResult {
  Mixture mixture;
  double log_likelihood = kNaN;
  int iterations = 0;
  bool converged = false;
};

// EM runs on groups of samples: maximal runs of consecutive sorted samples that lie within
// kGroupWidth * min_sigma of the run's first sample, each summarized by its count, mean and sum
// of squared deviations (see count_populations in the header).
constexpr double kGroupWidth = 1.0 / 16.0;

struct SampleGroup {
  double count = 0.0, mean = 0.0, m2 = 0.0;  // m2 = sum (x - mean)^2 over the group
};

std::vector<SampleGroup> group_samples(const std::vector<double>& sorted, double width) {
  std::vector<SampleGroup> groups;
  std::size_t i = 0;
  while (i < sorted.size()) {
    const double first = sorted[i];
    std::size_t end = i + 1;
    while (end < sorted.size() && sorted[end] - first <= width) ++end;
    SampleGroup g;
    g.count = static_cast<double>(end - i);
    double sum = 0.0;
    for (std::size_t j = i; j < end; ++j) sum += sorted[j] - first;
    g.mean = first + sum / g.count;
    for (std::size_t j = i; j < end; ++j) g.m2 += (sorted[j] - g.mean) * (sorted[j] - g.mean);
    groups.push_back(g);
    i = end;
  }
  return groups;
}

// Per-component sums of the E-step, about the component's current mean (less cancellation).
struct ComponentSums {
  double n = 0.0, s1 = 0.0, s2 = 0.0;  // sum r, sum r d, sum r d^2 with d = x - mu
};

// Per-component log(weight / sigma), 1 / sigma^2 and mean; dead components (weight 0) get -inf.
struct ComponentTerms {
  double log_a[5], inv_var[5], mu[5];
  explicit ComponentTerms(const Mixture& m) {
    for (std::size_t j = 0; j < m.parts.size(); ++j) {
      const auto& c = m.parts[j];
      log_a[j] = c.weight > 0.0 ? std::log(c.weight) - std::log(c.sigma)
                                : -std::numeric_limits<double>::infinity();
      inv_var[j] = 1.0 / (c.sigma * c.sigma);
      mu[j] = c.mean;
    }
  }
};

// E-step on the groups: each group shares one responsibility vector, computed from the mean over
// the group of log(weight_j N(x; mu_j, sigma_j)), which is exact from its count, mean and m2.
// Returns the matching objective (the mixture log-likelihood with tied responsibilities; by
// Jensen's inequality a lower bound of the exact one, equal when every group is one value) and
// fills the responsibility-weighted sums.
double e_step(const std::vector<SampleGroup>& groups, const Mixture& m,
              std::vector<ComponentSums>& sums) {
  const std::size_t k = m.parts.size();
  const ComponentTerms t(m);
  sums.assign(k, ComponentSums{});
  double objective = 0.0, total_count = 0.0;
  double r[5];
  for (const auto& g : groups) {
    const double spread = g.m2 / g.count;  // mean of (x - group mean)^2
    double best = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < k; ++j) {
      const double d = g.mean - t.mu[j];
      r[j] = t.log_a[j] - 0.5 * (d * d + spread) * t.inv_var[j];
      best = std::max(best, r[j]);
    }
    double total = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      r[j] = std::exp(r[j] - best);
      total += r[j];
    }
    objective += g.count * (best + std::log(total));
    total_count += g.count;
    const double scale = g.count / total;
    for (std::size_t j = 0; j < k; ++j) {
      const double rj = r[j] * scale;  // responsibility times count
      const double d = g.mean - t.mu[j];
      sums[j].n += rj;
      sums[j].s1 += rj * d;
      sums[j].s2 += rj * (d * d + spread);
    }
  }
  return objective - total_count * kHalfLog2Pi;
}

// Exact log-likelihood of the samples under the mixture.
double log_likelihood(const std::vector<double>& x, const Mixture& m) {
  const std::size_t k = m.parts.size();
  const ComponentTerms t(m);
  double log_l = 0.0;
  double r[5];
  for (const double xi : x) {
    double best = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < k; ++j) {
      const double d = xi - t.mu[j];
      r[j] = t.log_a[j] - 0.5 * d * d * t.inv_var[j];
      best = std::max(best, r[j]);
    }
    double total = 0.0;
    for (std::size_t j = 0; j < k; ++j) total += std::exp(r[j] - best);
    log_l += best + std::log(total);
  }
  return log_l - static_cast<double>(x.size()) * kHalfLog2Pi;
}

// M-step: maximum-likelihood weights, means and sigmas (sigma floored at min_sigma, which is
// the constrained maximum, so EM still never lowers the objective).
void m_step(const std::vector<ComponentSums>& sums, double n, double min_sigma, Mixture& m) {
  for (std::size_t j = 0; j < m.parts.size(); ++j) {
    auto& c = m.parts[j];
    const auto& s = sums[j];
    // A component that has lost (almost) all its data keeps its place and shape; its weight
    // goes to what is left (possibly 0: it then describes nothing and stays dead).
    if (!(s.n > 1e-12 * n)) {
      c.weight = std::max(s.n, 0.0) / n;
      continue;
    }
    const double shift = s.s1 / s.n;
    const double var = std::max(s.s2 / s.n - shift * shift, 0.0);
    c.weight = s.n / n;
    c.mean += shift;
    c.sigma = std::max(std::sqrt(var), min_sigma);
  }
}

EmResult run_em(const std::vector<SampleGroup>& groups, double n, Mixture start,
                const MixtureOptions& o) {
  EmResult res;
  std::vector<ComponentSums> sums;
  double objective = e_step(groups, start, sums);
  for (int it = 1; it <= o.max_iterations; ++it) {
    m_step(sums, n, o.min_sigma, start);
    const double next = e_step(groups, start, sums);
    res.iterations = it;
    const double change = std::abs(next - objective) / n;
    objective = next;
    if (change <= o.tolerance) {
      res.converged = true;
      break;
    }
  }
  res.mixture = std::move(start);
  res.log_likelihood = objective;
  return res;
}

MixtureFit to_fit(EmResult r, std::size_t n) {
  MixtureFit f;
  f.parts = std::move(r.mixture.parts);
  std::sort(f.parts.begin(), f.parts.end(),
            [](const GaussianComponent& a, const GaussianComponent& b) { return a.mean < b.mean; });
  f.components = static_cast<int>(f.parts.size());
  f.log_likelihood = r.log_likelihood;
  const double free_parameters = 3.0 * f.components - 1.0;
  f.bic = -2.0 * f.log_likelihood + free_parameters * std::log(static_cast<double>(n));
  f.iterations = r.iterations;
  f.converged = r.converged;
  return f;
}

// Closed-form one-component fit (maximum likelihood, sigma floored).
MixtureFit single_gaussian(const std::vector<double>& x, double min_sigma) {
  const double n = static_cast<double>(x.size());
  double mean = 0.0;
  for (const double v : x) mean += v;
  mean /= n;
  double s1 = 0.0, s2 = 0.0;
  for (const double v : x) {
    s1 += v - mean;
    s2 += (v - mean) * (v - mean);
  }
  mean += s1 / n;
  const double var = std::max(s2 / n - (s1 / n) * (s1 / n), 0.0);
  const double sigma = std::max(std::sqrt(var), min_sigma);
  MixtureFit f;
  f.components = 1;
  f.parts = {{1.0, mean, sigma}};
  // sum (x - mean)^2 = n var about the final mean.
  f.log_likelihood = -n * (kHalfLog2Pi + std::log(sigma)) - 0.5 * n * var / (sigma * sigma);
  f.bic = -2.0 * f.log_likelihood + 2.0 * std::log(n);
  f.iterations = 0;
  f.converged = true;
  return f;
}

// Start (b)/(c): component `j` of `prev` split in two with the same weight, mean and variance.
Mixture split_start(const std::vector<GaussianComponent>& prev, std::size_t j, double min_sigma) {
  Mixture m;
  for (std::size_t i = 0; i < prev.size(); ++i) {
    if (i != j) {
      m.parts.push_back(prev[i]);
      continue;
    }
    const auto& c = prev[i];
    const double s = std::max(c.sigma * std::sqrt(3.0) / 2.0, min_sigma);
    m.parts.push_back({0.5 * c.weight, c.mean - 0.5 * c.sigma, s});
    m.parts.push_back({0.5 * c.weight, c.mean + 0.5 * c.sigma, s});
  }
  // A dead component (weight 0) would stay dead: give every component some weight back.
  double total = 0.0;
  for (auto& c : m.parts) {
    c.weight = std::max(c.weight, 1e-3);
    total += c.weight;
  }
  for (auto& c : m.parts) c.weight /= total;
  return m;
}

// Start (d): the (k-1)-component fit with component `j` duplicated at half weight. It is the
// same density, an EM fixed point: the k-component fit is never less likely than the (k-1) one.
Mixture duplicate_start(const std::vector<GaussianComponent>& prev, std::size_t j) {
  Mixture m;
  m.parts = prev;
  m.parts[j].weight *= 0.5;
  m.parts.push_back(m.parts[j]);
  return m;
}

double ashman_d(const GaussianComponent& a, const GaussianComponent& b) {
  return std::numbers::sqrt2 * std::abs(a.mean - b.mean) /
         std::sqrt(a.sigma * a.sigma + b.sigma * b.sigma);
}

// Steps 3 and 4 of count_populations (see the header).
std::vector<GaussianComponent> merge_populations(std::vector<GaussianComponent> parts,
                                                 const MixtureOptions& o) {
  std::erase_if(parts, [](const GaussianComponent& c) { return !(c.weight > 0.0); });
  while (parts.size() > 1) {
    std::size_t best_i = 0, best_j = 1;
    double best_d = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < parts.size(); ++i)
      for (std::size_t j = i + 1; j < parts.size(); ++j)
        if (const double d = ashman_d(parts[i], parts[j]); d < best_d) {
          best_d = d;
          best_i = i;
          best_j = j;
        }
    if (!(best_d < o.min_separation)) break;
    const auto a = parts[best_i], b = parts[best_j];
    const double w = a.weight + b.weight;
    const double mean = (a.weight * a.mean + b.weight * b.mean) / w;
    const double var = (a.weight * (a.sigma * a.sigma + (a.mean - mean) * (a.mean - mean)) +
                        b.weight * (b.sigma * b.sigma + (b.mean - mean) * (b.mean - mean))) /
                       w;
    parts[best_i] = {w, mean, std::sqrt(var)};
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(best_j));
  }
  // Drop the small populations, but always keep the heaviest one.
  const auto heaviest = std::max_element(
      parts.begin(), parts.end(),
      [](const GaussianComponent& a, const GaussianComponent& b) { return a.weight < b.weight; });
  std::vector<GaussianComponent> kept;
  for (auto it = parts.begin(); it != parts.end(); ++it)
    if (it == heaviest || it->weight >= o.min_weight) kept.push_back(*it);
  std::sort(kept.begin(), kept.end(),
            [](const GaussianComponent& a, const GaussianComponent& b) { return a.mean < b.mean; });
  return kept;
}

// Asymptotic Kolmogorov distribution Q(lambda) = P(K > lambda) (see the header).
double kolmogorov_q(double lambda) {
  if (!(lambda > 0.0)) return 1.0;
  if (lambda < 1.0) {
    // 1 - Q = sqrt(2 pi) / lambda sum exp(-(2j-1)^2 pi^2 / (8 lambda^2)): at lambda < 1 the
    // ratio of successive terms is below exp(-pi^2) = 5e-5, a handful of terms suffice.
    const double c = std::numbers::pi * std::numbers::pi / (8.0 * lambda * lambda);
    double sum = 0.0;
    for (int j = 1; j <= 20; ++j) {
      const double odd = 2.0 * j - 1.0;
      const double term = std::exp(-odd * odd * c);
      sum += term;
      if (term <= 1e-18 * sum) break;
    }
    return std::clamp(1.0 - std::sqrt(2.0 * std::numbers::pi) / lambda * sum, 0.0, 1.0);
  }
  // lambda >= 1: successive terms fall by at least exp(-6) = 2.5e-3.
  double sum = 0.0, sign = 1.0;
  for (int j = 1; j <= 100; ++j) {
    const double term = std::exp(-2.0 * j * j * lambda * lambda);
    sum += sign * term;
    sign = -sign;
    if (term <= 1e-18 * sum) break;
  }
  return std::clamp(2.0 * sum, 0.0, 1.0);
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Histogram

void HistogramBins::validate() const {
  if (!std::isfinite(min)) throw OptionError("min", "must be finite");
  if (!std::isfinite(max)) throw OptionError("max", "must be finite");
  if (!(max > min))
    throw OptionError(
        "max", "must be above min (" + std::to_string(min) + "), got " + std::to_string(max));
  if (bin_count == 0) throw OptionError("bin-count", "must be >= 1");
  if (bin_count > 1000000)
    throw OptionError("bin-count", "must be <= 1000000, got " + std::to_string(bin_count));
  if (!std::isfinite(max - min)) throw OptionError("max", "max - min overflows");
  // Every bin must be wider than the spacing of doubles around the edges.
  const double width = (max - min) / static_cast<double>(bin_count);
  const double magnitude = std::max(std::abs(min), std::abs(max));
  if (!(width > 16.0 * std::numeric_limits<double>::epsilon() * magnitude))
    throw OptionError("bin-count", "bins of width " + std::to_string(width) +
                                       " are below the resolution of doubles at " +
                                       std::to_string(magnitude));
}

std::vector<double> Histogram::density() const {
  std::vector<double> d(counts.size(), 0.0);
  if (!(total_weight > 0.0)) return d;
  for (std::size_t i = 0; i < counts.size() && i + 1 < edges.size(); ++i)
    d[i] = counts[i] / (total_weight * (edges[i + 1] - edges[i]));
  return d;
}

Histogram make_histogram(std::span<const double> values, std::span<const double> weights,
                         const HistogramBins& bins) {
  bins.validate();
  check_weights(values, weights);
  const std::size_t nb = bins.bin_count;
  Histogram h;
  h.edges.resize(nb + 1);
  const double range = bins.max - bins.min;
  for (std::size_t i = 0; i <= nb; ++i)
    h.edges[i] = bins.min + range * (static_cast<double>(i) / static_cast<double>(nb));
  h.edges[nb] = bins.max;  // exact, whatever the rounding above
  h.counts.assign(nb, 0.0);
  const double scale = static_cast<double>(nb) / range;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (std::isnan(v)) {
      ++h.skipped_nan;
      continue;
    }
    const double w = weights.empty() ? 1.0 : weights[i];
    ++h.samples;
    h.total_weight += w;
    if (v < bins.min) {
      h.underflow += w;
    } else if (v > bins.max) {
      h.overflow += w;
    } else {
      // Estimate, then correct against the stored edges so that bin i is exactly
      // [edges[i], edges[i+1]) (the last bin closed).
      auto b = std::min(static_cast<std::size_t>((v - bins.min) * scale), nb - 1);
      while (b > 0 && v < h.edges[b]) --b;
      while (b + 1 < nb && v >= h.edges[b + 1]) ++b;
      h.counts[b] += w;
    }
  }
  return h;
}

// ------------------------------------------------------------------------------------------------
// Summary figures

DistributionFigures describe_distribution(std::span<const double> values,
                                          std::span<const double> weights) {
  check_weights(values, weights);
  DistributionFigures f;
  if (weights.empty()) {
    std::vector<double> v;
    v.reserve(values.size());
    for (const double x : values)
      if (std::isfinite(x)) v.push_back(x);
    f.n = v.size();
    if (v.empty()) return f;
    const double n = static_cast<double>(v.size());
    double sum = 0.0, lo = v.front(), hi = v.front();
    for (const double x : v) {
      sum += x;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    double mean = sum / n;
    if (lo == hi) {
      f.mean = f.median = f.q25 = f.q75 = lo;
      f.iqr = 0.0;
      if (v.size() >= 2) f.std = 0.0;
      return f;  // skewness undefined (std == 0)
    }
    // Second pass about the first estimate of the mean: corrected mean and central moments.
    double s1 = 0.0;
    for (const double x : v) s1 += x - mean;
    mean += s1 / n;
    double m2 = 0.0, m3 = 0.0;
    for (const double x : v) {
      const double d = x - mean;
      m2 += d * d;
      m3 += d * d * d;
    }
    f.mean = std::clamp(mean, lo, hi);
    if (v.size() >= 2) f.std = std::sqrt(m2 / (n - 1.0));
    if (v.size() >= 3 && m2 > 0.0) {
      const double g1 = (m3 / n) / std::pow(m2 / n, 1.5);
      f.skewness = adjusted_skewness(g1, n);
    }
    // Quantiles in increasing order: each nth_element works on what is above the last one.
    const auto [q25, i25] = type7_quantile(v, 0, 0.25);
    const auto [q50, i50] = type7_quantile(v, i25, 0.5);
    const auto [q75, i75] = type7_quantile(v, i50, 0.75);
    (void)i75;
    f.q25 = q25;
    f.median = q50;
    f.q75 = q75;
    f.iqr = q75 - q25;
    return f;
  }

  std::vector<WeightedValue> v;
  v.reserve(values.size());
  double max_weight = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (std::isfinite(values[i]) && weights[i] > 0.0) {
      v.push_back({values[i], weights[i]});
      max_weight = std::max(max_weight, weights[i]);
    }
  f.n = v.size();
  if (v.empty()) return f;
  // Every figure is scale-invariant in w: weights relative to the largest one cannot overflow
  // or underflow when squared.
  for (auto& e : v) e.w /= max_weight;
  std::sort(v.begin(), v.end(),
            [](const WeightedValue& a, const WeightedValue& b) { return a.x < b.x; });
  const double lo = v.front().x, hi = v.back().x;
  double v1 = 0.0, v2 = 0.0, sum = 0.0;
  for (const auto& e : v) {
    v1 += e.w;
    v2 += e.w * e.w;
    sum += e.w * e.x;
  }
  double mean = sum / v1;
  if (lo == hi) {
    f.mean = f.median = f.q25 = f.q75 = lo;
    f.iqr = 0.0;
    if (v.size() >= 2) f.std = 0.0;
    return f;
  }
  double s1 = 0.0;
  for (const auto& e : v) s1 += e.w * (e.x - mean);
  mean += s1 / v1;
  double m2 = 0.0, m3 = 0.0;
  for (const auto& e : v) {
    const double d = e.x - mean;
    m2 += e.w * d * d;
    m3 += e.w * d * d * d;
  }
  f.mean = std::clamp(mean, lo, hi);
  if (v.size() >= 2) f.std = std::sqrt(m2 / (v1 - v2 / v1));
  if (v.size() >= 3 && m2 > 0.0) {
    const double g1 = (m3 / v1) / std::pow(m2 / v1, 1.5);
    f.skewness = adjusted_skewness(g1, v1 * v1 / v2);
  }
  std::vector<double> centre(v.size());
  double cumulative = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    centre[i] = cumulative + 0.5 * v[i].w;
    cumulative += v[i].w;
  }
  f.q25 = weighted_quantile(v, centre, 0.25);
  f.median = weighted_quantile(v, centre, 0.5);
  f.q75 = weighted_quantile(v, centre, 0.75);
  f.iqr = f.q75 - f.q25;
  return f;
}

// ------------------------------------------------------------------------------------------------
// Number of populations

void MixtureOptions::validate() const {
  if (max_components < 1 || max_components > 5)
    throw OptionError("max-components", "must be in 1-5, got " + std::to_string(max_components));
  if (!std::isfinite(min_separation) || min_separation < 0.0)
    throw OptionError("min-separation", "must be finite and >= 0");
  if (!std::isfinite(min_weight) || min_weight < 0.0 || min_weight >= 1.0)
    throw OptionError("min-weight", "must be in [0, 1)");
  if (!std::isfinite(min_sigma) || min_sigma <= 0.0)
    throw OptionError("min-sigma", "must be finite and > 0");
  if (max_samples < 2) throw OptionError("max-samples", "must be >= 2");
  if (max_iterations < 1) throw OptionError("max-iterations", "must be >= 1");
  if (!std::isfinite(tolerance) || tolerance < 0.0)
    throw OptionError("tolerance", "must be finite and >= 0");
}

PopulationAnalysis count_populations(std::span<const double> values,
                                     const MixtureOptions& options) {
  options.validate();
  PopulationAnalysis pa;
  std::vector<double> x;
  x.reserve(values.size());
  for (const double v : values) {
    if (!std::isfinite(v)) continue;
    ++pa.samples;
    if (std::find(options.point_values.begin(), options.point_values.end(), v) !=
        options.point_values.end())
      ++pa.point_samples;
    else
      x.push_back(v);
  }
  if (x.empty()) return pa;
  std::sort(x.begin(), x.end());
  if (x.size() > options.max_samples) {
    // Evenly spaced order statistics x_(floor((i + 0.5) n / m)).
    const std::size_t n = x.size(), m = options.max_samples;
    std::vector<double> used(m);
    for (std::size_t i = 0; i < m; ++i) {
      const auto j = static_cast<std::size_t>((static_cast<double>(i) + 0.5) *
                                              (static_cast<double>(n) / static_cast<double>(m)));
      used[i] = x[std::min(j, n - 1)];
    }
    x = std::move(used);
  }
  pa.samples_used = x.size();
  const std::size_t n = x.size();

  std::size_t distinct = 1;
  for (std::size_t i = 1; i < n && distinct < static_cast<std::size_t>(options.max_components); ++i)
    if (x[i] != x[i - 1]) ++distinct;
  const int max_k = static_cast<int>(
      std::min<std::size_t>(distinct, static_cast<std::size_t>(options.max_components)));

  pa.fits.push_back(single_gaussian(x, options.min_sigma));
  const double overall_sigma = pa.fits.front().parts.front().sigma;
  const std::vector<SampleGroup> groups =
      max_k >= 2 ? group_samples(x, kGroupWidth * options.min_sigma) : std::vector<SampleGroup>{};
  for (int k = 2; k <= max_k; ++k) {
    const auto kk = static_cast<std::size_t>(k);
    std::vector<Mixture> starts;
    Mixture quantile_start;
    for (std::size_t j = 0; j < kk; ++j)
      quantile_start.parts.push_back({1.0 / k,
                                      sorted_quantile(x, (static_cast<double>(j) + 0.5) / k),
                                      std::max(overall_sigma / k, options.min_sigma)});
    starts.push_back(std::move(quantile_start));
    const auto& prev = pa.fits.back().parts;
    std::size_t widest = 0, heaviest = 0;
    for (std::size_t j = 1; j < prev.size(); ++j) {
      if (prev[j].sigma > prev[widest].sigma) widest = j;
      if (prev[j].weight > prev[heaviest].weight) heaviest = j;
    }
    starts.push_back(split_start(prev, widest, options.min_sigma));
    if (heaviest != widest) starts.push_back(split_start(prev, heaviest, options.min_sigma));
    starts.push_back(duplicate_start(prev, widest));

    // The starts are independent: run in parallel, then chosen in their order as before.
    std::vector<EmResult> runs(starts.size());
    tbb::parallel_for(std::size_t{0}, starts.size(), [&](std::size_t i) {
      runs[i] = run_em(groups, static_cast<double>(n), std::move(starts[i]), options);
    });
    EmResult best;
    for (auto& r : runs)
      if (std::isnan(best.log_likelihood) || r.log_likelihood > best.log_likelihood)
        best = std::move(r);
    best.log_likelihood = log_likelihood(x, best.mixture);  // exact, for BIC
    pa.fits.push_back(to_fit(std::move(best), n));
  }

  const auto best_fit =
      std::min_element(pa.fits.begin(), pa.fits.end(),
                       [](const MixtureFit& a, const MixtureFit& b) { return a.bic < b.bic; });
  pa.best_components = best_fit->components;
  pa.population_parts = merge_populations(best_fit->parts, options);
  pa.populations = static_cast<int>(pa.population_parts.size());
  return pa;
}

// ------------------------------------------------------------------------------------------------
// Kolmogorov-Smirnov

KsTest ks_two_sample(std::span<const double> a, std::span<const double> b) {
  auto sorted_non_nan = [](std::span<const double> s) {
    std::vector<double> v;
    v.reserve(s.size());
    for (const double x : s)
      if (!std::isnan(x)) v.push_back(x);
    std::sort(v.begin(), v.end());
    return v;
  };
  const std::vector<double> va = sorted_non_nan(a), vb = sorted_non_nan(b);
  KsTest t;
  t.n_a = va.size();
  t.n_b = vb.size();
  if (va.empty() || vb.empty()) return t;
  // |F_a - F_b| = |i n_b - j n_a| / (n_a n_b) after i values of a and j of b: integers, exact
  // (n_a n_b < 2^63 for any sizes that fit in memory: 3e9 values each).
  const auto na = static_cast<std::int64_t>(va.size()), nb = static_cast<std::int64_t>(vb.size());
  if (nb > std::numeric_limits<std::int64_t>::max() / na)
    throw InputError("ks_two_sample: samples too large (" + std::to_string(na) + " x " +
                     std::to_string(nb) + ")");
  std::int64_t i = 0, j = 0, widest = 0;
  while (i < na && j < nb) {
    const double x = std::min(va[static_cast<std::size_t>(i)], vb[static_cast<std::size_t>(j)]);
    while (i < na && va[static_cast<std::size_t>(i)] == x) ++i;
    while (j < nb && vb[static_cast<std::size_t>(j)] == x) ++j;
    const std::int64_t diff = i * nb - j * na;
    widest = std::max(widest, diff < 0 ? -diff : diff);
  }
  // Once one sample is exhausted its CDF is 1 and the gap only shrinks: nothing more to check.
  const double dna = static_cast<double>(na), dnb = static_cast<double>(nb);
  t.statistic = static_cast<double>(widest) / (dna * dnb);
  const double ne = dna * dnb / (dna + dnb);
  const double root = std::sqrt(ne);
  const double lambda = (root + 0.12 + 0.11 / root) * t.statistic;
  t.p_value = kolmogorov_q(lambda);
  return t;
}

}  // namespace xanesmap
