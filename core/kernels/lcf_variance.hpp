// The valence pass's noise propagation for batches of pixels (core/spectral/lcf_noise.hpp
// states the formula): several pixels at once, one per vector lane. One pixel at a time the loop
// waits on the sum's chain of additions and on a division per point.
#pragma once

#include <span>

#include "core/kernels/dispatch.hpp"
#include "core/spectral/lcf_noise.hpp"

namespace xanesmap::kernels {

/// variance[p] = lcf_valence_variance(model, pixels[p]) for every p, bit for bit: with AVX2,
/// four pixels per vector, each lane doing the one-pixel function's operations in its order;
/// the pixels left over one at a time. The sizes must match and the model be consistent (the
/// caller, lcf_valence_variances, checks).
void lcf_valence_variances(const LcfNoiseModel& model, std::span<const LcfNoisePixel> pixels,
                           std::span<double> variance);

namespace plain {
/// The one-pixel function, pixel by pixel.
void lcf_valence_variances(const LcfNoiseModel& model, std::span<const LcfNoisePixel> pixels,
                           std::span<double> variance);
}  // namespace plain

namespace detail {
using LcfVariancesFn = void (*)(const LcfNoiseModel&, std::span<const LcfNoisePixel>,
                                std::span<double>);
LcfVariancesFn lcf_valence_variances_for(Isa isa);
}  // namespace detail

}  // namespace xanesmap::kernels
