// Cache hints for the kernels' reads: requests that never fault and never change a result.
// They serve loops whose reads the hardware prefetchers do not anticipate or keep too few
// lines in flight for (docs/performance.md has the measurements).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xanesmap::kernels {

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
  __builtin_prefetch(
      reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(p) + distance_bytes), 0, 3);
}

}  // namespace xanesmap::kernels
