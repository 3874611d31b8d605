// Distributions of per-pixel values (Mn valence, edge jump...): histograms, summary figures,
// the number of populations (Gaussian mixtures chosen by BIC, then merged by Ashman's D) and
// the two-sample Kolmogorov-Smirnov test.
//
// Conventions shared by every function here:
// - NaN values (unknown pixels) are skipped, never an error. The histogram counts +-inf in its
//   underflow/overflow; the other functions skip +-inf as well (describe_distribution,
//   count_populations) or sort them like any value (ks_two_sample).
// - Weights (where accepted) must be finite and >= 0; otherwise InputError.
// - Everything is deterministic: no random initialization, no dependence on thread count.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

namespace xanesmap {

// ------------------------------------------------------------------------------------------------
// Histogram

/// Fixed bins: `bin_count` equal bins over [min, max]. Bin i is [edges[i], edges[i+1]), except
/// the last bin, which is closed on the right ([edges[n-1], max]), so `max` itself is counted.
struct HistogramBins {
  double min = 2.0;  // left edge of the first bin (same unit as the values)
  double max = 4.0;  // right edge of the last bin
  std::size_t bin_count = 80;
  /// OptionError ("min", "max", "bin_count"): non-finite edges, max <= min, 0 or > 1e6 bins,
  /// bins narrower than 16 doubles' spacing (epsilon x max(|min|, |max|)).
  void validate() const;
};

struct Histogram {
  std::vector<double> edges;    // bin_count + 1; edges[0] = min, edges[bin_count] = max exactly
  std::vector<double> counts;   // per bin, the sum of the weights (the count when unweighted)
  double underflow = 0.0;       // weight of the values below min (including -inf)
  double overflow = 0.0;        // weight of the values above max (including +inf)
  double total_weight = 0.0;    // in the bins + underflow + overflow
  std::size_t samples = 0;      // values counted (everything but NaN), whatever their weight
  std::size_t skipped_nan = 0;  // NaN values (skipped)
  /// counts[i] / (total_weight * width of bin i): a probability density whose integral over
  /// [min, max] is the in-range share (1 - (underflow + overflow) / total_weight). All zeros
  /// when total_weight == 0.
  std::vector<double> density() const;
};

/// `weights` empty = every value has weight 1; otherwise it must have the length of `values`
/// and hold finite weights >= 0 (InputError otherwise; a weight is checked even when its value
/// is NaN). OptionError for bad bins.
Histogram make_histogram(std::span<const double> values, std::span<const double> weights,
                         const HistogramBins& bins);

// ------------------------------------------------------------------------------------------------
// Summary figures

struct DistributionFigures {
  std::size_t n = 0;  // finite values used (with a weight > 0 when weighted)
  double mean = NAN, median = NAN, std = NAN, q25 = NAN, q75 = NAN, iqr = NAN, skewness = NAN;
};

/// Figures of the finite values (NaN and +-inf skipped), optionally weighted (`weights` as in
/// make_histogram; values of weight 0 do not count). All NaN when n == 0; std NaN when n < 2;
/// skewness NaN when n < 3 or std == 0 (all values equal).
///
/// Unweighted:
/// - std: sample standard deviation, sqrt(sum (x - mean)^2 / (n - 1)).
/// - median, q25, q75: linear interpolation between order statistics x_(1) <= ... <= x_(n):
///   Q(p) at position h = (n - 1) p + 1, i.e. x_(i) sits at p = (i - 1) / (n - 1) ("type 7" of
///   R. J. Hyndman & Y. Fan, Am. Stat. 50, 361 (1996); numpy's default). iqr = q75 - q25.
/// - skewness: adjusted Fisher-Pearson coefficient G1 = g1 sqrt(n (n - 1)) / (n - 2), with
///   g1 = m3 / m2^(3/2) and m_k = sum (x - mean)^k / n (D. N. Joanes & C. A. Gill, J. R. Stat.
///   Soc. D 47, 183 (1998); what Excel's SKEW and scipy's skew(bias=False) give).
/// Weighted (w_i > 0, V1 = sum w, V2 = sum w^2):
/// - mean: sum w x / V1 (equal to repeating each value w times, for integer weights).
/// - std: "reliability weights", sqrt(sum w (x - mean)^2 / (V1 - V2 / V1)): for independent
///   values of one variance sigma^2 and fixed weights, E[sum w (x - mean)^2] = (V1 - V2 / V1)
///   sigma^2, so the variance is unbiased. Scale-invariant in w; equal weights give the
///   unweighted std. Integer weights are NOT frequencies here: repeating each value w times
///   would give sum w (x - mean)^2 / (V1 - 1) instead.
/// - quantiles: each value, sorted, sits at the centre of its weight, c_i = W_i - w_i / 2
///   (W_i = cumulative weight up to and including i), rescaled so that the smallest value is at
///   p = 0 and the largest at p = 1: u_i = (c_i - c_1) / (c_n - c_1); Q(p) interpolates linearly
///   between the values around p. Equal weights give u_i = (i - 1) / (n - 1), type 7 exactly;
///   the definition is scale-invariant in w and symmetric (Q of -x is -Q(1 - p) of x).
/// - skewness: g1 with weighted moments m_k = sum w (x - mean)^k / V1, times the G1 correction
///   evaluated at Kish's effective sample size n_eff = V1^2 / V2 (L. Kish, Survey Sampling,
///   Wiley 1965); equal weights give G1 exactly; NaN when n_eff <= 2.
/// Cost: O(n) plus three nth_element calls unweighted, one sort weighted.
DistributionFigures describe_distribution(std::span<const double> values,
                                          std::span<const double> weights = {});

// ------------------------------------------------------------------------------------------------
// Number of populations

struct MixtureOptions {
  int max_components = 3;       // mixtures of 1..max_components Gaussians are fitted (1..5)
  double min_separation = 2.0;  // Ashman's D below which two components are one population (>= 0)
  // Smaller populations (share of the data) are not counted; [0, 1). 10 %: on the simulated
  // two-phase preset (3.0 patches in a 3.7 host) the pixels on the patches' edges, between the
  // two valences, form a broad third component of 5.5 %; a coexisting valence state that a
  // reader would call one holds far more of the pixels (the uncoated preset's shell: ~25 %).
  double min_weight = 0.10;
  double min_sigma = 0.01;           // floor on every component's sigma (value units, > 0): LCF
                                     // valences pile up exactly at the simplex corners 2.0 and 4.0
                                     // (point masses) and a free sigma would collapse there
  std::size_t max_samples = 200000;  // above this, EM uses max_samples order statistics (>= 2)
  int max_iterations = 500;          // EM iterations per start (>= 1)
  double tolerance = 1e-8;  // EM stops when the mean log-likelihood per sample changes less (>= 0)
  /// OptionError naming the field.
  // Values exactly equal to one of these are left out of the fit and counted in
  // PopulationAnalysis::point_samples: LCF valences clamped at a simplex corner (the smallest or
  // largest reference valence) pile up there as a point mass, which a mixture would otherwise
  // report as a population of its own (measured: a uniform 3.9 sample gave a second
  // "population" at 4.00 holding 14 % of the pixels).
  std::vector<double> point_values;
  void validate() const;
};

struct GaussianComponent {
  double weight = 0.0;  // share of the data
  double mean = 0.0;
  double sigma = 0.0;
};

struct MixtureFit {
  int components = 0;
  std::vector<GaussianComponent> parts;  // sorted by mean
  double log_likelihood = NAN;  // natural log, summed over the samples used (exact, see below)
  double bic = NAN;             // -2 log L + (3k - 1) ln(samples used)
  int iterations = 0;           // EM iterations of the retained start (0 for k = 1: closed form)
  bool converged = false;       // the retained start met the tolerance within max_iterations
};

struct PopulationAnalysis {
  std::vector<MixtureFit> fits;  // fits[k - 1] has k components; k = 1..max_components, at most
                                 // the number of distinct values used
  int best_components = 0;       // BIC's choice (lowest BIC); 0 if no data
  int populations = 0;           // populations after merging and dropping (see count_populations)
  // The counted populations, sorted by mean. Weights are shares of the fitted data (their sum is
  // below 1 when a small population was dropped).
  std::vector<GaussianComponent> population_parts;
  std::size_t samples_used = 0;   // values the mixtures were fitted to (<= max_samples)
  std::size_t samples = 0;        // finite values given
  std::size_t point_samples = 0;  // of those, equal to one of options.point_values (not fitted)
};

/// How many populations the finite values (NaN and +-inf skipped) hold.
///
/// 1. Gaussian mixtures with k = 1..max_components components are fitted by maximum likelihood
///    with the EM algorithm (A. P. Dempster, N. M. Laird & D. B. Rubin, J. R. Stat. Soc. B 39, 1
///    (1977)); k = 1 is closed-form. Every sigma is floored at min_sigma.
///    Deterministic starts: (a) means at the type-7 quantiles (j + 0.5) / k of the data, equal
///    weights, sigma = overall standard deviation / k; (b) the best (k-1)-component fit with its
///    widest component split in two (means mu -+ sigma / 2, sigma sqrt(3) / 2, half the weight
///    each: the same mean and variance); (c) as (b), splitting the heaviest component instead
///    (when it is a different one); (d) the (k-1) fit with its widest component duplicated at
///    half weight (the same density: log L never decreases with k). The start with the highest
///    final likelihood is kept.
///    Speed: EM works on groups of samples, the maximal runs of consecutive sorted samples
///    within min_sigma / 16 of the run's first one, each summarized exactly by its count, mean
///    and sum of squared deviations; the samples of a group share one responsibility vector,
///    computed from the group's mean of log(w_j N(x; mu_j, sigma_j)). This is EM on the
///    likelihood's lower bound with responsibilities tied within groups (still monotone);
///    since the groups are narrow next to any component (sigma >= min_sigma) the fit is
///    practically the sample EM's, at a cost set by the number of groups (<= 16 range /
///    min_sigma + 1), not of samples. log_likelihood and BIC are then evaluated exactly on the
///    samples used.
/// 2. The number of components is the one with the lowest BIC = -2 log L + (3k - 1) ln n
///    (G. Schwarz, Ann. Stat. 6, 461 (1978)).
/// 3. The chosen fit's components are merged while the closest pair (smallest Ashman's D =
///    sqrt(2) |mu1 - mu2| / sqrt(s1^2 + s2^2); K. M. Ashman, C. M. Bird & S. E. Zepf, Astron. J.
///    108, 2348 (1994): D > 2 is needed for a clean separation) has D < min_separation; a merged
///    pair keeps the sum of the weights and the mixture's mean and variance. BIC alone over-counts
///    one population whose shape is not Gaussian (heavy tails, skew): it is then described by
///    several components with close means, which merge here.
/// 4. Merged populations with weight < min_weight are not counted (e.g. the few per cent of pixels
///    whose LCF valence sits exactly at a simplex corner); the heaviest one always is, so there
///    is at least one population whenever there is data.
///
/// Above max_samples finite values, the mixtures are fitted to the order statistics x_(j) with
/// j = floor((i + 0.5) n / max_samples), i = 0..max_samples-1 (0-based, of the n sorted values):
/// an evenly spaced, deterministic summary with the same distribution; BIC then uses n =
/// max_samples. The log-likelihoods are those of the samples used.
/// Fewer than 2 finite values: populations = n (one component at the value, sigma = min_sigma,
/// for n = 1). Cost: one sort of the finite values, then EM on the groups of at most
/// max_samples values.
/// OptionError for bad options.
PopulationAnalysis count_populations(std::span<const double> values,
                                     const MixtureOptions& options = {});

// ------------------------------------------------------------------------------------------------
// Two-sample Kolmogorov-Smirnov test

struct KsTest {
  double statistic = NAN;        // D = sup_x |F_a(x) - F_b(x)|, in [0, 1]
  double p_value = NAN;          // asymptotic, see ks_two_sample
  std::size_t n_a = 0, n_b = 0;  // values used (NaN skipped)
};

/// Two-sample Kolmogorov-Smirnov test of "a and b come from the same distribution". NaN values
/// are skipped (+-inf are ordinary values). D is exact: both empirical CDFs are evaluated after
/// all values equal to x (ties within and across the samples) at every distinct x.
/// p-value: the asymptotic Kolmogorov distribution Q(lambda) = 2 sum_{j>=1} (-1)^(j-1)
/// exp(-2 j^2 lambda^2) (A. N. Kolmogorov, Giorn. Ist. Ital. Attuari 4, 83 (1933)) at lambda =
/// (sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) D, ne = n_a n_b / (n_a + n_b), Stephens's finite-sample
/// correction (M. A. Stephens, J. R. Stat. Soc. B 32, 115 (1970)); for lambda < 1 the equivalent
/// form 1 - (sqrt(2 pi) / lambda) sum_{j>=1} exp(-(2j - 1)^2 pi^2 / (8 lambda^2)) (the Jacobi
/// theta-function transform of the same series), which converges fast there. Clamped to [0, 1].
/// Either sample empty (after skipping NaN): statistic and p_value NaN. InputError if
/// n_a n_b >= 2^63 (D is computed in exact integer arithmetic).
///
/// Caution: the test assumes independent values. Pixels of one image are spatially correlated
/// (the beam, the registration and any smoothing spread each feature over several pixels), so
/// the effective sample sizes are much smaller than the pixel counts and the p-value overstates
/// the significance, often by many orders of magnitude. D itself (the largest difference
/// between the two cumulative distributions) is the robust figure to report.
KsTest ks_two_sample(std::span<const double> a, std::span<const double> b);

}  // namespace xanesmap
