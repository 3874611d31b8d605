#include "core/base/energy_grid.hpp"

#include <catch2/catch.hpp>

#include "core/base/error.hpp"
#include "core/simulation/simulator.hpp"

using namespace xanesmap;

TEST_CASE("Energy unit is decided by magnitude", "[energy_grid]") {
  const std::vector<double> kev{6.45, 6.55, 6.7};
  CHECK(detect_energy_unit(kev).unit == EnergyUnit::kev);
  const std::vector<double> ev{6450.0, 6550.0};
  CHECK(detect_energy_unit(ev).unit == EnergyUnit::ev);
  const auto converted = to_electronvolts(kev, EnergyUnit::kev);
  CHECK_THAT(converted[1], Catch::WithinAbs(6550.0, 1e-9));  // exact up to rounding of 6.55
  const std::vector<double> mixed{6.5, 6550.0};
  CHECK_THROWS_AS(detect_energy_unit(mixed), InputError);
  const std::vector<double> tiny{0.001};
  CHECK_THROWS_AS(detect_energy_unit(tiny), InputError);
}

TEST_CASE("The default grid is described as coarse, fine and coarse regions", "[energy_grid]") {
  const auto grid = sim::default_energy_grid();
  const auto report = describe_energy_grid(grid);
  REQUIRE(report.strictly_increasing());
  REQUIRE(report.regions.size() == 3);
  CHECK(report.regions[0].points == 17);
  CHECK_THAT(report.regions[0].step_ev, Catch::WithinAbs(5.0, 1e-9));
  CHECK(report.regions[1].points == 80);
  CHECK_THAT(report.regions[1].step_ev, Catch::WithinAbs(0.5, 1e-9));
  CHECK(report.regions[2].points == 13);
  CHECK_THAT(report.regions[2].step_ev, Catch::WithinAbs(10.0, 1e-9));
  CHECK(report.min_ev == 6450.0);
  CHECK(report.max_ev == 6700.0);
}

TEST_CASE("Duplicate and decreasing energies are reported by index", "[energy_grid]") {
  const std::vector<double> e{6500, 6501, 6501, 6503, 6502};
  const auto report = describe_energy_grid(e);
  CHECK_FALSE(report.strictly_increasing());
  CHECK(report.duplicate_indices == std::vector<std::size_t>{2});
  CHECK(report.decreasing_indices == std::vector<std::size_t>{4});
  CHECK(report.regions.empty());
}
