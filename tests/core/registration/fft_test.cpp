// FFTW wisdom (core/registration/detail/fft.hpp): the plans measured in a process can be exported
// and imported, and the planning counts say how each plan was made.
#include "core/registration/detail/fft.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <complex>
#include <stdexcept>
#include <utility>
#include <vector>

using namespace xanesmap;

TEST_CASE("FFT wisdom: measured plans are counted, exported and accepted back", "[fft]") {
  // 512 x 528: no other test transforms images of 528 columns (so both plans are new), at or
  // above the 512 px where plans are measured.
  const int rows = 512, cols = 528;
  const fft::PlanningStats before = fft::planning_stats();
  fft::FloatBuffer in = fft::float_buffer(static_cast<std::size_t>(rows) * cols);
  for (std::size_t i = 0; i < static_cast<std::size_t>(rows) * cols; ++i)
    in[i] = static_cast<float>(i % 7);
  fft::ComplexFloatBuffer out =
      fft::complex_float_buffer(static_cast<std::size_t>(rows) * fft::half_columns(cols));
  fft::forward(rows, cols, in.get(), out.get());
  const fft::PlanningStats after = fft::planning_stats();
  // Two plans: the row transforms of 16-row blocks (512 = 32 blocks, no shorter last one) and
  // the column transforms.
  CHECK(after.measured + after.from_wisdom == before.measured + before.from_wisdom + 2);
  CHECK(after.measure_s >= before.measure_s);
  const std::complex<float> dc = out[0];
  // The sum of i % 7 over the image: exact in float (every partial sum is an integer < 2^24).
  double sum = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(rows) * cols; ++i)
    sum += static_cast<double>(i % 7);
  CHECK(dc.real() == static_cast<float>(sum));

  const fft::Wisdom w = fft::export_wisdom();
  CHECK(w.single_precision.find("fftwf_wisdom") != std::string::npos);
  CHECK(fft::import_wisdom(w));
  // The same transform after the import: the same plan, the same values.
  fft::ComplexFloatBuffer again =
      fft::complex_float_buffer(static_cast<std::size_t>(rows) * fft::half_columns(cols));
  fft::forward(rows, cols, in.get(), again.get());
  CHECK(std::equal(out.get(), out.get() + static_cast<std::size_t>(rows) * fft::half_columns(cols),
                   again.get()));
}

TEST_CASE("FFT wisdom: text FFTW does not accept is refused", "[fft]") {
  CHECK_FALSE(fft::import_wisdom({"(fftw-3.3.10 fftwf_wisdom #x1 (garbage", ""}));
  CHECK_FALSE(fft::import_wisdom({"", "not wisdom at all"}));
  CHECK(fft::import_wisdom({}));  // nothing to import is not an error
}

TEST_CASE("FFT: the row-block transform is the 2D DFT, with a short last block and odd sizes",
          "[fft]") {
  // 37 rows: two 16-row blocks and a 5-row one; 21 columns: odd, 11 half columns. Below 512 px:
  // FFTW_ESTIMATE plans (deterministic).
  for (const auto& size :
       {std::pair{37, 21}, std::pair{1, 8}, std::pair{16, 1}, std::pair{33, 32}}) {
    const int rows = size.first, cols = size.second;
    CAPTURE(rows, cols);
    const int half = fft::half_columns(cols);
    std::vector<double> image(static_cast<std::size_t>(rows) * cols);
    for (std::size_t i = 0; i < image.size(); ++i)
      image[i] = std::sin(0.37 * static_cast<double>(i * i % 101)) + 0.5;
    int calls = 0, next_row = 0;
    fft::ComplexFloatBuffer out = fft::complex_float_buffer(static_cast<std::size_t>(rows) * half);
    fft::forward_rows(
        rows, cols,
        [&](int row0, int count, float* block) {
          CHECK(row0 == next_row);  // blocks in order, each once
          next_row = row0 + count;
          ++calls;
          for (int k = 0; k < count * cols; ++k)
            block[k] = static_cast<float>(image[static_cast<std::size_t>(row0) * cols + k]);
        },
        out.get());
    CHECK(next_row == rows);
    CHECK(calls == (rows + 15) / 16);
    // The DFT of the float image, summed in double.
    double norm = 0.0;
    for (const double v : image) norm += std::abs(static_cast<double>(static_cast<float>(v)));
    for (int ky = 0; ky < rows; ++ky)
      for (int kx = 0; kx < half; ++kx) {
        std::complex<double> sum = 0.0;
        for (int y = 0; y < rows; ++y)
          for (int x = 0; x < cols; ++x) {
            const double phase =
                -2.0 * 3.14159265358979323846 *
                (static_cast<double>(ky * y) / rows + static_cast<double>(kx * x) / cols);
            sum += static_cast<double>(
                       static_cast<float>(image[static_cast<std::size_t>(y) * cols + x])) *
                   std::polar(1.0, phase);
          }
        // Single-precision transforms: the error of a coefficient grows like a float epsilon
        // (1.2e-7) times the image's norm and sqrt(log2 of the size) (about 3e-7 x the sum of
        // |pixels| here); 1e-6 of the sum of |pixels| (the largest any coefficient can be) is
        // above that, and far below the O(1) errors of a wrong offset, stride or block plan.
        CHECK(std::abs(std::complex<double>(out[static_cast<std::size_t>(ky) * half + kx]) - sum) <=
              1e-6 * norm);
      }
    // forward() over a stored image is the same computation: the same bits.
    fft::FloatBuffer stored = fft::float_buffer(image.size());
    for (std::size_t i = 0; i < image.size(); ++i) stored[i] = static_cast<float>(image[i]);
    fft::ComplexFloatBuffer again =
        fft::complex_float_buffer(static_cast<std::size_t>(rows) * half);
    fft::forward(rows, cols, stored.get(), again.get());
    CHECK(std::equal(out.get(), out.get() + static_cast<std::size_t>(rows) * half, again.get()));
  }
}

TEST_CASE("FFT: an output array without FFTW's alignment is refused", "[fft]") {
  fft::ComplexFloatBuffer out = fft::complex_float_buffer(8 * 5 + 1);
  // One float past an FFTW buffer's start: 4 bytes off every SIMD alignment.
  auto* shifted = reinterpret_cast<std::complex<float>*>(reinterpret_cast<float*>(out.get()) + 1);
  CHECK_THROWS_AS(
      fft::forward_rows(
          8, 8, [](int, int count, float* block) { std::fill(block, block + count * 8, 1.0f); },
          shifted),
      std::invalid_argument);
}

TEST_CASE("FFT: impulses added between the row and column transforms are those pixels added",
          "[fft]") {
  const int rows = 37, cols = 21, half = fft::half_columns(cols);
  std::vector<float> image(static_cast<std::size_t>(rows) * cols);
  for (std::size_t i = 0; i < image.size(); ++i)
    image[i] = static_cast<float>(std::cos(0.23 * static_cast<double>(i % 53)));
  const std::vector<std::pair<int, int>> points{{0, 0},   {5, 20},  {36, 7},
                                                {12, 12}, {12, 13}, {12, 12}};
  const double value = 0.75;
  auto source_of = [&](const std::vector<float>& pixels) {
    return [&pixels, cols](int row0, int count, float* block) {
      std::copy(pixels.begin() + static_cast<std::ptrdiff_t>(row0) * cols,
                pixels.begin() + static_cast<std::ptrdiff_t>(row0 + count) * cols, block);
    };
  };
  fft::ComplexFloatBuffer hooked = fft::complex_float_buffer(static_cast<std::size_t>(rows) * half);
  bool called = false;
  fft::forward_rows(rows, cols, source_of(image), hooked.get(),
                    [&](std::complex<float>* row_spectra) {
                      called = true;
                      fft::add_row_impulses(rows, cols, row_spectra, points, value);
                    });
  CHECK(called);
  std::vector<float> added = image;  // (12, 12) twice: 2 x value there
  for (const auto& [r, c] : points)
    added[static_cast<std::size_t>(r) * cols + static_cast<std::size_t>(c)] +=
        static_cast<float>(value);
  fft::ComplexFloatBuffer direct = fft::complex_float_buffer(static_cast<std::size_t>(rows) * half);
  fft::forward_rows(rows, cols, source_of(added), direct.get());
  double norm = 0.0;
  for (const float v : added) norm += std::abs(static_cast<double>(v));
  // Two single-precision computations of the same transform: within the bound of the test above.
  for (std::size_t i = 0; i < static_cast<std::size_t>(rows) * half; ++i)
    CHECK(std::abs(std::complex<double>(hooked[i]) - std::complex<double>(direct[i])) <=
          1e-6 * norm);
  const std::vector<std::pair<int, int>> outside{{rows, 0}};
  CHECK_THROWS_AS(fft::add_row_impulses(rows, cols, hooked.get(), outside, 1.0),
                  std::invalid_argument);
}
