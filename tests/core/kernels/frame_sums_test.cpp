// The normalization fits' frame loops: every version gives, per column, the sums of the
// straightforward one-frame-at-a-time loop, bit for bit (the order of the terms is the contract).
#include "core/kernels/frame_sums.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "support/kernel_isas.hpp"

using namespace xanesmap;

namespace {

bool same_bytes(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

struct Stack {
  std::size_t frames = 11, stride = 300;
  std::vector<float> values;
  std::vector<double> w0, w1, w2, x;
};

Stack random_stack() {
  Stack s;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  s.values.resize(s.frames * s.stride);
  for (float& v : s.values) v = static_cast<float>(2.0 + u(rng));
  for (std::size_t j = 0; j < s.frames; ++j)
    s.w0.push_back(u(rng)), s.w1.push_back(u(rng)), s.w2.push_back(u(rng)),
        s.x.push_back(-60.0 + 5.0 * u(rng));
  return s;
}

}  // namespace

// Frame counts 0..11 from two first frames leave every remainder of the four-frame passes;
// tiles of 1, 37 and 256 columns (the last with columns after it to request) every vector tail.
TEST_CASE("Every version of the fits' frame sums adds each column's terms in frame order",
          "[kernels][reference]") {
  const Stack s = random_stack();
  for (const std::size_t count : {std::size_t{1}, std::size_t{37}, std::size_t{256}}) {
    const kernels::FrameTile tile{s.values.data(), s.stride, count,
                                  count == 256 ? s.stride - 256 : 0};
    for (std::size_t first = 0; first <= 1; ++first)
      for (std::size_t frames = 0; frames + first <= s.frames; ++frames) {
        // The definition: one frame at a time, each accumulator from 0.5 (the sums add to it).
        std::vector<double> a0(count, 0.5), a1(count, 0.5), a2(count, 0.5);
        for (std::size_t j = 0; j < frames; ++j)
          for (std::size_t c = 0; c < count; ++c) {
            const double v = s.values[(first + j) * s.stride + c];
            a0[c] += s.w0[j] * v, a1[c] += s.w1[j] * v, a2[c] += s.w2[j] * v;
          }
        // The residuals from a line p0 + p1 x (any line will do).
        std::vector<double> p0(count, 0.25), p1(count, -0.001), want_rss(count, 0.5);
        for (std::size_t j = 0; j < frames; ++j)
          for (std::size_t c = 0; c < count; ++c) {
            const double r = s.values[(first + j) * s.stride + c] - (p0[c] + p1[c] * s.x[j]);
            want_rss[c] += r * r;
          }
        auto check = [&](auto sums2, auto sums3, auto residuals) {
          std::vector<double> g0(count, 0.5), g1(count, 0.5), h0(count, 0.5), h1(count, 0.5),
              h2(count, 0.5), g_rss(count, 0.5);
          sums2(tile, first, frames, s.w0.data(), s.w1.data(), g0.data(), g1.data());
          sums3(tile, first, frames, s.w0.data(), s.w1.data(), s.w2.data(), h0.data(), h1.data(),
                h2.data());
          residuals(tile, first, frames, s.x.data(), p0.data(), p1.data(), g_rss.data());
          CHECK((same_bytes(g0, a0) && same_bytes(g1, a1)));
          CHECK((same_bytes(h0, a0) && same_bytes(h1, a1) && same_bytes(h2, a2)));
          CHECK(same_bytes(g_rss, want_rss));
        };
        for (const kernels::Isa isa : test::isas_to_test()) {
          INFO("isa " << kernels::isa_name(isa) << ", tile " << count << ", frames " << first
                      << " + " << frames);
          check(kernels::detail::weighted_frame_sums2_for(isa),
                kernels::detail::weighted_frame_sums3_for(isa),
                kernels::detail::line_residual_squares_for(isa));
        }
        INFO("dispatched, tile " << count << ", frames " << first << " + " << frames);
        check(kernels::weighted_frame_sums2, kernels::weighted_frame_sums3,
              kernels::line_residual_squares);
      }
  }
}

TEST_CASE("Every version of the normalized spectrum gives the plain version's bits",
          "[kernels][reference]") {
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const std::size_t n = 101;
  std::vector<double> x(n), mu(n);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = -100.0 + 2.5 * static_cast<double>(i), mu[i] = 1.0 + u(rng);
  for (const bool flat : {false, true})
    for (const std::size_t begin : {std::size_t{0}, std::size_t{3}})
      for (const std::size_t end : {begin, begin + 1, begin + 6, n}) {
        std::vector<double> want(n, -7.0);
        kernels::plain::normalize_range(x.data(), mu.data(), want.data(), begin, end, 0.1, 1e-3,
                                        1.2, -2e-3, 1e-6, 0.8, flat);
        for (const kernels::Isa isa : test::isas_to_test()) {
          INFO("isa " << kernels::isa_name(isa) << ", flat " << flat << ", [" << begin << ", "
                      << end << ")");
          std::vector<double> got(n, -7.0);
          kernels::detail::normalize_range_for(isa)(x.data(), mu.data(), got.data(), begin, end,
                                                    0.1, 1e-3, 1.2, -2e-3, 1e-6, 0.8, flat);
          CHECK(same_bytes(got, want));
        }
      }
}
