// The correlation surface's two ways of reading the weighted cross-power spectrum: stored
// (cross_power) and made row by row on demand (WeightedRows, the fast path of large frames).
// They must give the same numbers bit for bit: the fast path is a reordering of memory traffic,
// not an approximation.
#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <cstring>
#include <vector>

#include "core/correlation_surface.hpp"
#include "core/fft.hpp"

using namespace xanesmap;
using namespace xanesmap::correlation;

namespace {

// A smooth scene of Gaussian blobs displaced by (dy, dx), its single-precision half spectrum.
fft::ComplexFloatBuffer scene_spectrum(int n, double dy, double dx) {
  fft::FloatBuffer image = fft::float_buffer(static_cast<std::size_t>(n) * n);
  const double blobs[4][4] = {{40, 50, 6, 1.0}, {80, 70, 9, 0.6}, {60, 90, 4, 0.8}, {95, 30, 7, 0.5}};
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      double v = 0.0;
      for (const auto& b : blobs) {
        const double y = r - dy - b[0], x = c - dx - b[1];
        v += b[3] * std::exp(-(y * y + x * x) / (2.0 * b[2] * b[2]));
      }
      image[static_cast<std::size_t>(r) * n + c] = static_cast<float>(v);
    }
  fft::ComplexFloatBuffer spectrum = fft::complex_float_buffer(static_cast<std::size_t>(n) * fft::half_columns(n));
  fft::forward(n, n, image.get(), spectrum.get());
  return spectrum;
}

}  // namespace

TEST_CASE("Weighted rows made on demand equal the stored cross-power spectrum", "[translation][reference]") {
  constexpr int n = 128;
  const fft::ComplexFloatBuffer moving = scene_spectrum(n, 3.37, -2.71), reference = scene_spectrum(n, 0.0, 0.0);
  const HalfSpectrum m{moving.get(), n, n}, r{reference.get(), n, n};
  const std::size_t half = static_cast<std::size_t>(n) * fft::half_columns(n);
  for (const auto weighting : {CorrelationWeighting::plain, CorrelationWeighting::gradient}) {
    for (const double lowpass : {0.0, 1.0}) {
      TranslationOptions o;
      o.weighting = weighting;
      o.lowpass_sigma_px = lowpass;
      INFO("weighting " << static_cast<int>(weighting) << ", low-pass " << lowpass);
      REQUIRE(WeightedRows::supports(o));
      std::vector<std::complex<float>> stored_data(half);
      cross_power(m, r, o, stored_data.data());
      const HalfSpectrum stored{stored_data.data(), n, n};
      const WeightedRows on_demand(m, r, o);

      // Crops: the same bytes.
      for (const int crop : {n / 2, n / 8}) {
        const std::size_t crop_half = static_cast<std::size_t>(crop) * fft::half_columns(crop);
        std::vector<std::complex<float>> a(crop_half), b(crop_half);
        crop_spectrum(stored, crop, crop, a.data());
        crop_spectrum(on_demand, crop, crop, b.data());
        CHECK(std::memcmp(a.data(), b.data(), crop_half * sizeof(std::complex<float>)) == 0);
      }
      // The climb from a few grid steps away (several steps), and the plain correlation at the
      // peak: the same values as the stored spectrum's climb followed by correlation_at.
      const double y0 = 3.0, x0 = -3.0;
      const GridPeak a = grid_peak(stored, y0, x0, 100, -300, 300, false, 30, 25);
      const double plain_a = correlation_at(m, r, a.dy, a.dx);
      double plain_b = 0.0;
      const GridPeak b = grid_peak(on_demand, y0, x0, 100, -300, 300, 30, 25, plain_b);
      CHECK(a.dy == b.dy);
      CHECK(a.dx == b.dx);
      CHECK(a.value == b.value);
      CHECK(plain_a == plain_b);
      // And it is the displacement of the scene, to the grid step (0.01 px; the half-step
      // rounding of the grid plus float spectra: 0.006 px).
      if (weighting == CorrelationWeighting::plain) {
        CHECK(std::abs(b.dy - 3.37) <= 0.006);
        CHECK(std::abs(b.dx + 2.71) <= 0.006);
      }
    }
  }
}
