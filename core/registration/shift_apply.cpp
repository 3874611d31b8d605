// Sub-pixel shifts of frames; the contract and the border rules are in shift_apply.hpp.
//
// Keys' cubic convolution kernel (IEEE Trans. ASSP 29, 1153 (1981), eq. 15 with a = -0.5):
//   W(s) = (a + 2)|s|^3 - (a + 3)|s|^2 + 1        for |s| <= 1
//   W(s) = a|s|^3 - 5a|s|^2 + 8a|s| - 4a          for 1 < |s| < 2
//   W(s) = 0                                      otherwise.
// A sample at source coordinate s + t (s integer, 0 < t < 1) takes the pixels s - 1 .. s + 2 with
// weights W(1 + t), W(t), W(1 - t), W(2 - t), which sum to 1 for every t.
// Keys extrapolates a virtual pixel beyond the border; we do not (it would invent data where the
// field of view ends) and use linear interpolation in the last interval instead.
//
// How it is computed (core/registration/detail/shift_rows.hpp has the row kernels): separably, in
// single precision. Each source row is filtered along x once, together with the minimum and maximum
// of its 1 or 2 nearest pixels per output column, into a ring of 4 rows; each output row then
// combines the ring rows of its support along y and clamps. Whole frames are shifted in place, one
// frame per task: the rows are taken in the direction of the shift (downwards when the content is
// fetched from below, upwards otherwise), so every source row enters the ring before its own output
// row overwrites it. Which pixels leave the field of view depends only on the per-axis taps, so the
// `outside` maps are made from them, not per value.
#include "core/registration/shift_apply.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/base/error.hpp"
#include "core/registration/detail/shift_rows.hpp"

namespace xanesmap {
namespace {

void check_finite(double dy_px, double dx_px, const std::string& what) {
  if (std::isfinite(dy_px) && std::isfinite(dx_px)) return;
  std::ostringstream m;
  m << what << ": shift (dy " << dy_px << ", dx " << dx_px << ") px is not finite";
  throw InputError(m.str());
}

/// The rows and columns a plan loses (ORed into `rows_lost`, `cols_lost`).
void note_lost(const AxisPlan& rows, const AxisPlan& cols, std::vector<std::uint8_t>& rows_lost,
               std::vector<std::uint8_t>& cols_lost) {
  for (std::size_t r = 0; r < rows_lost.size(); ++r)
    if (!rows.taps[r].inside) rows_lost[r] = 1;
  for (std::size_t c = 0; c < cols_lost.size(); ++c)
    if (!cols.taps[c].inside) cols_lost[c] = 1;
}

/// outside(r, c) = 1 where row r or column c is lost: a pixel is outside in some frame exactly
/// when its row or its column is outside in that frame, so the OR over frames is the OR of the
/// rows' and the columns' ORs.
void paint_outside(const std::vector<std::uint8_t>& rows_lost,
                   const std::vector<std::uint8_t>& cols_lost, ImageView<std::uint8_t> outside) {
  for (std::size_t r = 0; r < outside.height(); ++r) {
    std::uint8_t* o = outside.row(r);
    if (rows_lost[r])
      std::fill(o, o + outside.width(), std::uint8_t{1});
    else
      std::copy(cols_lost.begin(), cols_lost.end(), o);
  }
}

/// Marks (ORs 1 into `not_finite`) the values of `frame` that are not finite.
void or_not_finite(ImageView<const float> frame, ImageView<std::uint8_t> not_finite) {
  for (std::size_t r = 0; r < frame.height(); ++r)
    mark_not_finite(frame.row(r), frame.width(), not_finite.row(r));
}

}  // namespace

ShiftedFrame shift_frame(ImageView<const float> frame, double dy_px, double dx_px) {
  check_finite(dy_px, dx_px, "shift_frame");
  const std::size_t h = frame.height(), w = frame.width();
  ShiftedFrame result{Image<float>(h, w), Image<std::uint8_t>(h, w, 0)};
  if (h == 0 || w == 0) return result;
  const AxisPlan rows = axis_plan(h, dy_px), cols = axis_plan(w, dx_px);
  std::vector<std::uint8_t> rows_lost(h, 0), cols_lost(w, 0);
  note_lost(rows, cols, rows_lost, cols_lost);
  paint_outside(rows_lost, cols_lost, result.outside.view());
  if (dy_px == 0.0 && dx_px == 0.0) {  // bit-exact copy (keeps NaN payloads and -0.0)
    for (std::size_t r = 0; r < h; ++r)
      std::copy(frame.row(r), frame.row(r) + w, result.image.row(r));
    return result;
  }
  // From a separate source the output rows are independent: bands of rows in parallel.
  const std::size_t band = std::max<std::size_t>(16, h / 64);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h, band), [&](const auto& range) {
    RowRing ring(w);
    shift_rows(frame, result.image.view(), rows, cols, range.begin(), range.end(),
               RowOrder::ascending, ring, ImageView<std::uint8_t>());
  });
  return result;
}

Image<float> mean_of_shifted_frames(const EnergyStack& stack, std::span<const std::size_t> frames,
                                    std::span<const double> dy_px, std::span<const double> dx_px) {
  if (dy_px.size() != frames.size() || dx_px.size() != frames.size())
    throw InputError("mean of shifted frames: " + std::to_string(frames.size()) + " frames but " +
                     std::to_string(dy_px.size()) + " dy and " + std::to_string(dx_px.size()) +
                     " dx values");
  const std::size_t h = stack.height(), w = stack.width();
  struct Shift {
    AxisPlan rows, cols;
    bool none = false;  // shift_frame copies such a frame as it is
  };
  std::vector<Shift> shifts;
  for (std::size_t k = 0; k < frames.size(); ++k) {
    if (frames[k] >= stack.frame_count())
      throw InputError("mean of shifted frames: frame " + std::to_string(frames[k]) +
                       " is out of range");
    check_finite(dy_px[k], dx_px[k], "mean of shifted frames, frame " + std::to_string(frames[k]));
    shifts.push_back(
        {axis_plan(h, dy_px[k]), axis_plan(w, dx_px[k]), dy_px[k] == 0.0 && dx_px[k] == 0.0});
  }
  Image<float> mean(h, w, std::numeric_limits<float>::quiet_NaN());
  // Bands of rows; per band its shifted rows (a band of one frame at a time), sums and counts.
  const std::size_t band = std::max<std::size_t>(16, h / 64);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h, band), [&](const auto& range) {
    const std::size_t begin = range.begin(), end = range.end(), n = (end - begin) * w;
    RowRing ring(w);
    std::vector<float> shifted(n);
    const ImageView<float> target(shifted.data(), end - begin, w);
    std::vector<double> sum(n, 0.0);
    std::vector<std::uint32_t> count(n, 0);
    for (std::size_t k = 0; k < frames.size(); ++k) {
      const ImageView<const float> frame = stack.frame(frames[k]);
      if (!shifts[k].none)
        shift_rows(frame, target, shifts[k].rows, shifts[k].cols, begin, end, RowOrder::ascending,
                   ring, ImageView<std::uint8_t>(), begin);
      for (std::size_t r = begin; r < end; ++r) {
        const float* v = shifts[k].none ? frame.row(r) : target.row(r - begin);
        double* sr = sum.data() + (r - begin) * w;
        std::uint32_t* cr = count.data() + (r - begin) * w;
        for (std::size_t c = 0; c < w; ++c)
          if (std::isfinite(v[c])) sr[c] += v[c], ++cr[c];
      }
    }
    for (std::size_t r = begin; r < end; ++r)
      for (std::size_t c = 0; c < w; ++c) {
        const std::size_t i = (r - begin) * w + c;
        if (count[i]) mean(r, c) = static_cast<float>(sum[i] / count[i]);
      }
  });
  return mean;
}

namespace {

void check_shift_lists(const EnergyStack& stack, std::span<const double> dy_px,
                       std::span<const double> dx_px) {
  const std::size_t n = stack.frame_count();
  if (dy_px.size() != n || dx_px.size() != n)
    throw InputError("apply shifts: " + std::to_string(dy_px.size()) + " dy and " +
                     std::to_string(dx_px.size()) + " dx values for " + std::to_string(n) +
                     " frames (one of each per frame is needed)");
  for (std::size_t e = 0; e < n; ++e) {
    std::ostringstream what;
    what.precision(10);
    what << "apply shifts: frame " << e << " (" << stack.energy_ev(e) << " eV)";
    check_finite(dy_px[e], dx_px[e], what.str());
  }
}

/// Shifts frame e of `source` into frame e of `target` (the same stack when in place) for every
/// frame, frames in parallel; writes the outside and not-finite maps of `result`; progress after
/// each group of frames, from the calling thread.
void shift_frames(const EnergyStack& source, EnergyStack& target, std::span<const double> dy_px,
                  std::span<const double> dx_px, AlignedStack& result,
                  const ProgressSink& progress) {
  const std::size_t n = source.frame_count(), h = source.height(), w = source.width();
  const bool in_place = &source == &target;
  std::vector<AxisPlan> rows(n), cols(n);
  std::vector<std::uint8_t> rows_lost(h, 0), cols_lost(w, 0);
  for (std::size_t e = 0; e < n; ++e) {
    rows[e] = axis_plan(h, dy_px[e]), cols[e] = axis_plan(w, dx_px[e]);
    note_lost(rows[e], cols[e], rows_lost, cols_lost);
  }
  paint_outside(rows_lost, cols_lost, result.outside_any.view());
  // Each thread ORs the not-finite values of its frames into its own map; merged at the end.
  tbb::enumerable_thread_specific<Image<std::uint8_t>> not_finite(
      [&] { return Image<std::uint8_t>(h, w, 0); });
  tbb::enumerable_thread_specific<RowRing> rings([&] { return RowRing(w); });
  const auto workers =
      static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
  const std::size_t group =
      4 * workers;  // frames per progress event: few idle ends, steady progress
  for (std::size_t g = 0; g < n; g += group) {
    const std::size_t end = std::min(n, g + group);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(g, end, 1), [&](const auto& frames) {
      ImageView<std::uint8_t> bad = not_finite.local().view();
      for (std::size_t e = frames.begin(); e != frames.end(); ++e) {
        ImageView<float> out = target.frame(e);
        if (dy_px[e] == 0.0 && dx_px[e] == 0.0) {  // bit-exact (keeps NaN payloads and -0.0)
          if (!in_place)
            std::copy(source.frame(e).data(), source.frame(e).data() + h * w, out.data());
          or_not_finite(out, bad);
          continue;
        }
        // In place, rows must be overwritten only after the ring has taken them: ascending when
        // the sample points lie at or below their output rows, descending when above.
        const RowOrder order =
            !in_place || rows[e].whole >= 0 ? RowOrder::ascending : RowOrder::descending;
        shift_rows(source.frame(e), out, rows[e], cols[e], 0, h, order, rings.local(), bad);
      }
    });
    for (std::size_t e = g; e < end; ++e) report(progress, "apply shifts", e + 1, n);
  }
  not_finite.combine_each([&](const Image<std::uint8_t>& part) {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, part.size(), std::size_t{1} << 16),
                      [&](const auto& range) {
                        for (std::size_t p = range.begin(); p != range.end(); ++p)
                          result.not_finite_any.data()[p] |= part.data()[p];
                      });
  });
}

}  // namespace

AlignedStack apply_shifts(EnergyStack&& stack, std::span<const double> dy_px,
                          std::span<const double> dx_px, const ProgressSink& progress) {
  check_shift_lists(stack, dy_px, dx_px);
  if (stack.frame_count() == 0) return {};
  const std::size_t h = stack.height(), w = stack.width();
  AlignedStack result{std::move(stack), Image<std::uint8_t>(h, w, 0), Image<std::uint8_t>(h, w, 0)};
  shift_frames(result.stack, result.stack, dy_px, dx_px, result, progress);
  return result;
}

AlignedStack apply_shifts(const EnergyStack& stack, std::span<const double> dy_px,
                          std::span<const double> dx_px, const ProgressSink& progress) {
  check_shift_lists(stack, dy_px, dx_px);
  const std::size_t n = stack.frame_count();
  if (n == 0) return {};
  const std::size_t h = stack.height(), w = stack.width();
  AlignedStack result{EnergyStack(stack.energies_ev(), h, w, FloatBuffer(n * h * w)),
                      Image<std::uint8_t>(h, w, 0), Image<std::uint8_t>(h, w, 0)};
  shift_frames(stack, result.stack, dy_px, dx_px, result, progress);
  return result;
}

}  // namespace xanesmap
