// libFuzzer harness for xanesmap's text parsers: energy lists and reference spectra
// (io/formats/text_tables.hpp), reference manifests (io/formats/reference_manifest.hpp) and shifts
// tables (io/formats/shifts_table.hpp).
//
// The parsers read files, so each input is written to a file in a private temporary folder and
// read back: that is the code path users hit, file opening included. A parser may refuse an
// input only with xanesmap::Error (InputError naming the file); any other exception escapes
// LLVMFuzzerTestOneInput and ends the run (libFuzzer reports it as a crash), as do crashes and
// sanitizer reports. What a parser returns must keep its documented contract (finite values,
// strictly increasing spectra, unique reference names...); a broken contract aborts.
//
// XANESMAP_FUZZ_PARSER=energies|spectrum|manifest|shifts picks one parser (scripts/fuzz.sh runs
// one per corpus); unset or "all" runs every parser on every input (the replay driver).
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "core/base/error.hpp"
#include "io/formats/reference_manifest.hpp"
#include "io/formats/shifts_table.hpp"
#include "io/formats/text_tables.hpp"

namespace {

namespace fs = std::filesystem;

[[noreturn]] void broken_contract(const char* what) {
  std::fprintf(stderr, "fuzz_text_parsers: contract broken: %s\n", what);
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) broken_contract(what);
}

// The private folder: the input file, and two small valid spectra that fuzzed manifests may name
// ("a.txt", "b.txt"), so that loading a manifest's references is exercised too.
struct Workspace {
  fs::path folder, input;
  Workspace() {
    folder = fs::temp_directory_path() / ("xanesmap-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(folder);
    folder = fs::canonical(folder);
    input = folder / "input.txt";
    std::ofstream(folder / "a.txt") << "6530 0.1\n6540 0.5\n6550 1.2\n6560 1.0\n";
    std::ofstream(folder / "b.txt") << "# energy mu\n6560 1.0\n6530 0.2\n6545 0.9\n";
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(fs::temp_directory_path() / ("xanesmap-fuzz-" + std::to_string(::getpid())),
                     ec);
    });
  }
};

const Workspace& workspace() {
  static const Workspace w;
  return w;
}

enum class Parser { all, energies, spectrum, manifest, shifts };

Parser selected_parser() {
  const char* name = std::getenv("XANESMAP_FUZZ_PARSER");
  if (!name || !*name || std::strcmp(name, "all") == 0) return Parser::all;
  if (std::strcmp(name, "energies") == 0) return Parser::energies;
  if (std::strcmp(name, "spectrum") == 0) return Parser::spectrum;
  if (std::strcmp(name, "manifest") == 0) return Parser::manifest;
  if (std::strcmp(name, "shifts") == 0) return Parser::shifts;
  std::fprintf(
      stderr, "XANESMAP_FUZZ_PARSER='%s': not energies, spectrum, manifest, shifts or all\n", name);
  std::exit(2);
}

// Runs `parse`; xanesmap::Error is the expected way to refuse an input.
template <typename Parse>
void refuse_only_with_xanesmap_errors(Parse&& parse) {
  try {
    parse();
  } catch (const xanesmap::Error& e) {
    require(std::strlen(e.what()) > 0, "an error without a message");
  }
}

void check_spectrum(const xanesmap::Spectrum& s) {
  require(s.energy_ev.size() == s.mu.size() && s.energy_ev.size() >= 2, "spectrum sizes");
  for (std::size_t i = 0; i < s.energy_ev.size(); ++i) {
    require(std::isfinite(s.energy_ev[i]) && std::isfinite(s.mu[i]), "spectrum values finite");
    require(i == 0 || s.energy_ev[i] > s.energy_ev[i - 1], "spectrum energies strictly increasing");
  }
}

void fuzz_energies(const fs::path& file) {
  refuse_only_with_xanesmap_errors([&] {
    const auto energies = xanesmap::read_energy_list(file);
    require(!energies.empty(), "an energy list without energies");
    for (const double e : energies) require(std::isfinite(e), "energies finite");
  });
}

void fuzz_spectrum(const fs::path& file) {
  refuse_only_with_xanesmap_errors([&] {
    const auto table = xanesmap::read_column_table(file);
    require(!table.columns.empty(), "a table without columns");
    for (const auto& column : table.columns)
      require(column.size() == table.columns.front().size(), "ragged table returned");
  });
  refuse_only_with_xanesmap_errors(
      [&] { check_spectrum(xanesmap::read_reference_spectrum(file, "fuzz")); });
}

void fuzz_manifest(const fs::path& file) {
  refuse_only_with_xanesmap_errors([&] {
    const auto manifest = xanesmap::read_reference_manifest(file);
    require(!manifest.references.empty(), "a manifest without references");
    std::set<std::string> names;
    bool loadable = true;
    for (const auto& r : manifest.references) {
      require(!r.name.empty() && names.insert(r.name).second,
              "reference names unique and non-empty");
      require(std::isfinite(r.valence) && std::isfinite(r.energy_shift_ev),
              "reference numbers finite");
      // Load only our own small files: a fuzzed path could name /dev/zero or a FIFO.
      std::error_code ec;
      const fs::path resolved = fs::weakly_canonical(r.file, ec);
      loadable = loadable && !ec && resolved.parent_path() == workspace().folder &&
                 resolved.filename() != "input.txt" && fs::is_regular_file(resolved, ec);
    }
    if (loadable)
      for (const auto& loaded : xanesmap::load_references(manifest))
        check_spectrum(loaded.spectrum);
  });
}

void fuzz_shifts(const fs::path& file) {
  refuse_only_with_xanesmap_errors([&] {
    for (const auto& row : xanesmap::read_shifts_csv(file))
      require(std::isfinite(row.energy_ev) && std::isfinite(row.dy_px) &&
                  std::isfinite(row.dx_px) && std::isfinite(row.quality),
              "shift rows finite");
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Parser parser = selected_parser();
  const fs::path& file = workspace().input;
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) broken_contract("cannot write the input file");
  }
  if (parser == Parser::all || parser == Parser::energies) fuzz_energies(file);
  if (parser == Parser::all || parser == Parser::spectrum) fuzz_spectrum(file);
  if (parser == Parser::all || parser == Parser::manifest) fuzz_manifest(file);
  if (parser == Parser::all || parser == Parser::shifts) fuzz_shifts(file);
  return 0;
}
