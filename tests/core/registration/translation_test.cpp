#include "core/registration/translation.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <vector>

#include "core/base/error.hpp"
#include "core/base/random.hpp"
#include "core/registration/detail/fft.hpp"

using namespace xanesmap;

namespace {

// A smooth analytic scene, rendered (not interpolated) at any displacement: four Gaussian blobs
// ("particles", contrast scaled by `blob_scale`), a disc with an erf-softened edge, on a gentle
// linear ramp. Every feature sits at least 3 sigma + 8 px inside the flat part of the default
// window (taper 0.15 x 160 = 24 rows, 0.15 x 176 = 26.4 columns), so shifts up to 8 px are seen
// through a window of 1. 160 x 176 pads to 160 x 180 for the FFT: the padding path is exercised.
constexpr std::size_t kHeight = 160, kWidth = 176;

struct Blob {
  double y, x, sigma, amplitude;
};
constexpr Blob kBlobs[] = {{55.0, 60.0, 3.0, 1.0},
                           {100.0, 120.0, 4.5, 0.8},
                           {62.0, 118.0, 2.5, 1.2},
                           {110.0, 58.0, 5.0, 0.7}};
constexpr double kDiscY = 85.0, kDiscX = 90.0, kDiscRadius = 12.0, kDiscEdge = 1.5,
                 kDiscAmplitude = 0.5;

double scene(double y, double x, double blob_scale) {
  double v = 0.3 + 0.002 * y + 0.0015 * x;
  for (const Blob& b : kBlobs) {
    const double r2 = (y - b.y) * (y - b.y) + (x - b.x) * (x - b.x);
    v += blob_scale * b.amplitude * std::exp(-r2 / (2.0 * b.sigma * b.sigma));
  }
  const double r = std::hypot(y - kDiscY, x - kDiscX);
  v += kDiscAmplitude * 0.5 * std::erfc((r - kDiscRadius) / (std::numbers::sqrt2 * kDiscEdge));
  return v;
}

// The scene displaced by (dy, dx): image(y, x) = scene(y - dy, x - dx); plus white Gaussian noise.
Image<float> render(double dy, double dx, double blob_scale = 1.0, double noise_sigma = 0.0,
                    std::uint64_t seed = 0) {
  Image<float> image(kHeight, kWidth);
  Random random({seed, 0x7a11});
  for (std::size_t r = 0; r < kHeight; ++r)
    for (std::size_t c = 0; c < kWidth; ++c) {
      double v = scene(static_cast<double>(r) - dy, static_cast<double>(c) - dx, blob_scale);
      if (noise_sigma > 0.0) v += random.normal(0.0, noise_sigma);
      image(r, c) = static_cast<float>(v);
    }
  return image;
}

// First-order error propagation for the plain-correlation shift along x (the x axis is
// representative: the scene has no preferred direction). Moving = g (blobs scaled by
// `moving_blob_scale`), reference = f, both with white noise sigma, window w. At the true shift
// the slope of the surface has variance sigma^2 (S_ff + S_gg) (noise x signal) plus
// sigma^4 (pi^2 / 3) sum w^4 (noise x noise: pi^2 / 3 is the mean squared angular frequency of
// white noise), and the curvature is S_fg, where S_ab = sum (d a / dx)(d b / dx) over the pixels:
//   var = sigma^2 (S_ff + S_gg) / S_fg^2 + (pi^2 / 3) sigma^4 sum w^4 / S_fg^2.
// The first term alone, 2 sigma^2 / S_ff for equal contrast, is the Cramer-Rao bound of a known
// scene. Valid while the predicted error is well below the peak width (about 1 px here).
double predicted_rms(double sigma, double moving_blob_scale) {
  auto tukey = [](std::size_t n, std::size_t i) {  // the header's formula, default fraction 0.15
    const double u = static_cast<double>(i) + 0.5, t = 0.15 * static_cast<double>(n);
    const double d = std::min(u, static_cast<double>(n) - u);
    return d < t ? 0.5 * (1.0 - std::cos(std::numbers::pi * d / t)) : 1.0;
  };
  double sff = 0.0, sgg = 0.0, sfg = 0.0, w4 = 0.0;
  for (std::size_t r = 0; r < kHeight; ++r)
    for (std::size_t c = 0; c < kWidth; ++c) {
      const double y = static_cast<double>(r), x = static_cast<double>(c), h = 1e-4;
      const double gf = (scene(y, x + h, 1.0) - scene(y, x - h, 1.0)) / (2 * h);
      const double gg =
          (scene(y, x + h, moving_blob_scale) - scene(y, x - h, moving_blob_scale)) / (2 * h);
      // The ramp (0.0015 / px) is removed with the background: it carries no shift.
      sff += (gf - 0.0015) * (gf - 0.0015), sgg += (gg - 0.0015) * (gg - 0.0015),
          sfg += (gf - 0.0015) * (gg - 0.0015);
      const double w = tukey(kHeight, r) * tukey(kWidth, c);
      w4 += w * w * w * w;
    }
  const double s2 = sigma * sigma;
  return std::sqrt((s2 * (sff + sgg) + std::numbers::pi * std::numbers::pi / 3.0 * s2 * s2 * w4) /
                   (sfg * sfg));
}

struct Shift {
  double dy, dx;
};

// RMS error (over both axes: sqrt(mean(ey^2 + ex^2) / 2)) over `draws` noisy pairs: the scene
// rendered once, independent white noise (seeded by `seed_base` and the draw) added per draw.
double rms_error(const TranslationOptions& options, Shift shift, double sigma,
                 double moving_blob_scale, int draws, std::uint64_t seed_base) {
  const Image<float> ref_clean = render(0.0, 0.0),
                     mov_clean = render(shift.dy, shift.dx, moving_blob_scale);
  Image<float> ref = ref_clean, mov = mov_clean;
  double sum = 0.0;
  for (int i = 0; i < draws; ++i) {
    Random random({seed_base, static_cast<std::uint64_t>(i)});
    for (std::size_t k = 0; k < ref.size(); ++k) {
      ref.pixels()[k] = static_cast<float>(ref_clean.pixels()[k] + random.normal(0.0, sigma));
      mov.pixels()[k] = static_cast<float>(mov_clean.pixels()[k] + random.normal(0.0, sigma));
    }
    const TranslationEstimate e = estimate_translation(ref.view(), mov.view(), options);
    const double ey = e.dy_px - shift.dy, ex = e.dx_px - shift.dx;
    sum += ey * ey + ex * ex;
  }
  return std::sqrt(sum / (2.0 * draws));
}

TranslationOptions with_weighting(CorrelationWeighting w, double exponent = 0.5) {
  TranslationOptions o;
  o.weighting = w;
  o.partial_exponent = exponent;
  return o;
}

}  // namespace

TEST_CASE("Translation sign convention: moving(y, x) = reference(y - dy, x - dx)",
          "[translation]") {
  // One blob at (50, 60) in the reference, at (53, 58) in the moving image: (+3, -2).
  Image<float> ref(100, 120, 0.0f), mov(100, 120, 0.0f);
  for (std::size_t r = 0; r < 100; ++r)
    for (std::size_t c = 0; c < 120; ++c) {
      const double y = static_cast<double>(r), x = static_cast<double>(c);
      ref(r, c) = static_cast<float>(std::exp(-((y - 50) * (y - 50) + (x - 60) * (x - 60)) / 18.0));
      mov(r, c) = static_cast<float>(std::exp(-((y - 53) * (y - 53) + (x - 58) * (x - 58)) / 18.0));
    }
  const TranslationEstimate e = estimate_translation(ref.view(), mov.view());
  REQUIRE(e.ok);
  // Integer shift of a band-limited blob: only the 0.01 px grid rounding could show, and the
  // grid contains the exact answer.
  CHECK_THAT(e.dy_px, Catch::WithinAbs(3.0, 1e-9));
  CHECK_THAT(e.dx_px, Catch::WithinAbs(-2.0, 1e-9));
  CHECK(e.peak > 0.999);
}

TEST_CASE("Identical images give zero shift and a peak of 1", "[translation]") {
  const Image<float> ref = render(0.0, 0.0);
  for (auto w :
       {CorrelationWeighting::plain, CorrelationWeighting::phase, CorrelationWeighting::partial}) {
    const TranslationEstimate e = estimate_translation(ref.view(), ref.view(), with_weighting(w));
    REQUIRE(e.ok);
    CHECK(e.dy_px == 0.0);
    CHECK(e.dx_px == 0.0);
    CHECK_THAT(e.peak, Catch::WithinAbs(1.0, 1e-12));
    CHECK(e.sharpness > 1.0);
  }
}

TEST_CASE("Sub-pixel shifts of a smooth scene are recovered to 0.01 px", "[translation]") {
  // Noise-free, features inside the flat part of the window: the error left is the 1/100 px grid
  // rounding (<= 0.005 px) plus the scene's slight lack of band limit; 0.01 px is the target.
  const Image<float> ref = render(0.0, 0.0);
  const Shift shift = GENERATE(Shift{1.25, -0.5}, Shift{-3.37, 2.81}, Shift{0.01, -0.04},
                               Shift{7.9, -6.2}, Shift{-0.5, 0.5}, Shift{4.444, 5.555});
  const auto weighting = GENERATE(CorrelationWeighting::plain, CorrelationWeighting::phase,
                                  CorrelationWeighting::partial);
  CAPTURE(shift.dy, shift.dx, static_cast<int>(weighting));
  const Image<float> mov = render(shift.dy, shift.dx);
  const TranslationEstimate e =
      estimate_translation(ref.view(), mov.view(), with_weighting(weighting));
  REQUIRE(e.ok);
  CHECK_THAT(e.dy_px, Catch::WithinAbs(shift.dy, 0.01));
  CHECK_THAT(e.dx_px, Catch::WithinAbs(shift.dx, 0.01));
  CHECK(e.peak > 0.99);
}

TEST_CASE("Low-pass keeps the sub-pixel accuracy, the NCC peak stays unfiltered", "[translation]") {
  // Smoothing both images by the same Gaussian does not move the correlation peak; `peak` is
  // still the NCC of the unfiltered images (1 for identical ones).
  TranslationOptions o;
  o.lowpass_sigma_px = 1.5;
  const Image<float> ref = render(0.0, 0.0), mov = render(-3.37, 2.81);
  const TranslationEstimate same = estimate_translation(ref.view(), ref.view(), o);
  REQUIRE(same.ok);
  CHECK(same.dy_px == 0.0);
  CHECK(same.dx_px == 0.0);
  CHECK_THAT(same.peak, Catch::WithinAbs(1.0, 1e-12));
  const TranslationEstimate e = estimate_translation(ref.view(), mov.view(), o);
  REQUIRE(e.ok);
  CHECK_THAT(e.dy_px, Catch::WithinAbs(-3.37, 0.01));
  CHECK_THAT(e.dx_px, Catch::WithinAbs(2.81, 0.01));
  CHECK(e.peak > 0.99);
}

TEST_CASE("Upsample 1 gives the nearest integer shift", "[translation]") {
  TranslationOptions o;
  o.upsample = 1;
  const Image<float> ref = render(0.0, 0.0), mov = render(2.3, -4.6);
  const TranslationEstimate e = estimate_translation(ref.view(), mov.view(), o);
  REQUIRE(e.ok);
  CHECK(e.dy_px == 2.0);
  CHECK(e.dx_px == -5.0);
}

TEST_CASE("Mean background: what is left of the background pulls the shift towards zero",
          "[translation]") {
  // Documents why the robust plane is the default: after a mean subtraction the ramp is still
  // there (a shifted ramp is the ramp plus a constant) and the particles lift the mean above the
  // empty background; times the window, both leave a pattern fixed to the detector whose
  // autocorrelation peaks at zero shift (measured: 0.1 px off, against < 0.005 px).
  const Shift shift{7.9, -6.2};
  const Image<float> ref = render(0.0, 0.0), mov = render(shift.dy, shift.dx);
  TranslationOptions mean;
  mean.background = BackgroundModel::mean;
  const TranslationEstimate em = estimate_translation(ref.view(), mov.view(), mean);
  const TranslationEstimate ep = estimate_translation(ref.view(), mov.view());
  const double error_mean = std::hypot(em.dy_px - shift.dy, em.dx_px - shift.dx);
  const double error_plane = std::hypot(ep.dy_px - shift.dy, ep.dx_px - shift.dx);
  CHECK(error_plane < 0.01);
  CHECK(error_mean > error_plane);
}

TEST_CASE("Noise: plain correlation follows the first-order error prediction", "[translation]") {
  // Fixed seeds, shift (-3.37, 2.81). Noise sigma = 1 / SNR (a particle contrast of 1; the
  // blobs are 0.7 to 1.2, the disc 0.5). An RMS over n draws (2n errors) scatters by about
  // 1/sqrt(4n) relative: 7% for 50 draws, 10% for 25.
  const Shift shift{-3.37, 2.81};
  // SNR 20, 50 draws: in the linear regime (prediction 0.085 px, measured 0.085). Allowed:
  // 1.3 x the prediction (over 4 standard deviations of the RMS) plus the 0.005 px grid.
  const double sigma20 = 1.0 / 20.0;
  const double rms20 = rms_error(TranslationOptions{}, shift, sigma20, 1.0, 50, 1000);
  CAPTURE(rms20, predicted_rms(sigma20, 1.0));
  CHECK(rms20 < 1.3 * predicted_rms(sigma20, 1.0) + 0.005);
  // SNR 3: the noise x noise term dominates (prediction 3.6 px, beyond the ~1 px peak width, so
  // the linearization no longer holds; measured 1.1 px). Graceful means no collapse onto noise
  // peaks (phase correlation: about 20 px here): below 1.5 px. 25 draws.
  const double sigma3 = 1.0 / 3.0;
  const double rms3 = rms_error(TranslationOptions{}, shift, sigma3, 1.0, 25, 2000);
  CAPTURE(rms3);
  CHECK(rms3 < 1.5);
  // A Gaussian low-pass (sigma 1.5 px, well below the particle sizes) removes most of the noise
  // x noise term: at least a factor 2 better (measured 0.24 px).
  TranslationOptions lowpass;
  lowpass.lowpass_sigma_px = 1.5;
  const double rms3_lowpass = rms_error(lowpass, shift, sigma3, 1.0, 25, 2000);
  CAPTURE(rms3_lowpass);
  CHECK(rms3_lowpass < 0.5 * rms3);
}

TEST_CASE("Contrast change: blobs 5x fainter in the moving image", "[translation]") {
  // Below an absorption edge the particles are faint but the geometry is the same. Noise-free,
  // plain correlation stays at the true shift (the features do not overlap, so near zero lag
  // only their symmetric autocorrelations add up) to the 0.01 px target.
  const Shift shift{1.25, -0.5};
  const Image<float> ref = render(0.0, 0.0), mov = render(shift.dy, shift.dx, 0.2);
  const TranslationEstimate e = estimate_translation(ref.view(), mov.view());
  REQUIRE(e.ok);
  CHECK_THAT(e.dy_px, Catch::WithinAbs(shift.dy, 0.01));
  CHECK_THAT(e.dx_px, Catch::WithinAbs(shift.dx, 0.01));
  CHECK(e.peak < 0.99);  // not the same content: the NCC shows it
  // With noise at SNR 20, 25 draws: the prediction uses the cross-curvature of the two
  // contrasts (0.21 px); 1.3 x is 3 standard deviations of a 25-draw RMS.
  const double sigma = 1.0 / 20.0;
  const double rms = rms_error(TranslationOptions{}, shift, sigma, 0.2, 25, 5000);
  CAPTURE(rms, predicted_rms(sigma, 0.2));
  CHECK(rms < 1.3 * predicted_rms(sigma, 0.2) + 0.005);
}

TEST_CASE("max_shift_px: a true shift beyond the bound is never a confident wrong answer",
          "[translation]") {
  // True shift (6, 8) = 10 px, bound 5 px. Documented behaviour: ok = false when the in-bound
  // maximum is not a local maximum of the whole surface (plain correlation of a smooth scene:
  // the surface rises towards the true peak, so the in-bound maximum sits on the boundary).
  // All three weightings give ok = false here. The quality figures alone would NOT tell:
  // plain correlation's in-bound maximum has peak 0.80 and sharpness 8.3 (10.7 at the true
  // peak), so ok is the flag to use. Should an unrelated local maximum lie inside the bound
  // (possible with phase weighting on other scenes), ok = true, and then the sharpness and the
  // NCC peak must be low: that branch is checked too.
  const Image<float> ref = render(0.0, 0.0), mov = render(6.0, 8.0);
  const auto weighting = GENERATE(CorrelationWeighting::plain, CorrelationWeighting::phase,
                                  CorrelationWeighting::partial);
  CAPTURE(static_cast<int>(weighting));
  TranslationOptions o = with_weighting(weighting);
  const TranslationEstimate unbounded = estimate_translation(ref.view(), mov.view(), o);
  REQUIRE(unbounded.ok);
  CHECK_THAT(unbounded.dy_px, Catch::WithinAbs(6.0, 0.01));
  CHECK_THAT(unbounded.dx_px, Catch::WithinAbs(8.0, 0.01));
  o.max_shift_px = 5.0;
  const TranslationEstimate e = estimate_translation(ref.view(), mov.view(), o);
  CAPTURE(e.ok, e.dy_px, e.dx_px, e.peak, e.sharpness, unbounded.peak, unbounded.sharpness);
  if (weighting == CorrelationWeighting::plain) CHECK_FALSE(e.ok);
  if (e.ok) {
    CHECK(std::hypot(e.dy_px, e.dx_px) <= 5.0);
    CHECK(e.peak < 0.75 * unbounded.peak);
    CHECK(e.sharpness < 0.1 * unbounded.sharpness);
  }
  // Within the bound, the bound changes nothing.
  o.max_shift_px = 12.0;
  const TranslationEstimate inside = estimate_translation(ref.view(), mov.view(), o);
  CHECK(inside.ok);
  CHECK(inside.dy_px == unbounded.dy_px);
  CHECK(inside.dx_px == unbounded.dx_px);
  CHECK(inside.sharpness == unbounded.sharpness);
}

TEST_CASE("Blank images give ok = false, not an exception", "[translation]") {
  const Image<float> scene_image = render(0.0, 0.0);
  const Image<float> constant(kHeight, kWidth, 0.7f), zeros(kHeight, kWidth, 0.0f);
  const Image<float> all_nan(kHeight, kWidth, std::numeric_limits<float>::quiet_NaN());
  // A pure plane has no variation left once the (default) plane background is removed.
  Image<float> plane_image(kHeight, kWidth);
  for (std::size_t r = 0; r < kHeight; ++r)
    for (std::size_t c = 0; c < kWidth; ++c)
      plane_image(r, c) =
          static_cast<float>(1.0 + 0.01 * static_cast<double>(r) - 0.02 * static_cast<double>(c));
  for (const Image<float>* blank :
       {&constant, &zeros, &all_nan, static_cast<const Image<float>*>(&plane_image)}) {
    CHECK_FALSE(estimate_translation(scene_image.view(), blank->view()).ok);
    CHECK_FALSE(estimate_translation(blank->view(), scene_image.view()).ok);
    CHECK_FALSE(estimate_translation(blank->view(), blank->view()).ok);
  }
  TranslationOptions mean;
  mean.background = BackgroundModel::mean;
  CHECK_FALSE(estimate_translation(scene_image.view(), constant.view(), mean).ok);
}

TEST_CASE("NaN pixels are replaced by the background", "[translation]") {
  // Invalid pixels in the background region of both images (a 6x6 patch, a dead column stretch,
  // scattered pixels): they become the fitted background, which the scene nearly equals there.
  // They are fixed to the detector, so they pull slightly towards zero shift: 0.02 px allowed.
  const Shift shift{-3.37, 2.81};
  Image<float> ref = render(0.0, 0.0), mov = render(shift.dy, shift.dx);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Image<float>* im : {&ref, &mov}) {
    for (std::size_t r = 30; r < 36; ++r)
      for (std::size_t c = 140; c < 146; ++c) (*im)(r, c) = nan;
    for (std::size_t r = 60; r < 90; ++r) (*im)(r, 30) = nan;
  }
  Random random({42});
  for (int i = 0; i < 40; ++i) {
    mov(static_cast<std::size_t>(random.uniform(0, kHeight)),
        static_cast<std::size_t>(random.uniform(0, 30))) = nan;
    ref(static_cast<std::size_t>(random.uniform(130, kHeight)),
        static_cast<std::size_t>(random.uniform(0, kWidth))) = nan;
  }
  const TranslationEstimate e = estimate_translation(ref.view(), mov.view());
  REQUIRE(e.ok);
  CHECK(std::isfinite(e.peak));
  CHECK_THAT(e.dy_px, Catch::WithinAbs(shift.dy, 0.02));
  CHECK_THAT(e.dx_px, Catch::WithinAbs(shift.dx, 0.02));
}

TEST_CASE(
    "NaN pixels in frames without padding: a few corrected in the row spectra, many transformed "
    "again",
    "[translation]") {
  // 160 x 160 views of the scene: 160 = 2^5 x 5 needs no padding, so the frames take the fused
  // pass of the constant background. Up to 4 x 160 = 640 non-finite pixels are corrected between
  // the row and the column transforms; with more (about 1700 distinct of 2000 draws in a
  // 30 x 160 strip) the frame is transformed again. In the background regions of the test above,
  // with its tolerance (0.02 px, the same pull towards zero shift).
  const Shift shift{-3.37, 2.81};
  TranslationEstimate clean;
  for (const int n_nan : {0, 120, 2000}) {
    CAPTURE(n_nan);
    Image<float> ref = render(0.0, 0.0), mov = render(shift.dy, shift.dx);
    Random random({11, static_cast<std::uint64_t>(n_nan)});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int i = 0; i < n_nan; ++i) {
      ref(static_cast<std::size_t>(random.uniform(0, 30)),
          static_cast<std::size_t>(random.uniform(0, 160))) = nan;
      mov(static_cast<std::size_t>(random.uniform(130, kHeight)),
          static_cast<std::size_t>(random.uniform(0, 160))) = nan;
    }
    const ImageView<const float> ref160(ref.data(), kHeight, 160, ref.width()),
        mov160(mov.data(), kHeight, 160, mov.width());
    const TranslationEstimate e = estimate_translation(ref160, mov160);
    REQUIRE(e.ok);
    CHECK(std::isfinite(e.peak));
    CHECK_THAT(e.dy_px, Catch::WithinAbs(shift.dy, 0.02));
    CHECK_THAT(e.dx_px, Catch::WithinAbs(shift.dx, 0.02));
    if (n_nan == 0) clean = e;
    // A few invalid background pixels barely move the estimate (0.005 px: a quarter of the
    // tolerance above; the pull grows with their number).
    if (n_nan == 120) {
      CHECK_THAT(e.dy_px, Catch::WithinAbs(clean.dy_px, 0.005));
      CHECK_THAT(e.dx_px, Catch::WithinAbs(clean.dx_px, 0.005));
    }
  }
}

TEST_CASE("The spectrum of an unpadded frame with NaN pixels is that of v - a with 0 at them",
          "[translation]") {
  // Whatever the path (corrected in the row spectra: 120 pixels; transformed again: 2000 draws),
  // the prepared spectrum S must be the transform of y = v - a at the finite pixels and 0 at the
  // others, for the one constant a of the frame. With Z the transform of v (0 at the non-finite)
  // and M that of the finite-pixel mask, S = Z - a M; a follows from the zero frequency.
  for (const int n_nan : {0, 120, 2000}) {
    CAPTURE(n_nan);
    Image<float> frame = render(1.3, -0.7);
    Random random({13, static_cast<std::uint64_t>(n_nan)});
    for (int i = 0; i < n_nan; ++i)
      frame(static_cast<std::size_t>(random.uniform(0, 30)),
            static_cast<std::size_t>(random.uniform(0, 160))) =
          std::numeric_limits<float>::quiet_NaN();
    const ImageView<const float> view(frame.data(), kHeight, 160, frame.width());
    TranslationOptions o;
    o.background = BackgroundModel::constant;
    o.window_fraction = 0.0;  // no window: the fused pass (registration's set-up)
    const PreparedImage prepared(view, o);
    REQUIRE(prepared.ok());
    REQUIRE(prepared.fft_rows() == static_cast<int>(kHeight));
    REQUIRE(prepared.fft_cols() == 160);
    const int rows = prepared.fft_rows(), cols = prepared.fft_cols(),
              half = fft::half_columns(cols);
    const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    fft::FloatBuffer v = fft::float_buffer(n), mask = fft::float_buffer(n);
    double finite = 0.0, norm = 0.0;
    for (std::size_t r = 0; r < kHeight; ++r)
      for (std::size_t c = 0; c < 160; ++c) {
        const float x = view(r, c);
        const bool ok = std::isfinite(x);
        v[r * 160 + c] = ok ? x : 0.0f;
        mask[r * 160 + c] = ok ? 1.0f : 0.0f;
        finite += ok ? 1.0 : 0.0;
        norm += ok ? std::abs(static_cast<double>(x)) : 0.0;
      }
    const std::size_t nh = static_cast<std::size_t>(rows) * static_cast<std::size_t>(half);
    fft::ComplexFloatBuffer z = fft::complex_float_buffer(nh), m = fft::complex_float_buffer(nh);
    fft::forward(rows, cols, v.get(), z.get());
    fft::forward(rows, cols, mask.get(), m.get());
    const std::span<const std::complex<float>> spectrum = prepared.spectrum();
    REQUIRE(spectrum.size() == nh);
    const double a =
        (static_cast<double>(z[0].real()) - static_cast<double>(spectrum[0].real())) / finite;
    CHECK(a > 0.3);  // the scene's background level and more (its gradient)
    CHECK(a < 0.9);
    // Single-precision transforms of the same image: errors near a float epsilon times the
    // sums of |pixels| (Z: norm; a M: a x the finite count); 1e-6 of their sum bounds them (the
    // fft tests' bound), and a pixel of the wrong value (~a) or a missing impulse (d, the
    // median's distance to a, times each impulse) shows above it.
    const double bound = 1e-6 * (norm + a * finite);
    double worst = 0.0;
    for (std::size_t i = 0; i < nh; ++i) {
      const std::complex<double> expected =
          std::complex<double>(z[i]) - a * std::complex<double>(m[i]);
      worst = std::max(worst, std::abs(std::complex<double>(spectrum[i]) - expected));
    }
    CHECK(worst <= bound);
  }
}

TEST_CASE("Views with a stride are read correctly", "[translation]") {
  // The scene inside a larger buffer (garbage around it): same result as the packed images.
  const Shift shift{1.25, -0.5};
  const Image<float> ref = render(0.0, 0.0), mov = render(shift.dy, shift.dx);
  Image<float> big(kHeight + 10, kWidth + 7, 1e6f);
  for (std::size_t r = 0; r < kHeight; ++r)
    for (std::size_t c = 0; c < kWidth; ++c) big(r + 5, c + 3) = mov(r, c);
  const ImageView<const float> strided(big.data() + 5 * big.width() + 3, kHeight, kWidth,
                                       big.width());
  const TranslationEstimate a = estimate_translation(ref.view(), mov.view());
  const TranslationEstimate b = estimate_translation(ref.view(), strided);
  CHECK(a.dy_px == b.dy_px);
  CHECK(a.dx_px == b.dx_px);
  CHECK(a.peak == b.peak);
}

TEST_CASE("Odd sizes, a single row and no window work", "[translation]") {
  // 97 x 101 (101 pads to 108) without window: a blob far from the border.
  TranslationOptions o;
  o.window_fraction = 0.0;
  auto blob = [](std::size_t h, std::size_t w, double y0, double x0) {
    Image<float> im(h, w);
    for (std::size_t r = 0; r < h; ++r)
      for (std::size_t c = 0; c < w; ++c) {
        const double y = static_cast<double>(r) - y0, x = static_cast<double>(c) - x0;
        im(r, c) = static_cast<float>(std::exp(-(y * y + x * x) / 32.0));
      }
    return im;
  };
  const TranslationEstimate e =
      estimate_translation(blob(97, 101, 48, 50).view(), blob(97, 101, 45.6, 52.07).view(), o);
  REQUIRE(e.ok);
  // Float images: 1e-7 relative rounding is far below the grid; the grid rounding is 0.005 px.
  CHECK_THAT(e.dy_px, Catch::WithinAbs(-2.4, 0.006));
  CHECK_THAT(e.dx_px, Catch::WithinAbs(2.07, 0.006));
  const TranslationEstimate row =
      estimate_translation(blob(1, 101, 0, 50).view(), blob(1, 101, 0, 53.5).view());
  REQUIRE(row.ok);
  CHECK(row.dy_px == 0.0);
  CHECK_THAT(row.dx_px, Catch::WithinAbs(3.5, 0.006));
}

TEST_CASE("TranslationEstimator gives the same results as estimate_translation", "[translation]") {
  const Image<float> ref = render(0.0, 0.0, 1.0, 0.05, 7);
  for (auto w :
       {CorrelationWeighting::plain, CorrelationWeighting::phase, CorrelationWeighting::partial}) {
    const TranslationOptions o = with_weighting(w);
    const TranslationEstimator estimator(ref.view(), o);
    for (Shift s : {Shift{1.25, -0.5}, Shift{-3.37, 2.81}}) {
      const Image<float> mov = render(s.dy, s.dx, 0.5, 0.05, 8);
      const TranslationEstimate a = estimator(mov.view());
      const TranslationEstimate b = estimate_translation(ref.view(), mov.view(), o);
      const TranslationEstimate again = estimator(mov.view());
      CHECK(a.dy_px == b.dy_px);
      CHECK(a.dx_px == b.dx_px);
      CHECK(a.peak == b.peak);
      CHECK(a.sharpness == b.sharpness);
      CHECK(a.ok == b.ok);
      CHECK(again.dy_px == a.dy_px);
      CHECK(again.dx_px == a.dx_px);
    }
  }
}

TEST_CASE("Size mismatch and empty images are input errors", "[translation]") {
  const Image<float> a(64, 64, 1.0f), b(64, 63, 1.0f), empty;
  CHECK_THROWS_AS(estimate_translation(a.view(), b.view()), InputError);
  CHECK_THROWS_AS(TranslationEstimator(a.view())(b.view()), InputError);
  CHECK_THROWS_AS(estimate_translation(empty.view(), empty.view()), InputError);
}

TEST_CASE("Translation options are validated, naming the field", "[translation]") {
  auto field_of = [](TranslationOptions o) -> std::string {
    try {
      o.validate();
    } catch (const OptionError& e) {
      return e.option();
    }
    return "";
  };
  TranslationOptions o;
  CHECK(field_of(o).empty());
  o.upsample = 0;
  CHECK(field_of(o) == "--upsample");
  o = {};
  o.upsample = 1001;
  CHECK(field_of(o) == "--upsample");
  o = {};
  o.max_shift_px = -1.0;
  CHECK(field_of(o) == "--max-shift");
  o.max_shift_px = std::numeric_limits<double>::infinity();
  CHECK(field_of(o) == "--max-shift");
  o = {};
  o.partial_exponent = 1.5;
  CHECK(field_of(o) == "--partial-exponent");
  o.partial_exponent = std::numeric_limits<double>::quiet_NaN();
  CHECK(field_of(o) == "--partial-exponent");
  o = {};
  o.window_fraction = 0.6;
  CHECK(field_of(o) == "--window-fraction");
  o.window_fraction = -0.1;
  CHECK(field_of(o) == "--window-fraction");
  o = {};
  o.weighting = static_cast<CorrelationWeighting>(7);
  CHECK(field_of(o) == "--weighting");
  o = {};
  o.lowpass_sigma_px = -0.5;
  CHECK(field_of(o) == "--lowpass-sigma");
  o = {};
  o.background = static_cast<BackgroundModel>(7);
  CHECK(field_of(o) == "--background");
  // The estimator validates too.
  o = {};
  o.upsample = -3;
  const Image<float> a(16, 16, 1.0f);
  CHECK_THROWS_AS(TranslationEstimator(a.view(), o), OptionError);
  CHECK_THROWS_AS(estimate_translation(a.view(), a.view(), o), OptionError);
}

// Not run by default (hidden tag): the weighting comparison table.
TEST_CASE("Translation weighting comparison (report)", "[.][translation-report]") {
  struct Case {
    const char* name;
    double sigma, moving_blob_scale;
  };
  const Case cases[] = {{"noise-free", 0.0, 1.0},
                        {"SNR 20", 1.0 / 20, 1.0},
                        {"SNR 3", 1.0 / 3, 1.0},
                        {"blobs 5x fainter, noise-free", 0.0, 0.2},
                        {"blobs 5x fainter, SNR 20", 1.0 / 20, 0.2},
                        {"blobs 5x fainter, SNR 3", 1.0 / 3, 0.2}};
  const Shift shift{-3.37, 2.81};
  TranslationOptions mean, lowpass;
  mean.background = BackgroundModel::mean;
  lowpass.lowpass_sigma_px = 1.5;
  std::printf("%-30s %9s %9s %9s %9s %9s %9s\n", "case", "predicted", "plain", "phase", "partial",
              "plain+lp", "plain/mean");
  for (const Case& c : cases) {
    const int draws = c.sigma > 0 ? 50 : 1;
    auto rms = [&](const TranslationOptions& o) {
      return rms_error(o, shift, c.sigma, c.moving_blob_scale, draws, 1000);
    };
    std::printf("%-30s %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f\n", c.name,
                predicted_rms(c.sigma, c.moving_blob_scale),
                rms(with_weighting(CorrelationWeighting::plain)),
                rms(with_weighting(CorrelationWeighting::phase)),
                rms(with_weighting(CorrelationWeighting::partial)), rms(lowpass), rms(mean));
  }
}

// Guards the fast refinement (Newton steps, then a climb on the 1/upsample grid): the same
// shift, bit for bit, as evaluating the whole ceil(1.5 upsample)^2 grid, for every weighting,
// with and without noise, a window and the low-pass. (Both evaluate the same grid points with
// the same sums, so the values are identical, and the peak has a single maximum in the window.)
TEST_CASE("Fast refinement finds the exhaustive grid maximum", "[translation][reference]") {
  const std::vector<Shift> shifts{{0.37, -1.73}, {-4.21, 2.06}, {6.5, 6.5}, {-0.004, 0.996}};
  for (const auto weighting : {CorrelationWeighting::plain, CorrelationWeighting::gradient,
                               CorrelationWeighting::partial}) {
    for (const double noise : {0.0, 0.05}) {
      TranslationOptions fast;
      fast.weighting = weighting;
      fast.lowpass_sigma_px = noise > 0.0 ? 1.0 : 0.0;
      TranslationOptions exhaustive = fast;
      exhaustive.exhaustive_refinement = true;
      std::uint64_t seed = 1;
      for (const Shift& s : shifts) {
        const Image<float> reference = render(0.0, 0.0, 1.0, noise, seed++);
        const Image<float> moving = render(s.dy, s.dx, 1.0, noise, seed++);
        const TranslationEstimate a = estimate_translation(reference.view(), moving.view(), fast);
        const TranslationEstimate b =
            estimate_translation(reference.view(), moving.view(), exhaustive);
        INFO("weighting " << static_cast<int>(weighting) << " noise " << noise << " shift " << s.dy
                          << ", " << s.dx);
        CHECK(a.dy_px == b.dy_px);
        CHECK(a.dx_px == b.dx_px);
        CHECK(a.sharpness == b.sharpness);
        CHECK(a.peak == b.peak);
        CHECK(a.ok == b.ok);
      }
    }
  }
}

// Guards the coarse path for large frames: with the integer peak found on the surface at 4 px
// spacing, the refined shift is the full-resolution grid maximum, the same as without binning
// to the grid step (0.01 px), and the true shift is found as well as without it.
TEST_CASE("Coarse peaks at 4 px spacing give the full-resolution shift",
          "[translation][reference]") {
  TranslationOptions full;
  full.lowpass_sigma_px = 1.0;
  TranslationOptions coarse = full;
  coarse.coarse_binning = 4;
  std::uint64_t seed = 100;
  for (const Shift& s : std::vector<Shift>{{0.37, -1.73}, {-4.21, 2.06}, {7.3, -6.9}}) {
    const Image<float> reference = render(0.0, 0.0, 1.0, 0.02, seed++);
    const Image<float> moving = render(s.dy, s.dx, 1.0, 0.02, seed++);
    const TranslationEstimate a = estimate_translation(reference.view(), moving.view(), full);
    const TranslationEstimate b = estimate_translation(reference.view(), moving.view(), coarse);
    INFO("shift " << s.dy << ", " << s.dx << ": full " << a.dy_px << ", " << a.dx_px << " coarse "
                  << b.dy_px << ", " << b.dx_px);
    REQUIRE(b.ok);
    // One grid step: the same maximum, up to a tie within rounding between neighbouring points.
    CHECK(std::abs(a.dy_px - b.dy_px) <= 0.0100001);
    CHECK(std::abs(a.dx_px - b.dx_px) <= 0.0100001);
    CHECK(b.peak > 0.9);
  }
}

// With upsample 1 the coarse path still returns whole pixels, those of the full-resolution path.
TEST_CASE("Coarse peaks with upsample 1 give whole-pixel shifts", "[translation]") {
  TranslationOptions full;
  full.upsample = 1;
  TranslationOptions coarse = full;
  coarse.coarse_binning = 4;
  const Image<float> reference = render(0.0, 0.0), moving = render(3.2, -5.7);
  const TranslationEstimate a = estimate_translation(reference.view(), moving.view(), full);
  const TranslationEstimate b = estimate_translation(reference.view(), moving.view(), coarse);
  CHECK(b.dy_px == a.dy_px);
  CHECK(b.dx_px == a.dx_px);
  CHECK(b.dy_px == 3.0);
  CHECK(b.dx_px == -6.0);
}
