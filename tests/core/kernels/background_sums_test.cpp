// Registration's background pass: the sample with cache hints is the plain sample, and the row
// sums' versions agree (exactly where the order of additions cannot matter).
#include "core/kernels/background_sums.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "support/kernel_isas.hpp"

using namespace xanesmap;

namespace {

Image<float> frame_with_gaps(std::size_t h, std::size_t w) {
  std::mt19937 rng(9);
  std::normal_distribution<float> noise(100.0f, 15.0f);
  Image<float> image(h, w);
  for (std::size_t i = 0; i < h * w; ++i) {
    float v = noise(rng);
    if (i % 53 == 3) v = std::numeric_limits<float>::quiet_NaN();
    if (i % 97 == 8) v = -std::numeric_limits<float>::infinity();
    if (i % 89 == 1) v = 5000.0f;  // outside the band
    image.data()[i] = v;
  }
  return image;
}

}  // namespace

TEST_CASE("The background sample with cache hints is the plain sample", "[kernels][reference]") {
  const Image<float> image = frame_with_gaps(61, 67);
  // A view with a stride: the sample follows row-major pixel order, not memory order.
  const ImageView<const float> view(image.data() + 2, 61, 60, 67);
  for (const std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{64}}) {
    std::vector<double> a{-1.0}, b{-1.0};  // appended to, after what is there
    kernels::sample_finite_pixels(view, step, a);
    kernels::plain::sample_finite_pixels(view, step, b);
    CHECK(a == b);
    CHECK(a.size() > 1);
  }
}

// Counts and max are sums of ones and a maximum, exact in any order, and x = v - median is per
// pixel: those are equal. The sums of x and x^2 over w values differ by the order of
// additions only: each within (w - 1) u sum |term| of the exact sum (u = 2^-53; Higham,
// Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 4.4), two versions within twice
// that.
TEST_CASE("The background row sums' versions agree", "[kernels][reference]") {
  const std::size_t h = 5, w = 1031;
  const Image<float> image = frame_with_gaps(h, w);
  const double median = 100.0, lo = 60.0, hi = 140.0;
  for (std::size_t r = 0; r < h; ++r)
    for (const std::size_t n :
         {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{17}, w}) {
      std::vector<float> want_q(n, -1.0f);
      const kernels::BackgroundRowSums want =
          kernels::plain::background_row_sums(image.row(r), n, median, lo, hi, want_q.data());
      double abs_s = 0.0, abs_s2 = 0.0;
      for (std::size_t c = 0; c < n; ++c)
        abs_s += std::abs(want_q[c]), abs_s2 += double{want_q[c]} * want_q[c];
      const double bound =
          2.0 * static_cast<double>(n) * std::numeric_limits<double>::epsilon() / 2.0;
      for (const kernels::Isa isa : test::isas_to_test()) {
        INFO("isa " << kernels::isa_name(isa) << ", row " << r << ", n " << n);
        std::vector<float> q(n, -1.0f);
        const kernels::BackgroundRowSums got = kernels::detail::background_row_sums_for(isa)(
            image.row(r), n, median, lo, hi, q.data());
        CHECK((n == 0 || std::memcmp(q.data(), want_q.data(), n * sizeof(float)) == 0));
        CHECK(got.n == want.n);
        CHECK(got.n_band == want.n_band);
        CHECK(got.max_abs == want.max_abs);
        // x is rounded to float in q; |x| in double differs from it by at most u_float |x|:
        // 1e-6 relative covers that in the bounds' scale.
        CHECK(std::abs(got.s - want.s) <= bound * abs_s * (1.0 + 1e-6));
        CHECK(std::abs(got.s_band - want.s_band) <= bound * abs_s * (1.0 + 1e-6));
        CHECK(std::abs(got.s2 - want.s2) <= bound * abs_s2 * (1.0 + 1e-6));
      }
    }
}
