#include "core/kernels/dispatch.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace xanesmap;
using kernels::Isa;

namespace {
int plain_version() { return 0; }
int avx2_version() { return 2; }
int avx512_version() { return 5; }
}  // namespace

TEST_CASE("A kernel's version for an instruction set is the best one at or below it", "[kernels]") {
  using Fn = int (*)();
  CHECK(kernels::choose<Fn>(Isa::plain, plain_version, avx2_version, avx512_version)() == 0);
  CHECK(kernels::choose<Fn>(Isa::avx2, plain_version, avx2_version, avx512_version)() == 2);
  CHECK(kernels::choose<Fn>(Isa::avx512, plain_version, avx2_version, avx512_version)() == 5);
  // No AVX-512 version: AVX2 stands in; no AVX2 version either: the plain one.
  CHECK(kernels::choose<Fn>(Isa::avx512, plain_version, avx2_version)() == 2);
  CHECK(kernels::choose<Fn>(Isa::avx512, plain_version, nullptr)() == 0);
}

// The CTest re-runs of the [reference] tests set these switches: the choice must honour them.
TEST_CASE("The environment switches cap the active instruction set", "[kernels][reference]") {
  const Isa isa = kernels::active_isa();
  INFO("active: " << kernels::isa_name(isa));
  if (kernels::env_switch_set("XANESMAP_NO_AVX2")) CHECK(isa == Isa::plain);
  if (kernels::env_switch_set("XANESMAP_NO_AVX512")) CHECK(isa <= Isa::avx2);
  CHECK(std::string(kernels::isa_name(Isa::avx2)) == "avx2");
  CHECK(kernels::active_isa() == isa);  // read once: the same answer every time
}
