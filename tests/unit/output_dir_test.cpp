#include <catch2/catch.hpp>

#include <fstream>

#include "core/error.hpp"
#include "io/output_dir.hpp"
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
  CHECK_THROWS_WITH(StagedOutputDir(dest, false), Catch::Contains("already exists") &&
                                                      Catch::Contains("--force"));
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
