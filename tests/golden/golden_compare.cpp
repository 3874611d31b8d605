// golden_compare: compares one output file of a golden run with its committed reference.
//
// TIFF (.tif/.tiff): pixel by pixel, with the three numbers of OpenImageIO's idiff as its
// testsuite (testsuite/runtest.py) uses them:
//   --fail-threshold T  a pixel fails when |out - ref| > T;
//   --fail-fraction F   the file passes when at most F (a fraction, 0..1) of its pixels fail...
//   --hard-max H        ...and no pixel differs by more than H, whatever F allows.
// NaN ("no value", core/base/image.hpp) must meet NaN: a pixel that is NaN on one side only fails
// (it is a status change, so it counts against F like any failing pixel, but not against H).
// Equal infinities match. Both files must have the same size, page count and sample type; every
// page is read as float32 (io/formats/tiff_io.hpp), which holds every value our maps store
// (uint8 status, uint16 labels, float32 maps) exactly.
//
// CSV (.csv): the header line must match byte for byte, and every row the same number of fields.
// A field that parses as a number on both sides fails when |out - ref| > abs + rel * |ref|
// (--abs-tol, --rel-tol; numpy.isclose's rule); NaN must meet NaN; any other field must match
// as text. No quoting: the tables xanesmap writes hold no commas inside fields.
//
// Prints one line, "PASS ..." or "FAIL ...", with the counts and the largest difference.
// Exit code: 0 pass, 1 the files differ beyond the tolerances, 2 usage error or unreadable file.
//
// Usage: golden_compare [--fail-threshold T] [--fail-fraction F] [--hard-max H]
//                       [--abs-tol A] [--rel-tol R] OUTPUT REFERENCE
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/base/error.hpp"
#include "io/formats/tiff_io.hpp"

namespace {

namespace fs = std::filesystem;
using namespace xanesmap;

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Tolerances {
  double fail_threshold = 0.0;  ///< TIFF: a pixel fails above this |difference| (map units)
  double fail_fraction = 0.0;   ///< TIFF: allowed fraction of failing pixels, 0..1
  double hard_max = kInf;       ///< TIFF: no pixel may differ by more (map units)
  double abs_tol = 0.0;         ///< CSV: absolute tolerance of a numeric field
  double rel_tol = 0.0;         ///< CSV: tolerance relative to the reference value
};

/// |a - b| where NaN meets NaN and equal infinities count as 0; NaN when exactly one is NaN.
double difference(double a, double b) {
  const bool nan_a = std::isnan(a), nan_b = std::isnan(b);
  if (nan_a || nan_b) return nan_a && nan_b ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  if (a == b) return 0.0;  // also equal infinities, whose difference would be NaN
  return std::fabs(a - b);
}

std::string format_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

/// Compares two TIFFs; prints the verdict line and returns whether they pass.
bool compare_tiffs(const fs::path& output, const fs::path& reference, const Tolerances& tol) {
  const TiffImages out = read_tiff(output);
  const TiffImages ref = read_tiff(reference);
  const std::string name = reference.filename().string();
  const auto& a0 = out.pages.front();
  const auto& b0 = ref.pages.front();
  if (out.pages.size() != ref.pages.size() || a0.height() != b0.height() ||
      a0.width() != b0.width() || out.sample_type != ref.sample_type) {
    std::printf("FAIL %s: output is %zux%zu x %zu page(s) of %s, reference %zux%zu x %zu of %s\n",
                name.c_str(), a0.height(), a0.width(), out.pages.size(),
                to_string(out.sample_type).c_str(), b0.height(), b0.width(), ref.pages.size(),
                to_string(ref.sample_type).c_str());
    return false;
  }
  std::size_t total = 0, failing = 0, nan_mismatches = 0, beyond_hard = 0;
  double max_diff = 0.0;
  std::size_t max_page = 0, max_row = 0, max_col = 0;
  for (std::size_t p = 0; p < out.pages.size(); ++p) {
    const auto& a = out.pages[p];
    const auto& b = ref.pages[p];
    for (std::size_t r = 0; r < a.height(); ++r) {
      for (std::size_t c = 0; c < a.width(); ++c) {
        ++total;
        const double d = difference(a(r, c), b(r, c));
        if (std::isnan(d)) {
          ++nan_mismatches;
          ++failing;
          continue;
        }
        if (d > tol.fail_threshold) ++failing;
        if (d > tol.hard_max) ++beyond_hard;
        if (d > max_diff) {
          max_diff = d;
          max_page = p, max_row = r, max_col = c;
        }
      }
    }
  }
  const double fraction = static_cast<double>(failing) / static_cast<double>(total);
  const bool pass = beyond_hard == 0 && fraction <= tol.fail_fraction;
  std::string where;
  if (max_diff > 0.0)
    where = " at (" + std::to_string(max_row) + ", " + std::to_string(max_col) + ")" +
            (out.pages.size() > 1 ? " of page " + std::to_string(max_page) : "");
  std::printf(
      "%s %s: %zu of %zu px differ by more than %s (%.3f %%, allowed %.3f %%), %zu of them NaN "
      "on one side only; max |diff| %s%s; %zu px beyond the hard maximum %s\n",
      pass ? "PASS" : "FAIL", name.c_str(), failing, total,
      format_number(tol.fail_threshold).c_str(), 100.0 * fraction, 100.0 * tol.fail_fraction,
      nan_mismatches, format_number(max_diff).c_str(), where.c_str(), beyond_hard,
      format_number(tol.hard_max).c_str());
  return pass;
}

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw InputError("'" + file.string() + "': cannot be read");
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> fields;
    std::stringstream split(line);
    for (std::string field; std::getline(split, field, ',');) fields.push_back(field);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    rows.push_back(std::move(fields));
  }
  return rows;
}

bool parse_number(const std::string& field, double& value) {
  const char* end = field.data() + field.size();
  const auto result = std::from_chars(field.data(), end, value);
  return !field.empty() && result.ec == std::errc() && result.ptr == end;
}

/// Compares two CSV tables; prints the verdict line and returns whether they pass.
bool compare_csvs(const fs::path& output, const fs::path& reference, const Tolerances& tol) {
  const auto out = read_csv(output);
  const auto ref = read_csv(reference);
  const std::string name = reference.filename().string();
  const auto fail = [&](const std::string& why) {
    std::printf("FAIL %s: %s\n", name.c_str(), why.c_str());
    return false;
  };
  if (out.size() != ref.size())
    return fail(std::to_string(out.size()) + " lines, reference " + std::to_string(ref.size()));
  if (ref.empty()) return fail("the reference is empty");
  if (out.front() != ref.front()) return fail("the header differs from the reference's");
  std::size_t numeric = 0, failing = 0;
  double max_diff = 0.0;
  std::string max_where;
  for (std::size_t i = 1; i < ref.size(); ++i) {
    if (out[i].size() != ref[i].size())
      return fail("line " + std::to_string(i + 1) + " has " + std::to_string(out[i].size()) +
                  " fields, reference " + std::to_string(ref[i].size()));
    for (std::size_t j = 0; j < ref[i].size(); ++j) {
      const std::string column = j < ref.front().size() ? ref.front()[j] : std::to_string(j + 1);
      double a = 0.0, b = 0.0;
      if (!parse_number(out[i][j], a) || !parse_number(ref[i][j], b)) {
        if (out[i][j] != ref[i][j])
          return fail("line " + std::to_string(i + 1) + " '" + column + "': '" + out[i][j] +
                      "', reference '" + ref[i][j] + "'");
        continue;
      }
      ++numeric;
      const double d = difference(a, b);
      const bool bad = std::isnan(d) || d > tol.abs_tol + tol.rel_tol * std::fabs(b);
      if (bad) ++failing;
      if (std::isnan(d) || d > max_diff) {
        max_diff = std::isnan(d) ? kInf : d;
        max_where = " (line " + std::to_string(i + 1) + ", '" + column + "': " + out[i][j] +
                    ", reference " + ref[i][j] + ")";
      }
    }
  }
  const bool pass = failing == 0;
  std::printf(
      "%s %s: %zu lines, %zu of %zu numeric fields beyond %s + %s x |reference|; max |diff| %s%s\n",
      pass ? "PASS" : "FAIL", name.c_str(), ref.size(), failing, numeric,
      format_number(tol.abs_tol).c_str(), format_number(tol.rel_tol).c_str(),
      format_number(max_diff).c_str(), max_diff > 0.0 ? max_where.c_str() : "");
  return pass;
}

int usage(const std::string& why) {
  std::fprintf(stderr,
               "golden_compare: %s\nusage: golden_compare [--fail-threshold T] [--fail-fraction F] "
               "[--hard-max H] [--abs-tol A] [--rel-tol R] OUTPUT REFERENCE\n",
               why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Tolerances tol;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    double* target = arg == "--fail-threshold"  ? &tol.fail_threshold
                     : arg == "--fail-fraction" ? &tol.fail_fraction
                     : arg == "--hard-max"      ? &tol.hard_max
                     : arg == "--abs-tol"       ? &tol.abs_tol
                     : arg == "--rel-tol"       ? &tol.rel_tol
                                                : nullptr;
    if (target == nullptr) {
      if (arg.starts_with("--")) return usage("unknown option '" + arg + "'");
      files.emplace_back(arg);
      continue;
    }
    if (++i == argc || !parse_number(argv[i], *target) || !(*target >= 0.0))
      return usage("'" + arg + "' needs a number >= 0");
  }
  if (files.size() != 2) return usage("give an output file and its reference");
  if (tol.fail_fraction > 1.0) return usage("'--fail-fraction' is a fraction, 0 to 1");
  std::string ext = files[1].extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  try {
    if (!fs::exists(files[0])) {
      std::printf("FAIL %s: the run did not write '%s'\n", files[1].filename().c_str(),
                  files[0].c_str());
      return 1;
    }
    if (ext == ".tif" || ext == ".tiff") return compare_tiffs(files[0], files[1], tol) ? 0 : 1;
    if (ext == ".csv") return compare_csvs(files[0], files[1], tol) ? 0 : 1;
    return usage("'" + files[1].string() + "': neither .tif/.tiff nor .csv");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "golden_compare: %s\n", e.what());
    return 2;
  }
}
