// Sub-pixel translation between two images by cross-correlation, refined with the matrix-multiply
// upsampled DFT of M. Guizar-Sicairos, S. T. Thurman & J. R. Fienup, "Efficient subpixel image
// registration algorithms", Opt. Lett. 33, 156 (2008).
//
// Steps, for each image:
//   1. Background subtraction. Non-finite pixels (NaN = no value) are set to the background, i.e.
//      to 0 after the subtraction.
//      - plane (default): a robust plane a + b y + c x. A least-squares fit over the finite
//        pixels, then up to 2 refits to the pixels whose residual lies within 3 x 1.4826 MAD of
//        the median residual (median and MAD from at most ~65536 evenly spread pixels); a refit
//        keeping fewer than half of the finite pixels is not taken.
//      - mean: the mean of the finite pixels.
//      Why: after the window (step 2), any background left, b - a, becomes a pattern b - a
//      times the window, fixed to the detector, whose autocorrelation pulls the peak towards zero
//      shift. The mean of an image with particles lies above its empty background, and a ramp
//      is left whole by a mean: on the test scene (4 blobs and a disc on a gentle ramp, a few %
//      of the area) `mean` is off by 0.1 px; with the robust plane, upsample 1000 finds random
//      shifts within its 0.0005 px grid.
//   2. Separable Tukey window: along an axis of n pixels, pixel i sits at u = i + 0.5 in (0, n);
//      with taper length T = window_fraction * n,
//        w(u) = 0.5 (1 - cos(pi u / T))          for u < T,
//        w(u) = 0.5 (1 - cos(pi (n - u) / T))    for u > n - T,   1 in between.
//   3. Zero padding (bottom and right) to cv::getOptimalDFTSize and a 2-D FFT.
// Then, with F_r, F_m the spectra of reference and moving, and N = padded rows x padded columns:
//   R(k)      = F_m(k) conj(F_r(k))                             (plain cross-power spectrum)
//   R_w(k)    = R(k) / |R(k)|^p, p = 0 plain, 1 phase, partial_exponent for partial
//               (|R| = |F_m F_r|; terms with |R| < 1e-13 max|R| are set to 0, they are roundoff)
//               times exp(-4 pi^2 sigma^2 |f|^2) when lowpass_sigma_px = sigma > 0 (f in cycles
//               per px: both images smoothed by a Gaussian of sigma px)
//   c(s)      = Re (1/N) sum_k R_w(k) exp(+2 pi i k.s / N)      (correlation surface)
// For plain weighting c(s) = sum_x m(x) r(x - s): it peaks at s = (dy, dx), the displacement of
// the moving image's content. The coarse peak is the largest c on the integer grid (within
// max_shift_px if set; surface indices past half the padded size are negative shifts). It is
// refined by evaluating c(s) directly (DFT as matrix products, signed frequencies) on a
// ceil(1.5 upsample)^2 grid of step 1/upsample centred on the coarse peak; the largest value
// gives the shift (resolution 1/upsample px, so the rounding error is at most 0.5/upsample px).
// The real part of c is used, not |c|: an anti-correlated match is not a peak.
//
// Quality figures:
//   peak      = c_plain(dy, dx) / sqrt(E_r E_m), the normalized cross-correlation of the
//               windowed, background-subtracted images at the refined shift, whatever the
//               weighting (E = sum of the squared pixels entering the FFT). In [-1, 1]; 1 for
//               identical images up to shift, scale and background.
//   sharpness = c_w(peak) / rms{ c_w(s) : s on the integer grid of the whole padded surface,
//               circular Chebyshev distance from the coarse peak > 2 px }, where c_w is the
//               surface of the chosen weighting and c_w(peak) its refined maximum. Scale-free.
//               Not comparable across weightings: plain correlation of smooth images has a broad
//               main lobe (a few units), phase correlation a sharp one (tens to hundreds).
//               0 when no point of the surface lies more than 2 px from the peak.
//               With plain weighting it mostly reflects the scene's autocorrelation and hardly
//               responds to noise (test scene: 10.7 noise-free, 10.9 with noise of 1/3 of the
//               particle contrast, where the shift error is ~1 px); `peak` does (1.00 -> 0.11).
//   ok        = false when either image has no finite pixel or no variation left after the
//               background subtraction (RMS residual <= 1e-6 of the largest magnitude, i.e.
//               float rounding: a constant image, or a plane with the default background),
//               when peak <= 0, and with max_shift_px > 0 when the in-bound maximum
//               is not a local maximum of the unrestricted surface (one of its 8 neighbours,
//               inside or outside the bound, is larger: the true peak lies beyond the bound) or
//               the refined shift lies farther than max_shift_px from zero. A true peak outside
//               the bound can still leave an unrelated local maximum inside it (most likely with
//               phase weighting, whose surface away from the peak is noise-like): ok is then
//               true, but peak and sharpness are low.
//
//   When ok is false for a bound, the other fields still hold the in-bound result.
//
// Noise (both images noisy, white, sigma per pixel): to first order the shift error along x has
//   var = sigma^2 (S_rr + S_mm) / S_rm^2 + (pi^2 / 3) sigma^4 sum(w^4) / S_rm^2,
// S_ab = sum over pixels of (d a / dx)(d b / dx). The second (noise x noise) term dominates for
// faint or small features; lowpass_sigma_px (a width well below the feature sizes) removes most
// of it. Phase weighting whitens the noise and is the worst choice for smooth, noisy images.
//
// Known limitations: content inside the window's taper is attenuated differently in the two
// images (the window is fixed to the detector, the content moves), which biases the shift
// slightly when strong features sit at the image border. With a contrast change between the
// images (particles below/above an edge), plain correlation stays unbiased as long as features
// do not overlap; the whitened weightings (phase, partial) mix all features and can be biased
// (0.035 px with partial 0.5 on the test scene).
//
// Fast path (the default; exhaustive_refinement = true is the straightforward reference): the
// refinement does not evaluate the whole ceil(1.5 upsample)^2 grid. Newton steps on the exact
// trigonometric interpolant c(s) (its gradient and Hessian are sums over the same spectrum)
// find the continuous maximum; a hill climb on the 1/upsample grid, starting at the nearest grid
// point and evaluating 3 x 3 neighbourhoods with the same matrix-multiply DFT, then stops at a
// grid point larger than its 8 neighbours. For a peak with one maximum in the 1.5 px window (a
// correlation peak is a few px wide) that is the grid's maximum, the same value bit for bit as
// the exhaustive search; the cost falls from ceil(1.5 upsample) to ~12 spectrum passes.
// With coarse_binning b > 1 (large images), the integer peak, the checks against max_shift_px and
// the sharpness are taken on the surface at b-px spacing; its peak, refined on that surface to
// 1/20 of its spacing, starts Newton steps on the lowest half of the frequencies per axis (a
// quarter of the spectrum; full-resolution Newton steps only if those fail), and the climb on
// the full-resolution 1/upsample grid starts from their maximum. The shift is then the full-
// resolution grid maximum near that peak (not confined to the 1.5 px window), `peak` is as above
// and `sharpness` is that of the coarse surface (scale-free, comparable between estimates made
// with the same b). For plain and gradient weightings the weighted cross-power spectrum is then
// never stored: its rows are made from the two spectra as each pass needs them (the same values),
// and the climb's last pass also gives `peak`.
#pragma once

#include <complex>
#include <memory>
#include <span>

#include "core/base/image.hpp"

namespace xanesmap {

enum class CorrelationWeighting {
  plain,     // cross-correlation: cross-power spectrum F_m conj(F_r)
  phase,     // phase correlation: divided by its magnitude (whitened)
  partial,   // |F_m F_r|^(-partial_exponent) weighting in between
  gradient,  // times |2 pi f|^2: the cross-correlation of the images' gradients (their edges).
             // A fixed weighting (unlike phase/partial), so a change of contrast cannot bias it,
             // and it sharpens the broad, flat-topped peak that large smooth particles give with
             // `plain`; use it with lowpass_sigma_px against noise (a band-pass).
};

enum class BackgroundModel {
  plane,     // robust least-squares plane a + b y + c x over the finite pixels
  mean,      // the mean of the finite pixels
  constant,  // robust constant: the mean of the pixels within 3 x 1.4826 MAD of the median
             // (sigma-clipped), which leaves the background at ~0 in both images. A fitted
             // plane tilts differently as particles move across a fixed detector, and that
             // ramp, fixed to the detector, biases the peak toward zero shift (0.1 px on
             // simulated OD frames); a plain mean leaves a non-zero background that the window
             // turns into a detector-fixed pattern. Used by core/registration/registration.
};

struct TranslationOptions {
  int upsample = 100;         // upsampling factor, 1..1000: resolution 1/upsample px (1 = integer)
  double max_shift_px = 0.0;  // > 0: search the correlation peak only within this radius (px)
  CorrelationWeighting weighting = CorrelationWeighting::plain;
  double partial_exponent = 0.5;  // for `partial`, in [0, 1] (0 = plain, 1 = phase)
  double window_fraction = 0.15;  // Tukey window: fraction of each side tapered, [0, 0.5], 0 = none
  BackgroundModel background = BackgroundModel::plane;  // subtracted before windowing
  double lowpass_sigma_px = 0.0;  // > 0: Gaussian low-pass of both images (sigma, px), 0 = none
  // Speed (see "Fast path" below). coarse_binning b > 1: the integer peak, the bound checks and
  // the sharpness come from the surface at b-px spacing (the cross-power spectrum cropped to its
  // lowest 1/b of frequencies per axis), refined on that surface, then at full resolution.
  int coarse_binning = 1;              // 1..16; 1 = the coarse peak at full resolution
  bool exhaustive_refinement = false;  // true: evaluate the whole refinement grid (the reference)
  void validate() const;               // throws OptionError naming the field
};

/// Convention (shared with the whole project): (dy_px, dx_px) is the displacement of `moving`'s
/// content relative to `reference`: moving(y, x) ~ reference(y - dy, x - dx). +dy = content moved
/// down.
struct TranslationEstimate {
  double dy_px = 0.0, dx_px = 0.0;
  double peak = 0.0;       // normalized cross-correlation at the peak (see the top of this file)
  double sharpness = 0.0;  // peak of the weighted surface over its RMS away from the peak (see top)
  bool ok = false;         // false when no peak can be found (see the top of this file)
};

/// Images must have the same, non-zero size (InputError otherwise). Non-finite pixels are
/// replaced by the fitted background (the mean of the finite values with `mean`) before the
/// transform; an image with no finite values or
/// no variation gives ok = false (not an exception). Throws OptionError for invalid options.
TranslationEstimate estimate_translation(ImageView<const float> reference,
                                         ImageView<const float> moving,
                                         const TranslationOptions& options = {});

/// An image made ready for registration (background subtracted, windowed, transformed): prepare
/// each frame once, then register any two prepared with the same options and size.
class PreparedImage {
 public:
  /// Throws OptionError for invalid options, InputError for an empty image.
  PreparedImage(ImageView<const float> image, const TranslationOptions& options);
  std::size_t height() const;
  std::size_t width() const;
  const TranslationOptions& options() const;
  /// False when the image has no finite pixel or no variation (it then registers as not ok).
  bool ok() const;
  /// The transform registration uses, for inspection: the half spectrum of the background-
  /// subtracted, windowed image zero-padded to fft_rows() x fft_cols(), as fft::forward gives it
  /// (fft_rows() x (fft_cols() / 2 + 1) values, row-major; non-finite pixels at 0, the
  /// background). Empty when ok() is false.
  std::span<const std::complex<float>> spectrum() const;
  int fft_rows() const;
  int fft_cols() const;

 private:
  friend TranslationEstimate estimate_translation(const PreparedImage&, const PreparedImage&);
  struct State;
  std::shared_ptr<const State> state_;
};

/// estimate_translation(r, m, o) == estimate_translation(PreparedImage(r, o), PreparedImage(m, o)),
/// bit for bit. InputError when the two differ in size; the options are the reference's.
TranslationEstimate estimate_translation(const PreparedImage& reference,
                                         const PreparedImage& moving);

/// For repeated registrations against one reference (and for speed): the reference's windowed
/// spectrum computed once. Thread-safe const use; copies share the (immutable) reference data.
/// estimate_translation(r, m, o) == TranslationEstimator(r, o)(m), bit for bit.
class TranslationEstimator {
 public:
  /// Throws OptionError for invalid options, InputError for an empty reference.
  TranslationEstimator(ImageView<const float> reference, const TranslationOptions& options = {});
  /// Throws InputError when `moving` differs in size from the reference.
  TranslationEstimate operator()(ImageView<const float> moving) const;

  const TranslationOptions& options() const;

 private:
  PreparedImage reference_;
};

}  // namespace xanesmap
