#include "io/outputs/map_run_folder.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "core/base/error.hpp"
#include "io/formats/tiff_io.hpp"

namespace xanesmap {

namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

Image<float> read_one_page(const fs::path& file) {
  if (!fs::exists(file))
    throw InputError(quoted(file) + " is missing (was the folder written by `xanesmap map`?)");
  TiffImages t = read_tiff(file);
  if (t.pages.size() != 1)
    throw InputError(quoted(file) + " has " + std::to_string(t.pages.size()) +
                     " pages; a map has one");
  return std::move(t.pages.front());
}

template <typename T>
Image<T> convert(const Image<float>& in, const fs::path& file, double max_value) {
  Image<T> out(in.height(), in.width());
  const auto src = in.pixels();
  auto dst = out.pixels();
  for (std::size_t i = 0; i < src.size(); ++i) {
    const float v = src[i];
    if (!(v >= 0.0f) || v > max_value || v != std::floor(v))
      throw InputError(quoted(file) + " holds " + std::to_string(v) + " at pixel " +
                       std::to_string(i) + ": not a code of this map");
    dst[i] = static_cast<T>(v);
  }
  return out;
}

void same_size(const Image<float>& valence, std::size_t h, std::size_t w, const fs::path& file) {
  if (h != valence.height() || w != valence.width())
    throw InputError(quoted(file) + " is " + std::to_string(h) + "x" + std::to_string(w) +
                     " but valence.tif is " + std::to_string(valence.height()) + "x" +
                     std::to_string(valence.width()));
}

}  // namespace

MapRunFolder read_map_run_folder(const fs::path& folder) {
  if (!fs::is_directory(folder)) throw InputError(quoted(folder) + " is not a folder");
  MapRunFolder run;
  run.folder = folder;
  const fs::path summary = folder / "summary.json";
  std::ifstream in(summary);
  if (!in)
    throw InputError(quoted(folder) +
                     " has no summary.json: not an output folder of `xanesmap map`");
  try {
    run.summary = nlohmann::json::parse(in);
    run.pixel_size_nm = run.summary.at("input").at("pixel_size_nm").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(quoted(summary) + " cannot be read: " + e.what());
  }
  if (!(run.pixel_size_nm > 0.0))
    throw InputError(quoted(summary) + ": input.pixel_size_nm is not a positive size");
  run.valence = read_one_page(folder / "valence.tif");
  const auto regions = read_one_page(folder / "regions.tif");
  same_size(run.valence, regions.height(), regions.width(), folder / "regions.tif");
  run.regions = convert<std::uint8_t>(regions, folder / "regions.tif", 2.0);
  const auto labels = read_one_page(folder / "labels.tif");
  same_size(run.valence, labels.height(), labels.width(), folder / "labels.tif");
  run.labels = convert<std::uint16_t>(labels, folder / "labels.tif", 65535.0);
  run.edge_jump_od = read_one_page(folder / "edge_jump.tif");
  same_size(run.valence, run.edge_jump_od.height(), run.edge_jump_od.width(),
            folder / "edge_jump.tif");
  return run;
}

std::vector<std::string> run_differences(const MapRunFolder& a, const MapRunFolder& b) {
  std::vector<std::string> d;
  const auto& sa = a.summary;
  const auto& sb = b.summary;
  // The value at a JSON pointer, as text ("(missing)" when absent).
  auto at = [](const nlohmann::json& j, const char* pointer) {
    const nlohmann::json::json_pointer p(pointer);
    return j.contains(p) ? j.at(p).dump() : std::string("(missing)");
  };
  auto differ = [&](const char* pointer, const char* what) {
    if (at(sa, pointer) != at(sb, pointer))
      d.push_back(std::string(what) + ": " + at(sa, pointer) + " vs " + at(sb, pointer));
  };
  differ("/method", "method");
  // The edge definition only changes valence.tif with the edge method (LCF maps do not use it).
  if (at(sa, "/method") == "\"edge\"" && at(sb, "/method") == "\"edge\"")
    differ("/edge_definition", "edge definition");
  differ("/lcf_constraint", "LCF constraint");
  differ("/windows/post_edge_order", "post-edge order");
  differ("/windows/flatten", "flattening");
  differ("/windows/requested_relative_to_e0/pre_edge_ev", "pre-edge window (relative to e0)");
  differ("/windows/requested_relative_to_e0/post_edge_ev", "post-edge window (relative to e0)");
  differ("/windows/requested_relative_to_e0/fit_ev", "fit window (relative to e0)");
  differ("/mask", "Mn mask");
  differ("/reference_offset_ev/fitted", "reference alignment (--align-refs)");
  differ("/regions/surface_depth_nm", "surface depth (nm)");
  // e0 places every window; it is computed on each stack's own grid, so runs of different scans
  // made the same way differ by a fraction of the energy step. 0.5 eV moves windows tens of eV
  // wide by a negligible amount; a different --e0-ev or other references move it more.
  {
    const nlohmann::json::json_pointer p("/e0_ev");
    const bool both =
        sa.contains(p) && sb.contains(p) && sa.at(p).is_number() && sb.at(p).is_number();
    if (!both || std::abs(sa.at(p).get<double>() - sb.at(p).get<double>()) > 0.5)
      d.push_back("e0 (eV): " + at(sa, "/e0_ev") + " vs " + at(sb, "/e0_ev"));
  }
  // References: the same set (any order in the manifest), with the same valences, shifts and
  // file contents.
  auto refs = [](const nlohmann::json& s) {
    std::map<std::string, std::string> out;
    if (!s.contains("references") || !s["references"].is_array()) return out;
    for (const auto& r : s["references"]) {
      const std::string name = r.value("name", std::string("?"));
      nlohmann::json key{{"valence", r.value("valence", nlohmann::json())},
                         {"energy_shift_ev", r.value("energy_shift_ev", nlohmann::json())},
                         {"sha256", r.contains("file") ? r["file"].value("sha256", std::string("?"))
                                                       : std::string("?")}};
      out[name] = key.dump();
    }
    return out;
  };
  const auto ra = refs(sa), rb = refs(sb);
  for (const auto& [name, key] : ra) {
    const auto it = rb.find(name);
    if (it == rb.end())
      d.push_back("reference " + name + ": only in the first run");
    else if (it->second != key)
      d.push_back("reference " + name + ": " + key + " vs " + it->second);
  }
  for (const auto& [name, key] : rb)
    if (!ra.count(name)) d.push_back("reference " + name + ": only in the second run");
  return d;
}

}  // namespace xanesmap
