// Forwarding header, kept for code not yet moved into core/kernels: the instruction-set choice
// now lives in core/kernels/dispatch.hpp (kernels::active_isa) and the cache hints in
// core/kernels/prefetch.hpp. New code includes those and calls a named kernel instead.
#pragma once

#include "core/kernels/dispatch.hpp"
#include "core/kernels/prefetch.hpp"

namespace xanesmap {

using kernels::env_switch_set;
using kernels::prefetch_ahead;
using kernels::prefetch_to_l2;

/// kernels::active_isa() allows AVX2 (see there).
inline bool has_avx2() { return kernels::active_isa() >= kernels::Isa::avx2; }

/// kernels::active_isa() allows AVX-512F (see there).
inline bool has_avx512f() { return kernels::active_isa() >= kernels::Isa::avx512; }

}  // namespace xanesmap
