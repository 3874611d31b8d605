// The row loops of the separable cubic shift (core/registration/detail/shift_rows.cpp): a row
// filtered along x by 4 taps (or copied, for a whole-pixel shift) with the bounds of each
// output's nearest pixels, and the output rows combined from up to 4 filtered rows and clamped
// to those bounds. Every version gives the plain version's bits (the same operations per
// element in the same order); core/kernels/dispatch.hpp says how one is chosen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "core/kernels/dispatch.hpp"

namespace xanesmap::kernels {

/// The smaller / larger of x and y ignoring a NaN y. The nearest-pixel bounds start at +-inf
/// and take the nearest pixels one by one, so NaN pixels do not count (their output is NaN
/// anyway: every nearest pixel has a positive weight).
inline float min_ignoring_nan(float x, float y) { return y < x ? y : x; }
inline float max_ignoring_nan(float x, float y) { return x < y ? y : x; }

/// Interior of a fractional x shift, outputs c in [0, n): dst[c] = ((w0 a + w1 b) + w2 d) + w3 e
/// over src[c .. c + 3], with low/high[c] the bounds of the nearest pixels src[c + 1], src[c + 2].
/// `upcoming`: a row the pass will load a few rows later, requested into L2 first (rows are
/// short runs, 8 KB at 2048 px, and taken upwards each starts a new descending step that the
/// hardware prefetcher learns anew; stand-alone, 2048 x 2048 x 100 on one thread:
/// 0.73-0.78 -> 0.60-0.67 s).
void cubic_row(const float* src, std::size_t n, const float* weights, float* dst, float* low,
               float* high, std::span<const float> upcoming = {});

/// Interior of a whole-pixel x shift: dst[c] = src[c], its own bounds. `upcoming` as above.
void copy_row(const float* src, std::size_t n, float* dst, float* low, float* high,
              std::span<const float> upcoming = {});

/// One output row from `count` (1, 2 or 4) filtered rows f[0 .. count) with weights wy, clamped
/// to [min(low0, low1), max(high0, high1)] (a NaN sum stays NaN); ORs 1 into marks[c] where the
/// output is not finite. f[count .. 3] must be valid pointers (not read).
void combine_rows(const float* const* f, int count, const float* wy, const float* low0,
                  const float* low1, const float* high0, const float* high1, std::size_t n,
                  float* out, std::uint8_t* marks);

/// ORs 1 into marks[i] where values[i] is NaN or infinite.
void mark_not_finite(const float* values, std::size_t n, std::uint8_t* marks);

namespace plain {
void cubic_row(const float* src, std::size_t n, const float* weights, float* dst, float* low,
               float* high);
void copy_row(const float* src, std::size_t n, float* dst, float* low, float* high);
void combine_rows(const float* const* f, int count, const float* wy, const float* low0,
                  const float* low1, const float* high0, const float* high1, std::size_t n,
                  float* out, std::uint8_t* marks);
void mark_not_finite(const float* values, std::size_t n, std::uint8_t* marks);
}  // namespace plain

namespace detail {
using CubicRowFn = void (*)(const float*, std::size_t, const float*, float*, float*, float*);
using CopyRowFn = void (*)(const float*, std::size_t, float*, float*, float*);
using CombineRowsFn = void (*)(const float* const*, int, const float*, const float*, const float*,
                               const float*, const float*, std::size_t, float*, std::uint8_t*);
using MarkNotFiniteFn = void (*)(const float*, std::size_t, std::uint8_t*);
CubicRowFn cubic_row_for(Isa isa);
CopyRowFn copy_row_for(Isa isa);
CombineRowsFn combine_rows_for(Isa isa);
MarkNotFiniteFn mark_not_finite_for(Isa isa);
}  // namespace detail

}  // namespace xanesmap::kernels
