#include "io/formats/text_tables.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "core/base/error.hpp"
#include "io/formats/reference_manifest.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;

namespace {
std::filesystem::path write_text(const test::TempDir& dir, const std::string& name,
                                 const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path;
}
const std::filesystem::path kExamples = XANESMAP_EXAMPLES_DIR;
}  // namespace

TEST_CASE("Energy lists: one per line, comments and blank lines ignored", "[text]") {
  test::TempDir dir;
  const auto f = write_text(dir, "e.txt", "# energies\n6500.0\n\n6500.5  # fine\n+6501e0\n");
  CHECK(read_energy_list(f) == std::vector<double>{6500.0, 6500.5, 6501.0});
}

TEST_CASE("Energy-list errors name the file and the line", "[text]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(
      read_energy_list(write_text(dir, "bad.txt", "6500\n65o1\n")),
      Catch::Contains("bad.txt' line 2") && Catch::Contains("'65o1' is not a number"));
  CHECK_THROWS_WITH(read_energy_list(write_text(dir, "empty.txt", "# nothing\n")),
                    Catch::Contains("holds no energies"));
  CHECK_THROWS_WITH(read_energy_list(dir / "missing.txt"), Catch::Contains("not found"));
  CHECK_THROWS_WITH(read_energy_list(write_text(dir, "two.txt", "6500 6501\n")),
                    Catch::Contains("line 1"));
}

TEST_CASE("Two-column references: the shipped MnO file", "[text]") {
  const Spectrum s = read_reference_spectrum(kExamples / "mn-k" / "MnO.txt", "MnO");
  CHECK(s.energy_ev.size() == 1239);  // PROVENANCE.md: 1239 points, 6362-7600 eV
  CHECK_THAT(s.energy_ev.front(), Catch::WithinAbs(6362.0281, 1e-9));
  CHECK_THAT(s.mu.front(), Catch::WithinAbs(0.002238, 1e-12));
}

TEST_CASE("XDI references: mu = ln(i0/itrans) when no mu column", "[text]") {
  const auto path = kExamples / "mn-k" / "MnO_rt_02.xdi";
  const ColumnTable table = read_column_table(path);
  REQUIRE(table.xdi);
  CHECK(table.names == std::vector<std::string>{"energy", "i0", "itrans", "irefer"});
  const Spectrum s = read_reference_spectrum(path, "MnO (SSRL)");
  CHECK(s.energy_ev.size() == 217);
  // First data row: 6520.0030 30933.5 38654.300593
  CHECK_THAT(s.mu.front(), Catch::WithinAbs(std::log(30933.5 / 38654.300593), 1e-12));
}

TEST_CASE("Named columns pick energy and mu, bad tables are refused", "[text]") {
  test::TempDir dir;
  const auto f =
      write_text(dir, "athena.dat", "# exported\n# energy norm mu\n6500 0.1 1.5\n6501 0.2 1.7\n");
  const Spectrum s = read_reference_spectrum(f, "x");
  CHECK(s.mu == std::vector<double>{1.5, 1.7});
  CHECK_THROWS_WITH(read_reference_spectrum(write_text(dir, "one.txt", "6500 1.0\n"), "one"),
                    Catch::Contains("1 point(s)"));
  CHECK_THROWS_WITH(read_reference_spectrum(write_text(dir, "ragged.txt", "6500 1.0\n6501\n"), "r"),
                    Catch::Contains("line 2") && Catch::Contains("1 columns"));
  CHECK_THROWS_WITH(read_reference_spectrum(write_text(dir, "dup.txt", "6500 1\n6500 2\n"), "d"),
                    Catch::Contains("duplicates"));
  // Descending files are sorted.
  const Spectrum desc =
      read_reference_spectrum(write_text(dir, "desc.txt", "6501 2\n6500 1\n"), "d");
  CHECK(desc.energy_ev == std::vector<double>{6500, 6501});
}

TEST_CASE("The shipped manifest loads three references with valences 2, 3, 4", "[text]") {
  const auto manifest = read_reference_manifest(kExamples / "mn-k" / "references.toml");
  REQUIRE(manifest.references.size() == 3);
  CHECK(manifest.references[0].name == "MnO");
  CHECK(manifest.references[2].valence == 4.0);
  const auto loaded = load_references(manifest);
  CHECK(loaded[1].spectrum.energy_ev.size() == 1800);  // Mn2O3: 1800 points (PROVENANCE.md)
}

TEST_CASE("Manifest errors name the manifest and the entry", "[text]") {
  test::TempDir dir;
  auto manifest = [&](const std::string& text) {
    return read_reference_manifest(write_text(dir, "refs.toml", text));
  };
  CHECK_THROWS_WITH(manifest("[[reference]]\nname = \"A\"\nfile = \"a.txt\"\n"),
                    Catch::Contains("refs.toml") && Catch::Contains("valence"));
  CHECK_THROWS_WITH(manifest("[[reference]]\nname=\"A\"\nfile=\"a\"\nvalence=2\n"
                             "[[reference]]\nname=\"A\"\nfile=\"b\"\nvalence=3\n"),
                    Catch::Contains("used twice"));
  CHECK_THROWS_WITH(manifest("[[reference]]\nname=\"A\"\nfile=\"a\"\nvalence=2\nshift=1\n"),
                    Catch::Contains("unknown key 'shift'"));
  CHECK_THROWS_WITH(manifest("[[reference]\nname="), Catch::Contains("not valid TOML"));
  CHECK_THROWS_WITH(manifest("title = \"x\"\n"), Catch::Contains("no [[reference]]"));
  CHECK_THROWS_WITH(manifest("[[reference]]\nname=\"Mn/O2\"\nfile=\"a\"\nvalence=4\n"),
                    Catch::Contains("'Mn/O2'") && Catch::Contains("letters, digits"));
  CHECK_THROWS_WITH(
      load_references(manifest("[[reference]]\nname=\"A\"\nfile=\"gone.txt\"\nvalence=2\n")),
      Catch::Contains("gone.txt") && Catch::Contains("not found"));
}
