// results.h5 against its documented layout (issue 7): the table under "### `results.h5`" in
// docs/map-outputs.md is the contract. Every dataset it lists must be in the file of a real run,
// and every dataset in the file must be listed; both lists are reported when they differ.
#include <hdf5.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/particles/particle_analysis.hpp"
#include "core/pipeline.hpp"
#include "io/formats/fxi_writer.hpp"
#include "io/formats/hdf5_file.hpp"
#include "io/formats/reference_manifest.hpp"
#include "io/outputs/map_outputs.hpp"
#include "support/simulation_support.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;
namespace fs = std::filesystem;

namespace {

// The backticked paths in the first column of the table under the "### `results.h5`" heading.
std::vector<std::string> documented_paths(const fs::path& doc) {
  std::ifstream in(doc);
  REQUIRE(in.good());
  static const std::regex row(R"(^\| `(/[^`]*)` \|)");
  std::vector<std::string> paths;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("#")) {
      inside = line == "### `results.h5`";
      continue;
    }
    std::smatch m;
    if (inside && std::regex_search(line, m, row)) paths.push_back(m[1]);
  }
  return paths;
}

// A documented path as a pattern: "<name>" stands for one path component (`/maps/fraction_<ref>`).
std::regex path_pattern(const std::string& documented) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  static const std::regex placeholder(R"(<[^>/]+>)");
  const std::string escaped = std::regex_replace(documented, special, R"(\$&)");
  return std::regex(std::regex_replace(escaped, placeholder, "[^/]+"));
}

herr_t collect_link(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back("/" + std::string(name));
  return 0;
}

// Every dataset in the file (groups excluded), as absolute paths.
std::vector<std::string> datasets_in(const fs::path& file) {
  const hid_t id = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(id >= 0);
  std::vector<std::string> links, datasets;
  const herr_t visited = H5Lvisit(id, H5_INDEX_NAME, H5_ITER_INC, collect_link, &links);
  for (const auto& path : links) {
    const hid_t object = H5Oopen(id, path.c_str(), H5P_DEFAULT);
    if (object >= 0 && H5Iget_type(object) == H5I_DATASET) datasets.push_back(path);
    if (object >= 0) H5Oclose(object);
  }
  H5Fclose(id);
  REQUIRE(visited >= 0);
  return datasets;
}

// The shape of a dataset of any type (h5::dataset_info takes numeric datasets only).
std::vector<hsize_t> shape_of(const fs::path& file, const std::string& path) {
  const hid_t id = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(id >= 0);
  const hid_t dataset = H5Dopen2(id, path.c_str(), H5P_DEFAULT);
  std::vector<hsize_t> dims;
  if (dataset >= 0) {
    const hid_t space = H5Dget_space(dataset);
    dims.resize(static_cast<std::size_t>(std::max(0, H5Sget_simple_extent_ndims(space))));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    H5Sclose(space);
    H5Dclose(dataset);
  }
  H5Fclose(id);
  return dims;
}

}  // namespace

TEST_CASE("results.h5 holds exactly the datasets docs/map-outputs.md lists",
          "[e2e][outputs][provenance]") {
  const fs::path doc = fs::path(XANESMAP_EXAMPLES_DIR) / ".." / "docs" / "map-outputs.md";
  const std::vector<std::string> documented = documented_paths(doc);
  REQUIRE(documented.size() >= 50);  // the table was found (it has 58 rows when this was written)

  // A small real run: a simulated 64 px scan, registered, mapped, particles, every output.
  test::TempDir dir;
  sim::SimulationOptions so;
  so.height = so.width = 64;
  const sim::Simulation simulation = sim::simulate(so, test::simulation_references());
  write_fxi_hdf5(dir / "scan.h5", simulation.scan, "{}");
  const MapPipelineResult result = run_map_pipeline(test::raw_from(simulation.scan),
                                                    test::map_references(), MapPipelineOptions{});
  const ParticleAnalysis particles = analyze_particles(result.maps, so.pixel_size_nm);
  MapRunInfo info;
  info.version = "test";
  info.git_commit = "0000000";
  info.command_line = "xanesmap map scan.h5 --out maps";
  info.time_utc = "2000-01-01T00:00:00Z";
  info.config_toml = "[map]\nstack = \"scan.h5\"\n";
  info.stack_files.push_back(describe_input_file(dir / "scan.h5"));
  info.pixel_size_nm = so.pixel_size_nm;
  info.manifest = fs::path(XANESMAP_EXAMPLES_DIR) / "mn-k" / "references.toml";
  for (const auto& entry : read_reference_manifest(info.manifest).references) {
    info.references.push_back(entry);
    info.reference_files.push_back(describe_input_file(entry.file));
  }
  fs::create_directory(dir / "maps");
  write_map_outputs(dir / "maps", info, result, particles);
  const std::vector<std::string> present = datasets_in(dir / "maps" / "results.h5");

  std::vector<std::string> missing, undocumented;
  for (const auto& d : documented) {
    const std::regex pattern = path_pattern(d);
    if (std::none_of(present.begin(), present.end(),
                     [&](const auto& p) { return std::regex_match(p, pattern); }))
      missing.push_back(d);
  }
  for (const auto& p : present)
    if (std::none_of(documented.begin(), documented.end(),
                     [&](const auto& d) { return std::regex_match(p, path_pattern(d)); }))
      undocumented.push_back(p);
  std::string report = "documented but not in results.h5:";
  for (const auto& m : missing) report += " " + m;
  report += "\nin results.h5 but not documented:";
  for (const auto& u : undocumented) report += " " + u;
  INFO(report);
  CHECK(missing.empty());
  CHECK(undocumented.empty());

  // The provenance holds this run's values: one entry per input file and reference.
  const h5::File h5 = h5::File::open_read(dir / "maps" / "results.h5");
  CHECK(h5::read_string(h5, "/provenance/time_utc") == info.time_utc);
  CHECK(h5::read_string(h5, "/provenance/config_toml") == info.config_toml);
  CHECK(h5::read_string(h5, "/provenance/git_commit") == info.git_commit);
  const auto bytes = h5::read_doubles(h5, "/provenance/inputs/bytes");
  REQUIRE(bytes.size() == 1);
  CHECK(bytes[0] == static_cast<double>(fs::file_size(dir / "scan.h5")));
  const fs::path results = dir / "maps" / "results.h5";
  CHECK(shape_of(results, "/provenance/inputs/sha256") == std::vector<hsize_t>{1});
  CHECK(shape_of(results, "/provenance/inputs/path") == std::vector<hsize_t>{1});
  CHECK(h5::read_doubles(h5, "/provenance/references/valence") ==
        std::vector<double>{2.0, 3.0, 4.0});
  CHECK(shape_of(results, "/provenance/references/name") == std::vector<hsize_t>{3});
  CHECK(shape_of(results, "/provenance/references/sha256") == std::vector<hsize_t>{3});
  const auto fit = h5::read_doubles(h5, "/provenance/windows/fit_ev");
  REQUIRE(fit.size() == 2);
  // Exact: the file holds the doubles the pipeline used, not a recomputation.
  CHECK(fit[0] == result.maps.fit_window_used_ev.from_ev);
  CHECK(fit[1] == result.maps.fit_window_used_ev.to_ev);
  CHECK(fs::is_regular_file(dir / "maps" / "config.toml"));
}
