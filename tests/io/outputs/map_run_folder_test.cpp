// run_differences: which differences between two map runs make their valences incomparable.
#include "io/outputs/map_run_folder.hpp"

#include <catch2/catch.hpp>
#include <functional>

using namespace xanesmap;

namespace {

nlohmann::json reference(const std::string& name, double valence, const std::string& sha) {
  return {
      {"name", name}, {"valence", valence}, {"energy_shift_ev", 0.0}, {"file", {{"sha256", sha}}}};
}

MapRunFolder run(const std::string& method = "lcf") {
  MapRunFolder r;
  r.summary = {
      {"method", method},
      {"edge_definition", "half-height"},
      {"lcf_constraint", "simplex"},
      {"e0_ev", 6550.2},
      {"windows",
       {{"post_edge_order", 1},
        {"flatten", true},
        {"requested_relative_to_e0",
         {{"pre_edge_ev", {-100, -20}}, {"post_edge_ev", {30, 150}}, {"fit_ev", {-20, 40}}}}}},
      {"mask", {{"min_edge_jump_od", 0.02}, {"min_jump_to_noise", 4.0}}},
      {"reference_offset_ev", {{"fitted", false}, {"value", 0.0}}},
      {"regions", {{"surface_depth_nm", 300.0}}},
      {"references",
       {reference("MnO", 2, "aa"), reference("Mn2O3", 3, "bb"), reference("MnO2", 4, "cc")}}};
  return r;
}

}  // namespace

TEST_CASE("Runs made the same way compare", "[compare]") {
  const MapRunFolder a = run();
  MapRunFolder b = run();
  CHECK(run_differences(a, b).empty());
  // The references in another manifest order are the same references.
  b.summary["references"] = {reference("MnO2", 4, "cc"), reference("MnO", 2, "aa"),
                             reference("Mn2O3", 3, "bb")};
  CHECK(run_differences(a, b).empty());
  // The edge definition does not enter LCF valences.
  b.summary["edge_definition"] = "derivative-max";
  CHECK(run_differences(a, b).empty());
  // e0 found on another scan's grid moves by a fraction of an eV.
  b.summary["e0_ev"] = 6550.4;
  CHECK(run_differences(a, b).empty());
  // Fitted reference offsets differ between samples; only whether they were fitted matters.
  b.summary["reference_offset_ev"]["value"] = 0.3;
  CHECK(run_differences(a, b).empty());
}

TEST_CASE("Runs made differently are told apart", "[compare]") {
  const MapRunFolder a = run();
  auto differs = [&](const std::function<void(nlohmann::json&)>& change, const std::string& what) {
    MapRunFolder b = run();
    change(b.summary);
    const auto d = run_differences(a, b);
    INFO(what);
    REQUIRE(d.size() == 1);
    CHECK_THAT(d[0], Catch::Contains(what));
  };
  differs([](auto& s) { s["method"] = "edge"; }, "method");
  differs([](auto& s) { s["lcf_constraint"] = "sum-to-one"; }, "LCF constraint");
  differs([](auto& s) { s["windows"]["post_edge_order"] = 2; }, "post-edge order");
  differs([](auto& s) { s["windows"]["flatten"] = false; }, "flattening");
  differs(
      [](auto& s) {
        s["windows"]["requested_relative_to_e0"]["pre_edge_ev"] = {-60, -30};
      },
      "pre-edge window");
  differs(
      [](auto& s) {
        s["windows"]["requested_relative_to_e0"]["post_edge_ev"] = {50, 100};
      },
      "post-edge window");
  differs(
      [](auto& s) {
        s["windows"]["requested_relative_to_e0"]["fit_ev"] = {-10, 20};
      },
      "fit window");
  differs([](auto& s) { s["mask"]["min_edge_jump_od"] = 0.05; }, "Mn mask");
  differs([](auto& s) { s["reference_offset_ev"]["fitted"] = true; }, "reference alignment");
  differs([](auto& s) { s["regions"]["surface_depth_nm"] = 90.0; }, "surface depth");
  differs([](auto& s) { s["e0_ev"] = 6545.0; }, "e0");
  differs([](auto& s) { s["references"][2]["file"]["sha256"] = "dd"; }, "reference MnO2");
  differs([](auto& s) { s["references"][0]["energy_shift_ev"] = 0.5; }, "reference MnO");
  differs([](auto& s) { s["references"][1]["valence"] = 3.1; }, "reference Mn2O3");
  // With the edge method on both sides, the edge definition matters.
  MapRunFolder e1 = run("edge"), e2 = run("edge");
  e2.summary["edge_definition"] = "white-line";
  REQUIRE(run_differences(e1, e2).size() == 1);
  CHECK_THAT(run_differences(e1, e2)[0], Catch::Contains("edge definition"));
  // A reference present in one run only.
  MapRunFolder c = run();
  c.summary["references"].erase(2);
  const auto d = run_differences(a, c);
  REQUIRE(d.size() == 1);
  CHECK_THAT(d[0], Catch::Contains("only in the first run"));
}
