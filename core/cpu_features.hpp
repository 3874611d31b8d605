// What the processor can do beyond the build's target (plain x86-64), asked once at run time.
// The hot row loops (optical density, shift application, normalization fits, sums over spectra,
// the registration frames' background pass) have AVX2 versions chosen with this; each does the
// same operations per element in the same order as its plain version (no fused multiply-add).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string_view>

namespace xanesmap {

/// True when the processor has AVX2 and the environment variable XANESMAP_NO_AVX2 is unset or
/// "0" (set, it selects the plain versions, so that the tests check them on AVX2 machines too).
/// __builtin_cpu_init makes the answer valid even before main (static initialization), where
/// __builtin_cpu_supports alone may not be.
inline bool has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool avx2 = [] {
    if (const char* off = std::getenv("XANESMAP_NO_AVX2"); off && *off && std::string_view(off) != "0") return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return avx2;
#else
  return false;
#endif
}

}  // namespace xanesmap

namespace xanesmap {

/// Requests every cache line of values[0, count) into L2 (a hint: no fault, no effect on
/// results). For reads of short runs in pages far apart, e.g. a tile of columns in every frame of
/// a stack, which the hardware prefetcher does not anticipate.
inline void prefetch_to_l2(const float* values, std::size_t count) {
  if (count == 0) return;
  for (std::size_t c = 0; c < count; c += 64 / sizeof(float)) __builtin_prefetch(values + c, 0, 2);
  __builtin_prefetch(values + count - 1, 0, 2);  // the last line, when values is not line-aligned
}

}  // namespace xanesmap
