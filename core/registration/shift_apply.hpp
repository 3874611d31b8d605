// Applying measured drift shifts to frames: sub-pixel image translation.
//
// Convention (shared with registration and the simulator's drift): a frame's shift (dy, dx), in
// pixels, is the displacement of that frame's content relative to the reference frame,
//   frame(y, x) = reference(y - dy, x - dx),     +dy = content moved down (larger row index),
// so the frame is aligned by moving it back by (-dy, -dx):
//   aligned(y, x) = frame(y + dy, x + dx).
//
// Interpolation: separable cubic convolution (R. G. Keys, "Cubic convolution interpolation for
// digital image processing", IEEE Trans. ASSP 29, 1153 (1981)) with a = -0.5, the choice for
// which the interpolant reproduces quadratics and converges as h^3 for smooth images. Because the
// shift is the same for the whole frame, the 4 weights per axis are computed once per frame.
// Along an axis whose shift is a whole number of pixels the kernel is the single tap 1: integer
// shifts move pixels exactly, and a zero shift copies the frame bit for bit.
// Arithmetic is single precision (float weights and sums, as the frames are float32): each value
// is within 17.2 u M of the same sums in double, u = 2^-24 and M the largest |value| of its 4 x 4
// support (an absolute bound, derived and tested in tests/core/registration/shift_apply_test.cpp):
// about 2e-6 for OD values up to 2, far below the photon noise of any OD value.
//
// No overshoot: each interpolated value is clamped to the range of the 2x2 input pixels nearest
// to its sample point (the 1 or 2 pixels per axis that bracket it), so a sharp particle edge does
// not ring (cubic convolution alone undershoots by up to ~7% of a step on either side).
// This trades accuracy at sub-pixel extrema of smooth images for never inventing values outside
// the local data: a peak that falls between pixels is cut to the largest of its 2x2 nearest
// pixels, a second-order error (for Gaussian particles of sigma 3, 4 and 8 px: up to 0.8%, 0.4%
// and 0.2% of their height at the peak, against ~1e-4 elsewhere in the image). Away from extrema
// the interpolation keeps the third-order accuracy of cubic convolution: measured 3e-5 to 8e-5
// on a unit error-function edge 4 px wide (see tests/core/registration/shift_apply_test.cpp).
//
// Borders, never wrapping around: the sample point (y + dy, x + dx) is bracketed per axis by the
// 2 nearest pixels (1 for a whole-pixel shift).
// - If those nearest pixels are inside the frame but the outer pair of the 4-tap cubic support
//   is not, that axis falls back to linear interpolation (weights 1 - t, t). Without the fallback
//   a sub-pixel shift would lose one extra row or column on each side, including on the side the
//   content moved away from; with it, the pixels lost are exactly those whose sample point lies
//   outside the grid of pixel centres, i.e. ceil(|shift|) rows/columns on one side.
// - If a nearest pixel is outside the frame, the output is NaN and flagged `outside`.
// NaN input pixels ("no value") propagate to every output whose support uses them (up to a 4x4
// block of outputs per NaN pixel for a shift fractional on both axes); such outputs are NaN but
// not flagged `outside`, which is only about the field of view.
#pragma once

#include <cstdint>
#include <span>

#include "core/base/energy_stack.hpp"
#include "core/base/image.hpp"
#include "core/base/progress.hpp"

namespace xanesmap {

struct ShiftedFrame {
  Image<float> image;           ///< aligned frame, same size as the input; NaN where outside
  Image<std::uint8_t> outside;  ///< 1 where a sample needed lies outside the frame, else 0
};

/// aligned(y, x) = frame(y + dy_px, x + dx_px), see the notes at the top of this file.
/// Rows are processed in parallel (TBB). Throws InputError when a shift is not finite.
ShiftedFrame shift_frame(ImageView<const float> frame, double dy_px, double dx_px);

/// Per pixel, the mean of the finite values of frames `frames` of `stack`, each shifted by its
/// (dy_px, dx_px) as shift_frame shifts it, summed in double in the order given (NaN where no
/// value is finite): the registration template. The same values, bit for bit, as shifting each
/// frame with shift_frame and summing (tested), without storing a shifted frame or frame-sized
/// sums: bands of rows in parallel, each band through every frame in turn (scratch: a band of
/// shifted rows and its sums, about 0.8 MB per band at 2048 px). InputError for a shift
/// that is not finite or a frame index out of range; the three lists must have one entry per frame.
Image<float> mean_of_shifted_frames(const EnergyStack& stack, std::span<const std::size_t> frames,
                                    std::span<const double> dy_px, std::span<const double> dx_px);

struct AlignedStack {
  EnergyStack stack;                   ///< same energies and frame size as the input
  Image<std::uint8_t> outside_any;     ///< 1 where the pixel left the field of view in ANY frame
  Image<std::uint8_t> not_finite_any;  ///< 1 where an aligned value is NaN or infinite in ANY frame
};

/// Aligns every frame by its shift (dy_px[e], dx_px[e]). Frames are shifted in parallel, one per
/// task; progress ("apply shifts", frames done, frame count) is reported from the calling thread
/// after each group of frames, one event per frame, in order. Throws InputError when the shift
/// lists do not hold one value per frame or a shift is not finite. An empty (default) stack gives
/// an empty result.
AlignedStack apply_shifts(const EnergyStack& stack, std::span<const double> dy_px,
                          std::span<const double> dx_px, const ProgressSink& progress = {});

/// The same, in place: takes the stack and returns it aligned, each frame shifted within its own
/// memory (no second stack, no frame of scratch: per worker thread a ring of 4 filtered rows and
/// one byte per pixel for its not-finite marks): the pipeline's way, the unaligned stack is not
/// needed after. The values are those of the copy.
AlignedStack apply_shifts(EnergyStack&& stack, std::span<const double> dy_px,
                          std::span<const double> dx_px, const ProgressSink& progress = {});

}  // namespace xanesmap
