// The row machinery behind core/registration/shift_apply: per-axis taps of Keys' cubic convolution
// with the border rules of shift_apply.hpp, and the separable pass over a range of output rows.
// Internal to shift_apply; in a header of its own for its tests and to keep shift_apply.cpp small.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/base/image.hpp"

namespace xanesmap {

/// The source pixels and weights that make one output index along an axis.
struct AxisTaps {
  bool inside = false;    ///< false: the nearest pixels leave the frame (output NaN, outside)
  std::size_t first = 0;  ///< first source index of the support
  int count = 0;          ///< 1 (whole-pixel shift), 2 (linear, at a border) or 4 (cubic)
  std::array<float, 4> weight{};
  std::size_t nearest = 0;  ///< first of the 1 or 2 source pixels bracketing the sample point
  int nearest_count = 0;
};

/// Taps for every output index 0 .. n-1 of an axis shifted by `shift_px` (output i samples the
/// source at i + shift_px), and the interior run where they advance one source pixel per output.
struct AxisPlan {
  std::vector<AxisTaps> taps;
  std::ptrdiff_t whole =
      0;  ///< floor(shift_px), after rounding a fraction of 1 up to the next pixel
  bool fractional = false;  ///< the shift is not a whole number of pixels
  /// [run_begin, run_end): outputs with the full kernel (4 taps, or 1 for a whole-pixel shift)
  /// whose support starts at index + whole - (fractional ? 1 : 0). Empty when none.
  std::size_t run_begin = 0, run_end = 0;
};
AxisPlan axis_plan(std::size_t n, double shift_px);

/// Scratch for shift_rows: 4 source rows filtered along x, each with the minimum and maximum of
/// the nearest pixels of every output column. One per thread; no allocation per row.
class RowRing {
 public:
  explicit RowRing(std::size_t width);
  static constexpr std::size_t kSlots = 4;  // an output row uses at most 4 consecutive source rows
  float* filtered(std::size_t slot) { return filtered_.data() + slot * width_; }
  float* low(std::size_t slot) { return low_.data() + slot * width_; }
  float* high(std::size_t slot) { return high_.data() + slot * width_; }
  std::uint8_t* marks() { return marks_.data(); }
  std::array<std::size_t, kSlots> held{};  ///< the source row in each slot (SIZE_MAX: none)

 private:
  std::size_t width_;
  std::vector<float> filtered_, low_, high_;
  std::vector<std::uint8_t> marks_;
};

enum class RowOrder { ascending, descending };

/// Output rows [row_begin, row_end) of `target`: target(r, c) = source(r + dy, c + dx) by the
/// plans' taps, clamped to the nearest pixels' range, NaN where outside. `source` and `target`
/// may be the same frame when [row_begin, row_end) is every row and `order` is ascending for
/// rows.whole >= 0, descending otherwise. ORs 1 into `not_finite` (when it has pixels) for
/// every value written that is not finite. Single precision: within 17.2 u M (u = 2^-24, M the
/// largest |value| of the support) of the same sums in double
/// (tests/core/registration/shift_apply_test.cpp). With `target_first_row` > 0, output row r goes
/// to target row r - target_first_row (a target that holds only rows [target_first_row, ...), e.g.
/// one band).
void shift_rows(ImageView<const float> source, ImageView<float> target, const AxisPlan& rows,
                const AxisPlan& cols, std::size_t row_begin, std::size_t row_end, RowOrder order,
                RowRing& ring, ImageView<std::uint8_t> not_finite,
                std::size_t target_first_row = 0);

/// ORs 1 into marks[i] where values[i] is NaN or infinite.
void mark_not_finite(const float* values, std::size_t n, std::uint8_t* marks);

}  // namespace xanesmap
