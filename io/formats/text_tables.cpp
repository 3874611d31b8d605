#include "io/formats/text_tables.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>

#include "core/base/error.hpp"

namespace xanesmap {

namespace {

std::string quoted(const std::filesystem::path& file) { return "'" + file.string() + "'"; }

std::ifstream open_text(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) throw InputError(quoted(file) + ": file not found");
  if (std::filesystem::is_directory(file, ec))
    throw InputError(quoted(file) + " is a folder, not a text file");
  std::ifstream in(file);
  if (!in) throw InputError(quoted(file) + ": cannot open for reading");
  return in;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return {};
  const auto b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::optional<double> parse_number(const std::string& token) {
  double value = 0.0;
  const char* begin = token.data();
  const char* end = token.data() + token.size();
  if (begin != end && *begin == '+') ++begin;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::vector<std::string> split_fields(const std::string& line) {
  std::string s = line;
  std::replace(s.begin(), s.end(), ',', ' ');
  std::replace(s.begin(), s.end(), '\t', ' ');
  std::istringstream in(s);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;
}

// XDI column indices above this are damage, not columns (XDI files have a handful).
constexpr double kMaxXdiColumn = 4096;

std::string line_ref(const std::filesystem::path& file, std::size_t line) {
  return quoted(file) + " line " + std::to_string(line);
}

}  // namespace

std::vector<double> read_energy_list(const std::filesystem::path& file) {
  std::ifstream in = open_text(file);
  std::vector<double> energies;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const std::string content = trim(line.substr(0, line.find('#')));
    if (content.empty()) continue;
    const auto value = parse_number(content);
    if (!value)
      throw InputError(line_ref(file, number) + ": '" + content +
                       "' is not a number (one energy per line, # for comments)");
    if (!std::isfinite(*value)) throw InputError(line_ref(file, number) + ": energy is not finite");
    energies.push_back(*value);
  }
  if (in.bad()) throw InputError(quoted(file) + ": read error");
  if (energies.empty()) throw InputError(quoted(file) + ": holds no energies");
  return energies;
}

ColumnTable read_column_table(const std::filesystem::path& file) {
  std::ifstream in = open_text(file);
  ColumnTable table;
  std::vector<std::string> xdi_names;
  std::string last_comment;
  std::string line;
  std::size_t width = 0;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const std::string t = trim(line);
    if (t.empty()) continue;
    if (t[0] == '#') {
      const auto text_start = t.find_first_not_of('#');  // npos: a line of only '#'
      const std::string body =
          text_start == std::string::npos ? std::string() : trim(t.substr(text_start));
      if (number == 1 && body.rfind("XDI/", 0) == 0) table.xdi = true;
      if (table.xdi && lower(body).rfind("column.", 0) == 0) {
        // "Column.2: i0" or "Column.1: energy eV"
        const auto dot = body.find('.'), colon = body.find(':');
        if (colon != std::string::npos) {
          const auto index = parse_number(trim(body.substr(dot + 1, colon - dot - 1)));
          const auto words = split_fields(body.substr(colon + 1));
          // Whole numbers from 1 to kMaxXdiColumn only: a damaged index such as 1e18 must not
          // size the name list (other indices are ignored, as non-numbers are).
          if (index && *index >= 1 && *index <= kMaxXdiColumn && *index == std::floor(*index) &&
              !words.empty()) {
            const auto j = static_cast<std::size_t>(*index) - 1;
            if (xdi_names.size() <= j) xdi_names.resize(j + 1);
            xdi_names[j] = lower(words[0]);
          }
        }
      }
      if (!body.empty() && body.find_first_not_of("-=*/ ") != std::string::npos)
        last_comment = body;
      continue;
    }
    const auto fields = split_fields(t);
    if (fields.empty()) continue;  // only separators (",,,"): a blank line
    if (width == 0) {
      width = fields.size();
      table.columns.resize(width);
    }
    if (fields.size() != width)
      throw InputError(line_ref(file, number) + ": " + std::to_string(fields.size()) +
                       " columns, but the first data line has " + std::to_string(width));
    for (std::size_t j = 0; j < width; ++j) {
      const auto value = parse_number(fields[j]);
      if (!value)
        throw InputError(line_ref(file, number) + ": '" + fields[j] + "' is not a number");
      table.columns[j].push_back(*value);
    }
    if (table.columns[0].size() == 1) {
      // Names: an XDI header, else the last comment line if it has one word per column.
      if (table.xdi) {
        table.names = xdi_names;
        table.names.resize(width);
      } else {
        const auto words = split_fields(last_comment);
        // A word that is a number makes it a commented-out data line, not names.
        const bool numbers = std::any_of(words.begin(), words.end(), [](const std::string& w) {
          return parse_number(w).has_value();
        });
        if (words.size() == width && !numbers)
          for (const auto& w : words) table.names.push_back(lower(w));
      }
    }
  }
  if (in.bad()) throw InputError(quoted(file) + ": read error");
  if (table.columns.empty()) throw InputError(quoted(file) + ": holds no data lines");
  return table;
}

Spectrum read_reference_spectrum(const std::filesystem::path& file, const std::string& name) {
  const ColumnTable table = read_column_table(file);
  auto find = [&](std::initializer_list<const char*> wanted) -> std::optional<std::size_t> {
    for (const char* w : wanted)
      for (std::size_t j = 0; j < table.names.size(); ++j)
        if (table.names[j] == w) return j;
    return std::nullopt;
  };
  Spectrum spectrum;
  spectrum.name = name;
  const std::size_t width = table.columns.size();
  if (width < 2)
    throw InputError(quoted(file) +
                     ": a reference needs at least two columns (energy, mu), found " +
                     std::to_string(width));
  const auto energy = find({"energy", "e"});
  const auto mu = find({"mutrans", "mufluor", "mu", "xmu"});
  const auto i0 = find({"i0"}), itrans = find({"itrans", "it", "i1"});
  if (table.xdi && !energy)
    throw InputError(quoted(file) + ": XDI file without a column named 'energy'");
  spectrum.energy_ev = table.columns[energy.value_or(0)];
  if (mu) {
    spectrum.mu = table.columns[*mu];
  } else if (table.xdi) {
    if (!i0 || !itrans)
      throw InputError(quoted(file) +
                       ": XDI file has no mutrans/mufluor column and no i0 and itrans columns");
    const auto& a = table.columns[*i0];
    const auto& b = table.columns[*itrans];
    spectrum.mu.resize(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!(a[i] > 0.0 && b[i] > 0.0))
        throw InputError(quoted(file) + ": data row " + std::to_string(i + 1) +
                         " has a non-positive i0 or itrans, so ln(i0/itrans) is undefined");
      spectrum.mu[i] = std::log(a[i] / b[i]);
    }
  } else {
    spectrum.mu = table.columns[energy ? (*energy == 0 ? 1 : 0) : 1];
  }
  // NaN would break the sort's ordering (undefined behaviour in std::stable_sort): refuse it here.
  for (std::size_t i = 0; i < spectrum.energy_ev.size(); ++i)
    if (!std::isfinite(spectrum.energy_ev[i]) || !std::isfinite(spectrum.mu[i]))
      throw InputError(quoted(file) + ": data row " + std::to_string(i + 1) + ": the " +
                       (std::isfinite(spectrum.energy_ev[i]) ? "mu" : "energy") +
                       " is not a finite number");
  // Sort by energy (some exports are descending); duplicates are then caught by validate().
  std::vector<std::size_t> order(spectrum.energy_ev.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return spectrum.energy_ev[a] < spectrum.energy_ev[b];
  });
  Spectrum sorted{name, {}, {}};
  for (const std::size_t i : order) {
    sorted.energy_ev.push_back(spectrum.energy_ev[i]);
    sorted.mu.push_back(spectrum.mu[i]);
  }
  try {
    sorted.validate();
  } catch (const Error& e) {
    rethrow_with_context(e, quoted(file));
  }
  return sorted;
}

}  // namespace xanesmap
