// The one choice of instruction set for the kernels of core/kernels, made once per process.
//
// The build targets plain x86-64; each kernel with a faster version (AVX2, AVX-512F) compiles it
// with a target attribute and picks it at run time through active_isa(). Every version of a
// kernel does the same operations per element in the same order as its plain twin (the build
// passes -ffp-contract=off, so no multiply and add is fused into an FMA), so the versions give
// the same bits unless a kernel's header says otherwise.
//
// How a kernel chooses: its .cpp defines `detail::<kernel>_for(Isa)`, the version for an
// instruction set (through choose() below, falling back to the best one below it), and the
// dispatched `kernels::<kernel>` resolves that once, from active_isa(), into a function pointer
// held in a static local (in the header, inline, for kernels called per spectrum). Its
// reference twin `kernels::plain::<kernel>` is the plain x86-64 version, without the cache
// hints that some dispatched kernels add around it (hints never change a value). The tests in
// tests/core/kernels call `_for(isa)` for every isa up to active_isa(), so that each version is
// compared with the plain one in one run.
//
// Twins are written once where the compiler vectorizes the loop well: an always-inlined body,
// compiled into a plain function and into one with __attribute__((target("avx2"))), which the
// compiler vectorizes for its target. Intrinsics are kept for what it does not find (the
// interleaved logarithm, the complex products, the climb's separated real and imaginary parts).
#pragma once

namespace xanesmap::kernels {

/// Instruction sets a kernel may have a version for, in increasing order (each implies the ones
/// before it here).
enum class Isa { plain, avx2, avx512 };

/// "plain", "avx2" or "avx512".
const char* isa_name(Isa isa);

/// True when the environment variable `name` is set and neither empty nor "0".
bool env_switch_set(const char* name);

/// The best instruction set of this processor that the environment allows, read once:
/// XANESMAP_NO_AVX2 (set and not "0") selects the plain versions, XANESMAP_NO_AVX512 the AVX2
/// ones, so that the tests check them on machines that have more (CTest's
/// reference.without_avx2 and reference.without_avx512 runs). AVX-512 here means AVX-512F.
Isa active_isa();

/// The version of a kernel for `isa`: the best one given at or below it (null: none).
template <class Fn>
Fn choose(Isa isa, Fn plain, Fn avx2, Fn avx512 = nullptr) {
  if (isa >= Isa::avx512 && avx512) return avx512;
  if (isa >= Isa::avx2 && avx2) return avx2;
  return plain;
}

}  // namespace xanesmap::kernels
