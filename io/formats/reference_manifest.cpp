#include "io/formats/reference_manifest.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <cmath>
#include <set>
#include <sstream>

#include "core/base/error.hpp"
#include "io/formats/text_tables.hpp"

namespace xanesmap {

ReferenceManifest read_reference_manifest(const std::filesystem::path& file) {
  const std::string where = "reference manifest '" + file.string() + "'";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) throw InputError(where + ": file not found");
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    std::ostringstream m;
    m << where << ": not valid TOML at line " << e.source().begin.line << ": " << e.description();
    throw InputError(m.str());
  }
  const toml::array* entries = root["reference"].as_array();
  if (!entries || entries->empty()) throw InputError(where + ": no [[reference]] entries");
  ReferenceManifest manifest{file, {}};
  std::set<std::string> names;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const std::string entry_where = where + ", reference " + std::to_string(i + 1);
    const toml::table* t = (*entries)[i].as_table();
    if (!t) throw InputError(entry_where + ": is not a table");
    ReferenceEntry entry;
    const auto name = (*t)["name"].value<std::string>();
    const auto path = (*t)["file"].value<std::string>();
    const auto valence = (*t)["valence"].value<double>();
    if (!name || name->empty()) throw InputError(entry_where + ": needs a 'name' (text)");
    if (!path || path->empty())
      throw InputError(entry_where + " ('" + *name + "'): needs a 'file' (text)");
    if (!valence || !std::isfinite(*valence))
      throw InputError(entry_where + " ('" + *name + "'): needs a numeric 'valence'");
    // Names become file names (fraction_<name>.tif), HDF5 paths and CSV fields.
    for (const char ch : *name)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '+' ||
            ch == '-'))
        throw InputError(entry_where + ": the name '" + *name +
                         "' may only use letters, digits and _ . + - (it names output files)");
    if (!names.insert(*name).second)
      throw InputError(entry_where + ": the name '" + *name + "' is used twice");
    entry.name = *name;
    entry.file = std::filesystem::path(*path).is_absolute() ? std::filesystem::path(*path)
                                                            : file.parent_path() / *path;
    entry.valence = *valence;
    if (const auto* shift = t->get("energy_shift_ev")) {
      const auto value = shift->value<double>();
      if (!value || !std::isfinite(*value))
        throw InputError(entry_where + " ('" + *name + "'): 'energy_shift_ev' must be a number");
      entry.energy_shift_ev = *value;
    }
    for (const auto& [key, node] : *t) {
      (void)node;
      const std::string k(key.str());
      if (k != "name" && k != "file" && k != "valence" && k != "energy_shift_ev")
        throw InputError(entry_where + " ('" + *name + "'): unknown key '" + k +
                         "' (known: name, file, valence, energy_shift_ev)");
    }
    manifest.references.push_back(std::move(entry));
  }
  return manifest;
}

std::vector<LoadedReference> load_references(const ReferenceManifest& manifest) {
  std::vector<LoadedReference> out;
  for (const ReferenceEntry& entry : manifest.references) {
    Spectrum s = read_reference_spectrum(entry.file, entry.name);
    for (double& e : s.energy_ev) e += entry.energy_shift_ev;
    try {
      s.validate();  // a huge shift can round neighbouring energies together
    } catch (const Error& e) {
      rethrow_with_context(e, "reference manifest '" + manifest.file.string() + "', reference '" +
                                  entry.name + "' shifted by " +
                                  std::to_string(entry.energy_shift_ev) + " eV");
    }
    out.push_back({entry, std::move(s)});
  }
  return out;
}

}  // namespace xanesmap
