#include "io/outputs/output_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>

#include "core/base/error.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;
namespace fs = std::filesystem;

TEST_CASE("Outputs appear only on commit", "[output]") {
  test::TempDir dir;
  const auto dest = dir / "run";
  {
    StagedOutputDir out(dest, false);
    std::ofstream(out.staging() / "a.txt") << "x";
    CHECK_FALSE(fs::exists(dest));
    out.commit();
  }
  CHECK(fs::exists(dest / "a.txt"));
  // Only the committed folder is left: no staging leftovers.
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("A failed run leaves nothing that looks complete", "[output]") {
  test::TempDir dir;
  const auto dest = dir / "run";
  try {
    StagedOutputDir out(dest, false);
    std::ofstream(out.staging() / "half.txt") << "x";
    throw InputError("simulated failure");
  } catch (const InputError&) {
  }
  CHECK_FALSE(fs::exists(dest));
  CHECK(fs::directory_iterator(dir.path()) == fs::directory_iterator());
}

TEST_CASE("An existing output is replaced only with force", "[output]") {
  test::TempDir dir;
  const auto dest = dir / "run";
  fs::create_directory(dest);
  std::ofstream(dest / "old.txt") << "old";
  CHECK_THROWS_WITH(StagedOutputDir(dest, false),
                    Catch::Contains("already exists") && Catch::Contains("--force"));
  CHECK(fs::exists(dest / "old.txt"));
  {
    StagedOutputDir out(dest, true);
    std::ofstream(out.staging() / "new.txt") << "new";
    out.commit();
  }
  CHECK(fs::exists(dest / "new.txt"));
  CHECK_FALSE(fs::exists(dest / "old.txt"));
  std::ofstream(dir / "file") << "x";
  CHECK_THROWS_WITH(StagedOutputDir(dir / "file", true), Catch::Contains("not a folder"));
}

TEST_CASE("An output is refused when it would replace or sit inside an input", "[output]") {
  test::TempDir dir;
  fs::create_directories(dir / "maps" / "inner");
  std::ofstream(dir / "scan.h5") << "x";
  // The output is an input folder, inside one, or contains an input file.
  CHECK_THROWS_AS(refuse_output_over_inputs(dir / "maps", {dir / "maps"}), OutputError);
  CHECK_THROWS_AS(refuse_output_over_inputs(dir / "maps/", {dir / "maps"}), OutputError);
  CHECK_THROWS_AS(refuse_output_over_inputs(dir.path() / "maps" / "inner", {dir / "maps"}),
                  OutputError);
  CHECK_THROWS_AS(refuse_output_over_inputs(dir.path(), {dir / "scan.h5"}), OutputError);
  CHECK_THROWS_AS(refuse_output_over_inputs(dir.path() / "x" / ".." / "maps", {dir / "maps"}),
                  OutputError);
  // Beside the inputs is fine, and so is a name that merely starts like an input's.
  CHECK_NOTHROW(refuse_output_over_inputs(dir / "maps2", {dir / "maps", dir / "scan.h5"}));
  CHECK_NOTHROW(refuse_output_over_inputs(dir / "out", {dir / "maps", "", dir / "scan.h5"}));
  try {
    refuse_output_over_inputs(dir / "maps", {dir / "maps"});
  } catch (const OutputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("maps"));
  }
}
