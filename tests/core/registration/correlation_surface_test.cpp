// The correlation surface's two ways of reading the weighted cross-power spectrum: stored
// (cross_power) and made row by row on demand (WeightedRows, the fast path of large frames).
// They must give the same numbers bit for bit: the fast path is a reordering of memory traffic,
// not an approximation.
#include "core/registration/detail/correlation_surface.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <complex>
#include <cstring>
#include <numbers>
#include <vector>

#include "core/registration/detail/fft.hpp"

using namespace xanesmap;
using namespace xanesmap::correlation;

namespace {

// A smooth scene of Gaussian blobs displaced by (dy, dx), its single-precision half spectrum.
fft::ComplexFloatBuffer scene_spectrum(int n, double dy, double dx) {
  fft::FloatBuffer image = fft::float_buffer(static_cast<std::size_t>(n) * n);
  const double blobs[4][4] = {
      {40, 50, 6, 1.0}, {80, 70, 9, 0.6}, {60, 90, 4, 0.8}, {95, 30, 7, 0.5}};
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      double v = 0.0;
      for (const auto& b : blobs) {
        const double y = r - dy - b[0], x = c - dx - b[1];
        v += b[3] * std::exp(-(y * y + x * x) / (2.0 * b[2] * b[2]));
      }
      image[static_cast<std::size_t>(r) * n + c] = static_cast<float>(v);
    }
  fft::ComplexFloatBuffer spectrum =
      fft::complex_float_buffer(static_cast<std::size_t>(n) * fft::half_columns(n));
  fft::forward(n, n, image.get(), spectrum.get());
  return spectrum;
}

}  // namespace

TEST_CASE("Weighted rows made on demand equal the stored cross-power spectrum",
          "[translation][reference]") {
  // Half widths 65, 64, 66 and 67: the climb pass's vector loop (4 columns) leaves 1, 0, 2 and 3.
  for (const int n : {128, 126, 130, 132}) {
    INFO("n " << n);
    const fft::ComplexFloatBuffer moving = scene_spectrum(n, 3.37, -2.71),
                                  reference = scene_spectrum(n, 0.0, 0.0);
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
        // A climb that ends on the bound (the peak lies beyond it): neighbourhoods of 2 x 2 and
        // 2 x 3 points there.
        const GridPeak ab = grid_peak(stored, y0, x0, 100, -300, 10, false, 5, 5);
        double plain_bb = 0.0;
        const GridPeak bb = grid_peak(on_demand, y0, x0, 100, -300, 10, 5, 5, plain_bb);
        CHECK(ab.dy == y0 + 0.10);
        CHECK(ab.dy == bb.dy);
        CHECK(ab.dx == bb.dx);
        CHECK(ab.value == bb.value);
        CHECK(correlation_at(m, r, ab.dy, ab.dx) == plain_bb);
        // And it is the displacement of the scene, to the grid step (0.01 px; the half-step
        // rounding of the grid plus float spectra: 0.006 px).
        if (weighting == CorrelationWeighting::plain) {
          CHECK(std::abs(b.dy - 3.37) <= 0.006);
          CHECK(std::abs(b.dx + 2.71) <= 0.006);
        }
      }
    }
  }
}

// WeightedRows::row has an AVX2 version (4 values at a time, a scalar tail): it must give the
// bytes of the formula it documents, written out here element by element, for every weighting
// it supports, with and without the plain products, and for row lengths that leave a tail.
TEST_CASE("Weighted rows equal the element-by-element formula bit for bit",
          "[translation][reference]") {
  for (const int n : {128, 30}) {  // half widths 65 and 16: a tail of 1 and none
    const fft::ComplexFloatBuffer moving = scene_spectrum(n, 1.9, 0.6),
                                  reference = scene_spectrum(n, 0.0, 0.0);
    const HalfSpectrum m{moving.get(), n, n}, r{reference.get(), n, n};
    const int nh = fft::half_columns(n);
    for (const auto weighting : {CorrelationWeighting::plain, CorrelationWeighting::gradient})
      for (const double lowpass : {0.0, 1.0}) {
        TranslationOptions o;
        o.weighting = weighting;
        o.lowpass_sigma_px = lowpass;
        const WeightedRows rows(m, r, o);
        const double k_low = -4.0 * std::numbers::pi * std::numbers::pi * lowpass * lowpass;
        const double k_grad = 4.0 * std::numbers::pi * std::numbers::pi;
        for (int row = 0; row < n; ++row) {
          INFO("n " << n << ", weighting " << static_cast<int>(weighting) << ", low-pass "
                    << lowpass << ", row " << row);
          for (const int count : {nh, nh - 3}) {
            std::vector<double> product(2 * static_cast<std::size_t>(count), -1.0);
            std::vector<std::complex<float>> got(static_cast<std::size_t>(count)),
                got_alone(got.size());
            rows.row(row, count, product.data(), got.data());
            rows.row(row, count, nullptr, got_alone.data());
            REQUIRE(std::memcmp(got.data(), got_alone.data(), got.size() * sizeof(got[0])) == 0);
            const double fy = static_cast<double>(signed_index(row, n)) / n;
            const double gy = lowpass > 0.0 ? std::exp(k_low * fy * fy) : 1.0;
            for (int c = 0; c < count; ++c) {
              const std::complex<float> a = m.row(row)[c], b = r.row(row)[c];
              const double ar = a.real(), ai = a.imag(), br = b.real(), bi = b.imag();
              double re = ar * br + ai * bi, im = ai * br - ar * bi;
              REQUIRE(std::memcmp(&product[2 * static_cast<std::size_t>(c)], &re, sizeof re) == 0);
              REQUIRE(std::memcmp(&product[2 * static_cast<std::size_t>(c) + 1], &im, sizeof im) ==
                      0);
              const double f = static_cast<double>(signed_index(c, n)) / n;
              if (weighting == CorrelationWeighting::gradient) {
                const double g = k_grad * (fy * fy + f * f);
                re *= g, im *= g;
              }
              const double g = gy * (lowpass > 0.0 ? std::exp(k_low * f * f) : 1.0);
              const std::complex<float> expected(static_cast<float>(re * g),
                                                 static_cast<float>(im * g));
              REQUIRE(std::memcmp(&got[static_cast<std::size_t>(c)], &expected, sizeof expected) ==
                      0);
            }
          }
        }
      }
  }
}
