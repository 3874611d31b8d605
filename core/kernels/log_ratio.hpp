// Optical density's row loops (core/stack/optical_density.cpp): the ratio of sample to flat
// over the dark, with the test that sends a value to the exact path, and its minus logarithm.
// The versions of each kernel (plain x86-64, AVX2, AVX-512F for the logarithm) give the same
// bits; core/kernels/dispatch.hpp says how one is chosen.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "core/kernels/dispatch.hpp"

namespace xanesmap::kernels {

/// -ln(x) in float for normal, finite x (the contract of xanesmap::minus_log in
/// core/stack/optical_density.hpp, which calls this): the polynomial of S. L. Moshier's Cephes
/// logf, written without branches or calls so that loops over pixels vectorize; every row kernel
/// below gives its bits.
inline float minus_log(float x) {
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)); ln x = ln m + e ln 2, ln 2 split in two parts
  // (0.693359375 is exact in float) as Cephes does.
  const auto bits = std::bit_cast<std::uint32_t>(x);
  int e = static_cast<int>((bits >> 23) & 0xffu) - 126;
  float m = std::bit_cast<float>((bits & 0x007fffffu) | 0x3f000000u);  // in [0.5, 1)
  // Below sqrt(1/2): m -> 2m, e -> e - 1 (arithmetic instead of branches; 2m is exact).
  const int low = static_cast<int>(m < 0.70710678118654752440f);
  e -= low;
  const float f = m * static_cast<float>(1 + low) - 1.0f;
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  const auto fe = static_cast<float>(e);
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  return -((f + y) + 0.693359375f * fe);
}

/// The fast pass of optical density over one row of `w` values: with num = sample - dark and
/// den = flat - dark (a uint16 flat converted to float first, exactly), ratio[c] = num / den and
/// slow[c] = 0 where the value is valid and the ratio a normal float (sample and flat below
/// `saturation`, den > 0, FLT_MIN <= ratio <= FLT_MAX), else ratio[c] = 1 and slow[c] = 1 (the
/// caller computes those values exactly). Returns nonzero when any value is slow. The
/// dispatched version reads the row in runs of 256 columns, each after cache hints for the same
/// columns 8 KB further on (for 2048 px rows: the next row of counts, the row after next of a
/// uint16 flat).
unsigned od_ratio_row(const float* sample, const float* flat, const float* dark, std::size_t w,
                      float saturation, float* ratio, std::uint8_t* slow);
unsigned od_ratio_row(const float* sample, const std::uint16_t* flat, const float* dark,
                      std::size_t w, float saturation, float* ratio, std::uint8_t* slow);

/// od[c] = minus_log(ratio[c]) for c in [0, w) (ratios normal and finite).
void minus_log_row(const float* ratio, float* od, std::size_t w);

namespace plain {
unsigned od_ratio_row(const float* sample, const float* flat, const float* dark, std::size_t w,
                      float saturation, float* ratio, std::uint8_t* slow);
unsigned od_ratio_row(const float* sample, const std::uint16_t* flat, const float* dark,
                      std::size_t w, float saturation, float* ratio, std::uint8_t* slow);
void minus_log_row(const float* ratio, float* od, std::size_t w);
}  // namespace plain

namespace detail {
template <typename Flat>
using OdRatioRowFn = unsigned (*)(const float*, const Flat*, const float*, std::size_t, float,
                                  float*, std::uint8_t*);
using MinusLogRowFn = void (*)(const float*, float*, std::size_t);
template <typename Flat>
OdRatioRowFn<Flat> od_ratio_row_for(Isa isa);  // Flat: float or std::uint16_t
MinusLogRowFn minus_log_row_for(Isa isa);
}  // namespace detail

}  // namespace xanesmap::kernels
