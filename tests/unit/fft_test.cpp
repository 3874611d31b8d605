// FFTW wisdom (core/fft.hpp): the plans measured in a process can be exported and imported, and
// the planning counts say how each plan was made.
#include <algorithm>
#include <catch2/catch.hpp>

#include <vector>

#include "core/fft.hpp"

using namespace xanesmap;

TEST_CASE("FFT wisdom: measured plans are counted, exported and accepted back", "[fft]") {
  // 512 x 528: a size no other test transforms, at or above the 512 px where plans are measured.
  const int rows = 512, cols = 528;
  const fft::PlanningStats before = fft::planning_stats();
  fft::FloatBuffer in = fft::float_buffer(static_cast<std::size_t>(rows) * cols);
  for (std::size_t i = 0; i < static_cast<std::size_t>(rows) * cols; ++i) in[i] = static_cast<float>(i % 7);
  fft::ComplexFloatBuffer out = fft::complex_float_buffer(static_cast<std::size_t>(rows) * fft::half_columns(cols));
  fft::forward(rows, cols, in.get(), out.get());
  const fft::PlanningStats after = fft::planning_stats();
  CHECK(after.measured + after.from_wisdom == before.measured + before.from_wisdom + 1);
  CHECK(after.measure_s >= before.measure_s);
  const std::complex<float> dc = out[0];
  // The sum of i % 7 over the image: exact in float (every partial sum is an integer < 2^24).
  double sum = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(rows) * cols; ++i) sum += static_cast<double>(i % 7);
  CHECK(dc.real() == static_cast<float>(sum));

  const fft::Wisdom w = fft::export_wisdom();
  CHECK(w.single_precision.find("fftwf_wisdom") != std::string::npos);
  CHECK(fft::import_wisdom(w));
  // The same transform after the import: the same plan, the same values.
  fft::ComplexFloatBuffer again = fft::complex_float_buffer(static_cast<std::size_t>(rows) * fft::half_columns(cols));
  fft::forward(rows, cols, in.get(), again.get());
  CHECK(std::equal(out.get(), out.get() + static_cast<std::size_t>(rows) * fft::half_columns(cols), again.get()));
}

TEST_CASE("FFT wisdom: text FFTW does not accept is refused", "[fft]") {
  CHECK_FALSE(fft::import_wisdom({"(fftw-3.3.10 fftwf_wisdom #x1 (garbage", ""}));
  CHECK_FALSE(fft::import_wisdom({"", "not wisdom at all"}));
  CHECK(fft::import_wisdom({}));  // nothing to import is not an error
}
