// The instruction sets whose kernel versions a test compares with the plain ones: every one up
// to kernels::active_isa(), so the environment switches of the CTest reference re-runs
// (XANESMAP_NO_AVX2, XANESMAP_NO_AVX512) narrow them as they narrow the program's choice.
#pragma once

#include <vector>

#include "core/kernels/dispatch.hpp"

namespace xanesmap::test {

inline std::vector<kernels::Isa> isas_to_test() {
  std::vector<kernels::Isa> isas{kernels::Isa::plain};
  if (kernels::active_isa() >= kernels::Isa::avx2) isas.push_back(kernels::Isa::avx2);
  if (kernels::active_isa() >= kernels::Isa::avx512) isas.push_back(kernels::Isa::avx512);
  return isas;
}

}  // namespace xanesmap::test
