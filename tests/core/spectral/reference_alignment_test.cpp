#include "core/spectral/detail/reference_alignment.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <optional>

#include "core/base/error.hpp"

using namespace xanesmap;

TEST_CASE("The reference offset scan finds the minimum of a parabola", "[alignment]") {
  // R(d) = (d - 1.234)^2 + 0.01: the parabola through the best three scan points has the true
  // vertex; only the rounding of the accumulated 0.1 eV steps and of the differences of R remain
  // (~1e-14), far below 1e-9.
  const auto offset = detail::fit_reference_offset(
      5.0, [](double d) -> std::optional<double> { return (d - 1.234) * (d - 1.234) + 0.01; });
  CHECK(offset.interior);
  CHECK_THAT(offset.offset_ev, Catch::WithinAbs(1.234, 1e-9));
}

TEST_CASE("The reference offset scan without neighbours keeps the scan point", "[alignment]") {
  // The offsets next to the best one are no candidates: no parabola, the best scan point itself
  // (within the rounding of the 0.1 eV steps from -5 eV: 1e-12).
  const auto offset = detail::fit_reference_offset(5.0, [](double d) -> std::optional<double> {
    if (std::abs(d - 1.1) < 0.05 || std::abs(d - 1.3) < 0.05) return std::nullopt;
    return (d - 1.234) * (d - 1.234);
  });
  CHECK(offset.interior);
  CHECK_THAT(offset.offset_ev, Catch::WithinAbs(1.2, 1e-12));
}

TEST_CASE("The reference offset scan says when the best offset lies at its end", "[alignment]") {
  // Decreasing R: the best offset is the last scanned (+2 eV, within the steps' rounding: 1e-12).
  const auto offset =
      detail::fit_reference_offset(2.0, [](double d) -> std::optional<double> { return -d; });
  CHECK_FALSE(offset.interior);
  CHECK_THAT(offset.offset_ev, Catch::WithinAbs(2.0, 1e-12));
}

TEST_CASE("A reference offset scan without candidates is an error", "[alignment][bad]") {
  CHECK_THROWS_AS(detail::fit_reference_offset(
                      1.0, [](double) -> std::optional<double> { return std::nullopt; }),
                  InputError);
}
