// Tests of core/registration/shift_apply: exact whole-pixel moves, the sign convention, sub-pixel
// accuracy on smooth analytic scenes, no overshoot at sharp edges, the border rule (linear
// fallback, never wrapping), NaN propagation, and apply_shifts over a stack.
//
// Sub-pixel tolerance. Expand the image around the pixel s before the sample point s + t
// (0 < t < 1, pixels 1 apart): f(s + x) = sum f^(n) x^n / n!. Keys' kernel (a = -0.5) reproduces
// polynomials up to x^2 exactly; for x^3 it returns t^3 + E3(t) and for x^4 t^4 + E4(t), with
//   E3(t) = t (t - 1)(2t - 1)        (|E3| <= 0.0962; 0 at t = 1/2),
//   E4(t) = -t^2 (t - 1)(t - 5)      (|E4| <= 0.643),
// so along one axis error = f''' E3(t) / 6 + f'''' E4(t) / 24 + ...: third order in the pixel
// size, and fourth order at t = 1/2. The round-trip test compares the measured error with this
// prediction (both terms, both axes) for a tilted error-function edge, whose derivatives are known
// in closed form, and checks the h^3 convergence when the edge is made twice as wide.
#include "core/registration/shift_apply.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <thread>
#include <vector>

#include "core/base/error.hpp"
#include "core/base/random.hpp"
#include "core/pipeline.hpp"
#include "core/stack/optical_density.hpp"

using namespace xanesmap;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

template <typename F>
Image<float> render(std::size_t h, std::size_t w, F f) {
  Image<float> image(h, w);
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t c = 0; c < w; ++c)
      image(r, c) = static_cast<float>(f(static_cast<double>(r), static_cast<double>(c)));
  return image;
}

/// Arbitrary but reproducible pixel values, including negative ones.
Image<float> pattern(std::size_t h, std::size_t w) {
  return render(h, w, [](double r, double c) { return std::sin(0.7 * r + 1.3 * c) * (1 + r) - c; });
}

/// A straight error-function edge across the frame, tilted by `angle` from the columns:
/// u = x cos(angle) + y sin(angle) - centre, value 0.3 + 0.5 erf(u / (sqrt(2) width)).
struct TiltedEdge {
  double width = 4.0, angle = 0.5, centre = 30.0;
  double operator()(double y, double x) const {
    const double u = x * std::cos(angle) + y * std::sin(angle) - centre;
    return 0.3 + 0.5 * std::erf(u / (std::numbers::sqrt2 * width));
  }
  /// Largest third and fourth derivatives along x (power of cos) and along y (power of sin):
  /// 0.5 erf(u / (sqrt2 w)) has d^n/du^n = phi^(n-1)(u / w) / w^n with phi the standard normal
  /// density; max |phi''| = phi(0) = 0.3989, max |phi'''| = 0.5506 (at |z| = 0.742).
  double f3(double direction) const {
    return std::pow(std::abs(direction), 3) * 0.3989423 / std::pow(width, 3);
  }
  double f4(double direction) const {
    return std::pow(direction, 4) * 0.5505879 / std::pow(width, 4);
  }
  /// Leading-order interpolation error bound of a shift (dy, dx), see the top of this file.
  double predicted_error(double dy, double dx) const {
    const auto axis = [&](double shift, double direction) {
      const double t = shift - std::floor(shift);
      const double e3 = t * (t - 1) * (2 * t - 1), e4 = -t * t * (t - 1) * (t - 5);
      return f3(direction) * std::abs(e3) / 6 + f4(direction) * std::abs(e4) / 24;
    };
    return axis(dx, std::cos(angle)) + axis(dy, std::sin(angle));
  }
};

/// Largest |a - b| over the pixels at least `border` from the edges.
double max_difference(const Image<float>& a, const Image<float>& b, std::size_t border) {
  double worst = 0;
  for (std::size_t r = border; r + border < a.height(); ++r)
    for (std::size_t c = border; c + border < a.width(); ++c)
      worst = std::max(worst, std::abs(static_cast<double>(a(r, c)) - b(r, c)));
  return worst;
}

}  // namespace

TEST_CASE("A zero shift returns the frame unchanged, bit for bit", "[shift]") {
  Image<float> frame = pattern(17, 23);
  frame(3, 4) = kNaN;
  frame(5, 6) = -0.0f;
  frame(7, 8) = std::numeric_limits<float>::denorm_min();
  const ShiftedFrame s = shift_frame(frame.view(), 0.0, 0.0);
  REQUIRE(s.image.height() == 17);
  REQUIRE(s.image.width() == 23);
  CHECK(std::memcmp(s.image.data(), frame.data(), frame.size() * sizeof(float)) == 0);
  CHECK(std::all_of(s.outside.pixels().begin(), s.outside.pixels().end(),
                    [](std::uint8_t v) { return v == 0; }));
  // -0.0 is a zero shift too.
  const ShiftedFrame negative_zero = shift_frame(frame.view(), -0.0, -0.0);
  CHECK(std::memcmp(negative_zero.image.data(), frame.data(), frame.size() * sizeof(float)) == 0);
}

TEST_CASE("A whole-pixel shift moves pixels exactly and flags the rows and columns it loses",
          "[shift]") {
  const std::size_t h = 12, w = 15;
  const Image<float> frame = pattern(h, w);
  const int dy = 2, dx = -3;
  const ShiftedFrame s = shift_frame(frame.view(), dy, dx);
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t c = 0; c < w; ++c) {
      const long sr = static_cast<long>(r) + dy, sc = static_cast<long>(c) + dx;
      const bool inside =
          sr >= 0 && sr < static_cast<long>(h) && sc >= 0 && sc < static_cast<long>(w);
      INFO("pixel (" << r << ", " << c << ")");
      CHECK(s.outside(r, c) == (inside ? 0 : 1));
      if (inside)
        CHECK(s.image(r, c) == frame(static_cast<std::size_t>(sr), static_cast<std::size_t>(sc)));
      else
        CHECK(std::isnan(s.image(r, c)));
    }
  // Lost: the last 2 rows (content came from below the frame) and the first 3 columns.
  CHECK(s.outside(h - 2, 5) == 1);
  CHECK(s.outside(h - 3, 5) == 0);
  CHECK(s.outside(5, 2) == 1);
  CHECK(s.outside(5, 3) == 0);
}

TEST_CASE("Shifts follow the project's sign convention", "[shift]") {
  // Reference: one bright pixel at (10, 10). The frame's content moved by (+2, +3), i.e. down and
  // right: the pixel is at (12, 13). Aligning with the measured shift (2, 3) puts it back.
  Image<float> reference(24, 24, 0.0f);
  reference(10, 10) = 1.0f;
  Image<float> frame(24, 24, 0.0f);
  frame(12, 13) = 1.0f;
  const ShiftedFrame s = shift_frame(frame.view(), 2.0, 3.0);
  CHECK(s.image(10, 10) == 1.0f);
  CHECK(s.image(12, 13) == 0.0f);

  // The same with a smooth blob at a sub-pixel shift: its centroid returns to (10, 10).
  const auto blob = [](double cy, double cx) {
    return [=](double y, double x) {
      return std::exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * 2.5 * 2.5));
    };
  };
  const Image<float> moved = render(32, 32, blob(10.0 + 2.4, 10.0 + 3.7));
  const ShiftedFrame back = shift_frame(moved.view(), 2.4, 3.7);
  double sum = 0, sy = 0, sx = 0;
  for (std::size_t r = 0; r < 32; ++r)
    for (std::size_t c = 0; c < 32; ++c)
      if (!back.outside(r, c)) {
        sum += back.image(r, c);
        sy += back.image(r, c) * static_cast<double>(r);
        sx += back.image(r, c) * static_cast<double>(c);
      }
  // Measured 1.1e-4 px off: the clamp cuts the sub-pixel peak by 2% but symmetrically enough.
  // 0.02 px is far below any drift that matters and far from what a sign error would give
  // (4.8 or 7.4 px off).
  CHECK_THAT(sy / sum, Catch::WithinAbs(10.0, 0.02));
  CHECK_THAT(sx / sum, Catch::WithinAbs(10.0, 0.02));
}

TEST_CASE("A sub-pixel round trip on a smooth scene is accurate to third order", "[shift]") {
  // frame(y, x) = scene(y - dy, x - dx): the scene rendered with its content moved by (dy, dx).
  // Aligning it must give the scene rendered unmoved.
  const std::size_t n = 64;
  const std::vector<std::pair<double, double>> shifts{
      {0.37, -0.61}, {0.5, 0.5}, {-1.25, 2.8}, {0.1, 0.9}};
  for (const auto& [dy, dx] : shifts) {
    for (const double width : {4.0, 8.0}) {
      const TiltedEdge edge{width};
      const Image<float> frame =
          render(n, n, [&](double y, double x) { return edge(y - dy, x - dx); });
      const Image<float> truth = render(n, n, edge);
      const ShiftedFrame s = shift_frame(frame.view(), dy, dx);
      // Pixels at least 6 px from the edges: those lost (up to ceil(2.8) = 3 px) and the ring
      // that falls back to linear interpolation (second order) are left out. The bound adds the
      // worst cases of both terms, which occur at different places across the edge, and float
      // rounding of values below 1 (6e-8 per rounding), plus 10% for the fifth-order terms
      // (they matter at t = 1/2, where the third-order term vanishes): measured 0.56-1.03 of it.
      const double predicted = edge.predicted_error(dy, dx);
      const double error = max_difference(s.image, truth, 6);
      INFO("shift (" << dy << ", " << dx << "), edge width " << width << " px: error " << error
                     << ", predicted " << predicted);
      CHECK(error <= 1.1 * predicted + 2e-7);
      // Largest measured, at (-1.25, 2.8): 8.0e-5 (width 4) and 9.9e-6 (width 8), step of 1.
      CHECK(error < (width == 4.0 ? 1e-4 : 1.2e-5));
    }
  }
  // Convergence: twice as wide an edge has f''' / 8, and the error follows (h^3).
  const TiltedEdge sharp{4.0}, smooth{8.0};
  const auto error_of = [&](const TiltedEdge& edge) {
    const Image<float> frame =
        render(n, n, [&](double y, double x) { return edge(y - 0.37, x + 0.61); });
    return max_difference(shift_frame(frame.view(), 0.37, -0.61).image, render(n, n, edge), 6);
  };
  CHECK(error_of(sharp) / error_of(smooth) > 6.0);  // measured 9.4; 4 would be second order
}

TEST_CASE("A sharp edge does not ring: values stay within the input's range", "[shift]") {
  // A vertical step 0 -> 1 between columns 19 and 20. Plain cubic convolution at t = 1/3 would
  // give 1 + 4/54 = 1.074 next to the step and -0.074 on the other side.
  Image<float> frame(8, 40, 0.0f);
  for (std::size_t r = 0; r < 8; ++r)
    for (std::size_t c = 20; c < 40; ++c) frame(r, c) = 1.0f;
  for (const double dx : {1.0 / 3.0, 0.5, 2.0 / 3.0, -0.3, 1.75}) {
    const ShiftedFrame s = shift_frame(frame.view(), 0.25, dx);
    INFO("dx " << dx);
    for (std::size_t r = 0; r < 7; ++r) {  // row 7 is lost to dy = 0.25
      float previous = -1.0f;
      for (std::size_t c = 0; c < 40; ++c) {
        const float v = s.image(r, c);
        if (s.outside(r, c)) continue;
        CHECK(v >= 0.0f);
        CHECK(v <= 1.0f);
        CHECK(v >= previous);  // monotonic across the step, like the input
        previous = v;
      }
    }
  }
}

TEST_CASE("Sub-pixel shifts lose only the pixels whose sample point leaves the frame", "[shift]") {
  // A plane is reproduced exactly by both the cubic kernel and the linear fallback, so every
  // pixel that is not outside must match it, up to float rounding: values reach 16, where a
  // float's half ulp is 1e-6, rounded twice (the stored frame, the stored result): 4e-6 has margin.
  const std::size_t h = 20, w = 30;
  const auto plane = [](double y, double x) { return 1.5 + 0.75 * y - 0.5 * x; };
  const Image<float> frame = render(h, w, plane);
  const double dy = 0.4, dx = -1.3;
  const ShiftedFrame s = shift_frame(frame.view(), dy, dx);
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t c = 0; c < w; ++c) {
      // Sample point (r + 0.4, c - 1.3): outside when it lies below the last row's centre or
      // left of the first column's, i.e. in row h - 1 and in columns 0 and 1.
      const bool expect_outside = r == h - 1 || c < 2;
      INFO("pixel (" << r << ", " << c << ")");
      REQUIRE(s.outside(r, c) == (expect_outside ? 1 : 0));
      if (expect_outside) {
        CHECK(std::isnan(s.image(r, c)));
      } else {
        CHECK_THAT(s.image(r, c),
                   Catch::WithinAbs(plane(static_cast<double>(r) + dy, static_cast<double>(c) + dx),
                                    4e-6));
      }
    }
  // Shifts beyond the frame: nothing is left, nothing wraps around.
  for (const auto& [y, x] : std::vector<std::pair<double, double>>{
           {20.0, 0.0}, {-19.5, 0.0}, {0.0, 29.01}, {0.0, -1e9}, {1e300, 0.0}}) {
    const ShiftedFrame gone = shift_frame(frame.view(), y, x);
    INFO("shift (" << y << ", " << x << ")");
    CHECK(std::all_of(gone.outside.pixels().begin(), gone.outside.pixels().end(),
                      [](std::uint8_t v) { return v == 1; }));
    CHECK(std::all_of(gone.image.pixels().begin(), gone.image.pixels().end(),
                      [](float v) { return std::isnan(v); }));
  }
  // One pixel is left by a shift of (h - 1, w - 1): the last pixel, moved to (0, 0).
  const ShiftedFrame corner = shift_frame(frame.view(), h - 1.0, w - 1.0);
  CHECK(corner.image(0, 0) == frame(h - 1, w - 1));
  CHECK(corner.outside(0, 0) == 0);
  CHECK(corner.outside(0, 1) == 1);
}

TEST_CASE("NaN pixels propagate to the outputs that use them", "[shift]") {
  Image<float> frame(30, 30, 1.0f);
  frame(20, 20) = kNaN;
  const auto nan_box = [](const ShiftedFrame& s) {
    std::size_t count = 0, r0 = 99, r1 = 0, c0 = 99, c1 = 0;
    for (std::size_t r = 0; r < s.image.height(); ++r)
      for (std::size_t c = 0; c < s.image.width(); ++c)
        if (std::isnan(s.image(r, c)) && !s.outside(r, c)) {  // lost pixels are NaN too
          ++count;
          r0 = std::min(r0, r), r1 = std::max(r1, r), c0 = std::min(c0, c), c1 = std::max(c1, c);
        }
    return std::array<std::size_t, 5>{count, r0, r1, c0, c1};
  };
  // Whole pixels: the NaN just moves, from (20, 20) to (20 - 1, 20 + 2).
  CHECK(nan_box(shift_frame(frame.view(), 1.0, -2.0)) ==
        std::array<std::size_t, 5>{1, 19, 19, 22, 22});
  // Half a pixel on both axes: output (r, c) uses rows r - 1 .. r + 2 and columns alike, so the
  // 4x4 block of outputs 18..21 sees the NaN; every other output is finite (the frame is 1).
  CHECK(nan_box(shift_frame(frame.view(), 0.5, 0.5)) ==
        std::array<std::size_t, 5>{16, 18, 21, 18, 21});
  // Sub-pixel along columns only: a 1x4 run.
  CHECK(nan_box(shift_frame(frame.view(), 0.0, 0.25)) ==
        std::array<std::size_t, 5>{4, 20, 20, 18, 21});
}

TEST_CASE("Non-finite shifts are refused", "[shift]") {
  const Image<float> frame(4, 4, 1.0f);
  CHECK_THROWS_AS(shift_frame(frame.view(), std::nan(""), 0.0), InputError);
  CHECK_THROWS_WITH(shift_frame(frame.view(), 0.0, INFINITY), Catch::Contains("not finite"));
}

TEST_CASE("apply_shifts aligns each frame and maps pixels lost in any frame", "[shift]") {
  const std::size_t h = 16, w = 20;
  std::vector<Image<float>> frames{pattern(h, w), pattern(h, w), pattern(h, w)};
  frames[1](4, 5) = kNaN;
  frames[0](9, 11) = kNaN;  // in the zero-shift frame: copied, and marked not finite
  const EnergyStack stack({6540.0, 6550.0, 6560.0}, frames);
  const std::vector<double> dy{0.0, 1.5, -0.5}, dx{0.0, -2.0, 0.25};

  std::vector<ProgressEvent> events;
  std::vector<std::thread::id> threads;
  const ProgressSink sink = [&](const ProgressEvent& e) {
    events.push_back(e);
    threads.push_back(std::this_thread::get_id());
  };
  const AlignedStack aligned = apply_shifts(stack, dy, dx, sink);

  REQUIRE(aligned.stack.frame_count() == 3);
  CHECK(aligned.stack.height() == h);
  CHECK(aligned.stack.width() == w);
  CHECK(aligned.stack.energies_ev() == stack.energies_ev());
  REQUIRE(aligned.outside_any.height() == h);
  REQUIRE(aligned.outside_any.width() == w);
  // Frame 0 (zero shift) bit for bit; the others exactly as shift_frame makes them.
  CHECK(std::memcmp(aligned.stack.frame(0).data(), stack.frame(0).data(), h * w * sizeof(float)) ==
        0);
  for (std::size_t e = 1; e < 3; ++e) {
    const ShiftedFrame one = shift_frame(stack.frame(e), dy[e], dx[e]);
    for (std::size_t p = 0; p < h * w; ++p) {
      const float a = aligned.stack.frame(e).data()[p], b = one.image.data()[p];
      CHECK(((std::isnan(a) && std::isnan(b)) || a == b));
    }
  }
  // Lost: rows h-2, h-1 (dy 1.5) and 0 (dy -0.5); columns 0, 1 (dx -2) and w-1 (dx 0.25).
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t c = 0; c < w; ++c) {
      const bool lost = r == 0 || r >= h - 2 || c < 2 || c == w - 1;
      INFO("pixel (" << r << ", " << c << ")");
      CHECK(aligned.outside_any(r, c) == (lost ? 1 : 0));
      // Not finite: every pixel whose aligned value is NaN in some frame (the lost ones, the NaN
      // pixel of frame 0, and the outputs of frame 1 whose support holds its NaN pixel).
      bool any_nan = false;
      for (std::size_t e = 0; e < 3; ++e) any_nan |= std::isnan(aligned.stack.frame(e)(r, c));
      CHECK(aligned.not_finite_any(r, c) == (any_nan ? 1 : 0));
    }
  // Progress: one event per frame, in order, from the calling thread.
  REQUIRE(events.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(events[i].stage == "apply shifts");
    CHECK(events[i].done == i + 1);
    CHECK(events[i].total == 3);
    CHECK(threads[i] == std::this_thread::get_id());
  }
}

TEST_CASE("apply_shifts needs one finite shift per frame", "[shift]") {
  const EnergyStack stack({6540.0, 6550.0}, {pattern(4, 4), pattern(4, 4)});
  const std::vector<double> two{0.0, 1.0}, three{0.0, 1.0, 2.0}, bad{0.0, std::nan("")};
  CHECK_THROWS_AS(apply_shifts(stack, three, two), InputError);
  CHECK_THROWS_WITH(apply_shifts(stack, two, three), Catch::Contains("for 2 frames"));
  CHECK_THROWS_WITH(apply_shifts(stack, two, bad),
                    Catch::Contains("frame 1") && Catch::Contains("6550 eV"));
  CHECK(apply_shifts(EnergyStack{}, {}, {}).stack.frame_count() == 0);
}

namespace {

// The straightforward implementation the separable one replaced: per output pixel, the 4 x 4
// (or smaller) kernel and the clamp to the 2 x 2 nearest pixels, in double. Only the taps are
// recomputed here with the same rules as the header states.
Image<float> reference_shift(const Image<float>& in, double dy, double dx) {
  struct Tap {
    bool inside = false;
    std::ptrdiff_t first = 0;
    int count = 0;
    double weight[4] = {0, 0, 0, 0};
    std::ptrdiff_t nearest = 0;
    int nearest_count = 0;
  };
  auto keys = [](double s) {
    s = std::abs(s);
    if (s <= 1.0) return ((-0.5 + 2.0) * s - (-0.5 + 3.0)) * s * s + 1.0;
    if (s < 2.0) return ((-0.5 * s - 5.0 * -0.5) * s + 8.0 * -0.5) * s - 4.0 * -0.5;
    return 0.0;
  };
  auto taps = [&](std::size_t n, double shift) {
    std::vector<Tap> out(n);
    double whole = std::floor(shift), t = shift - whole;
    if (t >= 1.0) whole += 1.0, t = 0.0;
    const auto size = static_cast<std::ptrdiff_t>(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::ptrdiff_t s = static_cast<std::ptrdiff_t>(i) + static_cast<std::ptrdiff_t>(whole);
      Tap& k = out[i];
      if (t == 0.0) {
        if (s < 0 || s >= size) continue;
        k.inside = true, k.first = s, k.count = 1, k.weight[0] = 1.0, k.nearest = s,
        k.nearest_count = 1;
      } else if (s >= 1 && s + 2 < size) {
        k.inside = true, k.first = s - 1, k.count = 4, k.nearest = s, k.nearest_count = 2;
        k.weight[0] = keys(1.0 + t), k.weight[1] = keys(t), k.weight[2] = keys(1.0 - t),
        k.weight[3] = keys(2.0 - t);
      } else if (s >= 0 && s + 1 < size) {
        k.inside = true, k.first = s, k.count = 2, k.weight[0] = 1.0 - t, k.weight[1] = t,
        k.nearest = s, k.nearest_count = 2;
      }
    }
    return out;
  };
  const auto ty = taps(in.height(), dy), tx = taps(in.width(), dx);
  Image<float> out(in.height(), in.width());
  for (std::size_t r = 0; r < in.height(); ++r)
    for (std::size_t c = 0; c < in.width(); ++c) {
      if (!ty[r].inside || !tx[c].inside) {
        out(r, c) = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      double value = 0.0;
      for (int i = 0; i < ty[r].count; ++i) {
        double along = 0.0;
        for (int j = 0; j < tx[c].count; ++j)
          along += tx[c].weight[j] * in(static_cast<std::size_t>(ty[r].first + i),
                                        static_cast<std::size_t>(tx[c].first + j));
        value += ty[r].weight[i] * along;
      }
      if (std::isnan(value)) {
        out(r, c) = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      double low = std::numeric_limits<double>::infinity(), high = -low;
      for (int i = 0; i < ty[r].nearest_count; ++i)
        for (int j = 0; j < tx[c].nearest_count; ++j) {
          const double v = in(static_cast<std::size_t>(ty[r].nearest + i),
                              static_cast<std::size_t>(tx[c].nearest + j));
          low = std::min(low, v), high = std::max(high, v);
        }
      out(r, c) = static_cast<float>(std::clamp(value, low, high));
    }
  return out;
}

}  // namespace

// Guards the separable, single-precision, in-place implementation against the per-pixel 4 x 4
// kernel in double, for sub-pixel, whole-pixel, mixed and border shifts, shifts whose support lies
// above, on and below the output row (the in-place row order), shifts beyond the frame, with NaN
// pixels in the input.
//
// Tolerance. With u = 2^-24 (float rounding) and W = sum |w| <= 1.25 (Keys' weights, largest at
// t = 1/2: 0.0625 + 0.5625 + 0.5625 + 0.0625), the x pass (weights rounded to float, then 4
// products and 3 sums) is within 5 u W M of exact, M = max |input|; the y pass adds 5 u W of its
// inputs (at most W M) and carries W times the x error: 10 u W^2 M in all. The reference rounds
// its double result to float (u |v| <= u W^2 M) and the clamp is 1-Lipschitz with the same float
// bounds in both, so |float - reference| <= 11 u W^2 M = 17.2 u M.
TEST_CASE("Separable single-precision shifting matches the per-pixel kernel in double",
          "[shift][reference]") {
  Random random({11});
  Image<float> in(37, 53);
  for (float& v : in.pixels()) v = static_cast<float>(random.normal(0.0, 1.0));
  in(5, 7) = std::numeric_limits<float>::quiet_NaN();
  in(20, 40) = std::numeric_limits<float>::quiet_NaN();
  // An infinite pixel: the outputs that use it are +-Inf or NaN, both not finite.
  in(30, 12) = std::numeric_limits<float>::infinity();
  float largest = 0.0f;
  for (const float v : in.pixels())
    if (std::isfinite(v)) largest = std::max(largest, std::abs(v));
  const double tolerance = 17.2 * std::ldexp(1.0, -24) * largest;
  const std::vector<std::pair<double, double>> shifts{
      {0.3, -0.7},  {-1.25, 2.5}, {2.0, -3.0},     {0.0, 0.6},     {-0.45, 0.0},
      {5.9, 7.2},   {-36.5, 0.1}, {0.999, -0.001}, {-0.3, 0.4},    {-1.0, 0.5},
      {-2.6, -1.5}, {-3.2, 3.3},  {1.7, -0.2},     {3.0, 0.0},     {-4.0, -5.0},
      {36.2, 0.0},  {-40.0, 1.0}, {0.5, 60.0},     {-1e-300, 0.5}, {0.0, 0.0}};
  std::vector<double> dys, dxs;
  std::vector<Image<float>> frames;
  double worst = 0.0;
  for (const auto& [dy, dx] : shifts) {
    const Image<float> expected = reference_shift(in, dy, dx);
    const ShiftedFrame got = shift_frame(in.view(), dy, dx);
    for (std::size_t p = 0; p < in.size(); ++p) {
      const float a = got.image.data()[p], b = expected.data()[p];
      INFO("shift " << dy << ", " << dx << " pixel " << p << ": " << a << " vs " << b);
      REQUIRE(std::isnan(a) == std::isnan(b));
      REQUIRE(std::isinf(a) == std::isinf(b));
      if (std::isinf(a)) REQUIRE(a == b);
      if (std::isfinite(a)) {
        REQUIRE(std::abs(static_cast<double>(a) - b) <= tolerance);
        worst = std::max(worst, std::abs(static_cast<double>(a) - b));
      }
    }
    dys.push_back(dy), dxs.push_back(dx), frames.push_back(in);
  }
  INFO("largest difference " << worst << " (tolerance " << tolerance << ")");
  CHECK(worst > 0.0);  // single precision does round differently: the comparison is not vacuous
  // The stack overloads (copy and in place) and shift_frame (bands of rows) give the same floats,
  // bit for bit: the same operations on the same values, whatever the row order.
  std::vector<double> energies(shifts.size());
  for (std::size_t i = 0; i < energies.size(); ++i) energies[i] = 6500.0 + static_cast<double>(i);
  const EnergyStack stack(energies, frames);
  const AlignedStack copied = apply_shifts(stack, dys, dxs);
  const AlignedStack in_place = apply_shifts(EnergyStack(stack), dys, dxs);
  REQUIRE(std::memcmp(copied.outside_any.data(), in_place.outside_any.data(), in.size()) == 0);
  REQUIRE(std::memcmp(copied.not_finite_any.data(), in_place.not_finite_any.data(), in.size()) ==
          0);
  Image<std::uint8_t> outside(in.height(), in.width(), 0), not_finite(in.height(), in.width(), 0);
  for (std::size_t e = 0; e < shifts.size(); ++e) {
    const ShiftedFrame one = shift_frame(in.view(), dys[e], dxs[e]);
    for (std::size_t p = 0; p < in.size(); ++p) {
      const float a = copied.stack.frame(e).data()[p], b = in_place.stack.frame(e).data()[p],
                  c = one.image.data()[p];
      INFO("frame " << e << " pixel " << p);
      REQUIRE((std::isnan(a)
                   ? std::isnan(b) && std::isnan(c)
                   : std::memcmp(&a, &b, sizeof a) == 0 && std::memcmp(&a, &c, sizeof a) == 0));
      outside.data()[p] |= one.outside.data()[p];
      if (!std::isfinite(c)) not_finite.data()[p] = 1;
    }
  }
  // The maps made from the taps and while writing equal the per-frame results ORed.
  CHECK(std::memcmp(outside.data(), in_place.outside_any.data(), in.size()) == 0);
  CHECK(std::memcmp(not_finite.data(), in_place.not_finite_any.data(), in.size()) == 0);
}

// A large frame with many rows per band, shifted in place by a realistic drift: the values equal
// the out-of-place path exactly (the in-place row order never reads an overwritten row).
TEST_CASE("In-place shifts of large frames equal the copying path", "[shift][reference]") {
  Random random({5});
  const std::size_t h = 300, w = 203;
  std::vector<Image<float>> frames;
  std::vector<double> dys, dxs, energies;
  for (int e = 0; e < 12; ++e) {
    Image<float> f(h, w);
    for (float& v : f.pixels()) v = static_cast<float>(random.normal(1.0, 0.5));
    frames.push_back(std::move(f));
    dys.push_back(random.normal(0.0, 3.0)), dxs.push_back(random.normal(0.0, 3.0));
    energies.push_back(6540.0 + e);
  }
  dys[3] = 0.0, dxs[3] = 0.0;  // the reference frame
  const EnergyStack stack(energies, frames);
  const AlignedStack copied = apply_shifts(stack, dys, dxs);
  const AlignedStack in_place = apply_shifts(EnergyStack(stack), dys, dxs);
  for (std::size_t i = 0; i < copied.stack.values().size(); ++i) {
    const float a = copied.stack.values()[i], b = in_place.stack.values()[i];
    REQUIRE((std::isnan(a) ? std::isnan(b) : std::memcmp(&a, &b, sizeof a) == 0));
  }
  CHECK(std::memcmp(copied.outside_any.data(), in_place.outside_any.data(), h * w) == 0);
}

// The flags of the aligned stack: outside the view wins over not finite (a pixel that left the
// view is NaN anyway), and both are ORed into the flags optical density set.
TEST_CASE("flag_aligned_pixels: outside first, then not finite, ORed into the OD flags",
          "[shift]") {
  AlignedStack aligned;
  aligned.outside_any = Image<std::uint8_t>(1, 4, 0);
  aligned.not_finite_any = Image<std::uint8_t>(1, 4, 0);
  aligned.outside_any(0, 0) = 1, aligned.not_finite_any(0, 0) = 1;  // outside and not finite
  aligned.not_finite_any(0, 1) = 1;                                 // only not finite
  aligned.not_finite_any(0, 2) = 1;                                 // not finite, already saturated
  Image<std::uint8_t> flags(1, 4, 0);
  flags(0, 2) = od_saturated;
  flags(0, 3) = od_sample_not_above_dark;  // nothing from the alignment
  flag_aligned_pixels(aligned, flags);
  CHECK(flags(0, 0) == od_outside_view);
  CHECK(flags(0, 1) == od_not_finite);
  CHECK(flags(0, 2) == (od_saturated | od_not_finite));
  CHECK(flags(0, 3) == od_sample_not_above_dark);
}

// The registration template: the mean of shifted frames without storing them equals shifting
// each frame with shift_frame and summing in double in the same order, bit for bit, including
// an unshifted frame, NaN pixels (left out of the mean) and pixels no frame reaches (NaN).
TEST_CASE("mean_of_shifted_frames equals shift_frame and summing, bit for bit",
          "[shift][reference]") {
  Random random({23});
  const std::size_t h = 150, w = 97;  // several bands of rows, an odd width
  std::vector<Image<float>> frames;
  std::vector<double> energies;
  for (int e = 0; e < 7; ++e) {
    Image<float> f(h, w);
    for (float& v : f.pixels()) v = static_cast<float>(random.normal(1.0, 0.5));
    f(10 + e, 20) = std::numeric_limits<float>::quiet_NaN();
    frames.push_back(std::move(f));
    energies.push_back(6540.0 + e);
  }
  const EnergyStack stack(energies, frames);
  const std::vector<std::size_t> used = {5, 1, 2, 6};  // not in stack order: the order given counts
  const std::vector<double> dys = {2.37, 0.0, -4.5, 1.0}, dxs = {-1.21, 0.0, 3.75, -2.0};
  const Image<float> mean = mean_of_shifted_frames(stack, used, dys, dxs);
  std::vector<double> sum(h * w, 0.0);
  std::vector<std::uint32_t> count(h * w, 0);
  for (std::size_t k = 0; k < used.size(); ++k) {
    const ShiftedFrame s = shift_frame(stack.frame(used[k]), dys[k], dxs[k]);
    for (std::size_t i = 0; i < h * w; ++i)
      if (std::isfinite(s.image.data()[i])) sum[i] += s.image.data()[i], ++count[i];
  }
  std::size_t empty = 0;
  for (std::size_t i = 0; i < h * w; ++i) {
    const float expected =
        count[i] ? static_cast<float>(sum[i] / count[i]) : std::numeric_limits<float>::quiet_NaN();
    empty += count[i] == 0;
    REQUIRE((std::isnan(expected) ? std::isnan(mean.data()[i])
                                  : std::memcmp(&expected, &mean.data()[i], sizeof expected) == 0));
  }
  CHECK(empty == 0);  // the unshifted frame reaches every pixel but its one NaN, which others fill
  CHECK_THROWS_AS(mean_of_shifted_frames(stack, used, {dys.data(), 3}, dxs), InputError);
  const std::vector<std::size_t> beyond = {7}, one = {1};
  const std::vector<double> zero = {0.0}, nan = {std::numeric_limits<double>::quiet_NaN()};
  CHECK_THROWS_AS(mean_of_shifted_frames(stack, beyond, zero, zero), InputError);
  CHECK_THROWS_AS(mean_of_shifted_frames(stack, one, nan, zero), InputError);
}
