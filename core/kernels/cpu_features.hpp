// What the processor can do beyond the build's target (plain x86-64), asked once at run time.
// The hot row loops (optical density, shift application, normalization fits, sums over spectra,
// the registration frames' background pass) have AVX2 versions chosen with this (the OD
// logarithm also an AVX-512F one); each does the same operations per element in the same order
// as its plain version (no fused multiply-add).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace xanesmap {

/// True when the environment variable `name` is set and neither empty nor "0".
inline bool env_switch_set(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::string_view(value) != "0";
}

/// True when the processor has AVX2 and the environment variable XANESMAP_NO_AVX2 is unset or
/// "0" (set, it selects the plain versions, so that the tests check them on AVX2 machines too).
/// __builtin_cpu_init makes the answer valid even before main (static initialization), where
/// __builtin_cpu_supports alone may not be.
inline bool has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool avx2 = [] {
    if (env_switch_set("XANESMAP_NO_AVX2")) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return avx2;
#else
  return false;
#endif
}

/// True when has_avx2() is and the processor has AVX-512F, unless the environment variable
/// XANESMAP_NO_AVX512 is set and not "0" (then the AVX2 versions run, so that the tests check them
/// on AVX-512 machines too). Kernels with an AVX-512 version do the same operations per element
/// as their AVX2 and plain versions, 16 floats per vector (the build passes -ffp-contract=off, so
/// no multiply and add is fused into an FMA, which AVX-512F would allow).
inline bool has_avx512f() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool avx512 = [] {
    if (!has_avx2()) return false;
    if (env_switch_set("XANESMAP_NO_AVX512")) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return avx512;
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

/// Asks for the cache line `distance_bytes` past `p` (for reading, into every cache level): one
/// call per 64 bytes read, in passes that read large arrays in order while doing much arithmetic
/// per byte. Measured on a 2-vCPU KVM guest (Xeon, 2026-12-04): registration's background pass
/// (~12 cycles of arithmetic per 16 bytes read) ran at 1.8 GB/s from memory without it, 9 ms per
/// 2048 x 2048 frame against 2.6 ms with the frame in cache, and at cache speed with it: the
/// hardware prefetchers alone kept too few lines in flight (docs/performance.md). A prefetch never
/// faults, past the end of an array included: the address is formed as an integer, not as a
/// pointer past the end.
inline void prefetch_ahead(const void* p, std::size_t distance_bytes = 8192) {
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(p) + distance_bytes), 0, 3);
}

}  // namespace xanesmap
