#include "core/kernels/dispatch.hpp"

#include <cstdlib>
#include <string_view>

namespace xanesmap::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::plain:
      return "plain";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "unknown";
}

bool env_switch_set(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::string_view(value) != "0";
}

namespace {

Isa detect_isa() {
#if defined(__x86_64__) || defined(__i386__)
  // __builtin_cpu_init makes the answer valid even before main (static initialization), where
  // __builtin_cpu_supports alone may not be.
  __builtin_cpu_init();
  if (env_switch_set("XANESMAP_NO_AVX2") || !__builtin_cpu_supports("avx2")) return Isa::plain;
  if (env_switch_set("XANESMAP_NO_AVX512") || !__builtin_cpu_supports("avx512f")) return Isa::avx2;
  return Isa::avx512;
#else
  return Isa::plain;
#endif
}

}  // namespace

Isa active_isa() {
  static const Isa isa = detect_isa();
  return isa;
}

}  // namespace xanesmap::kernels
