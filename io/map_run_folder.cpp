#include "io/map_run_folder.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "io/tiff_io.hpp"

namespace xanesmap {

namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

Image<float> read_one_page(const fs::path& file) {
  if (!fs::exists(file)) throw InputError(quoted(file) + " is missing (was the folder written by `xanesmap map`?)");
  TiffImages t = read_tiff(file);
  if (t.pages.size() != 1)
    throw InputError(quoted(file) + " has " + std::to_string(t.pages.size()) + " pages; a map has one");
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
      throw InputError(quoted(file) + " holds " + std::to_string(v) + " at pixel " + std::to_string(i) +
                       ": not a code of this map");
    dst[i] = static_cast<T>(v);
  }
  return out;
}

void same_size(const Image<float>& valence, std::size_t h, std::size_t w, const fs::path& file) {
  if (h != valence.height() || w != valence.width())
    throw InputError(quoted(file) + " is " + std::to_string(h) + "x" + std::to_string(w) + " but valence.tif is " +
                     std::to_string(valence.height()) + "x" + std::to_string(valence.width()));
}

std::string text(const nlohmann::json& j, const char* key) {
  return j.contains(key) ? j.at(key).dump() : std::string("(missing)");
}

}  // namespace

MapRunFolder read_map_run_folder(const fs::path& folder) {
  if (!fs::is_directory(folder)) throw InputError(quoted(folder) + " is not a folder");
  MapRunFolder run;
  run.folder = folder;
  const fs::path summary = folder / "summary.json";
  std::ifstream in(summary);
  if (!in) throw InputError(quoted(folder) + " has no summary.json: not an output folder of `xanesmap map`");
  try {
    run.summary = nlohmann::json::parse(in);
    run.pixel_size_nm = run.summary.at("input").at("pixel_size_nm").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(quoted(summary) + " cannot be read: " + e.what());
  }
  if (!(run.pixel_size_nm > 0.0)) throw InputError(quoted(summary) + ": input.pixel_size_nm is not a positive size");
  run.valence = read_one_page(folder / "valence.tif");
  const auto regions = read_one_page(folder / "regions.tif");
  same_size(run.valence, regions.height(), regions.width(), folder / "regions.tif");
  run.regions = convert<std::uint8_t>(regions, folder / "regions.tif", 2.0);
  const auto labels = read_one_page(folder / "labels.tif");
  same_size(run.valence, labels.height(), labels.width(), folder / "labels.tif");
  run.labels = convert<std::uint16_t>(labels, folder / "labels.tif", 65535.0);
  run.edge_jump_od = read_one_page(folder / "edge_jump.tif");
  same_size(run.valence, run.edge_jump_od.height(), run.edge_jump_od.width(), folder / "edge_jump.tif");
  return run;
}

std::vector<std::string> run_differences(const MapRunFolder& a, const MapRunFolder& b) {
  std::vector<std::string> d;
  const auto& sa = a.summary;
  const auto& sb = b.summary;
  for (const char* key : {"method", "edge_definition", "lcf_constraint"})
    if (text(sa, key) != text(sb, key)) d.push_back(std::string(key) + ": " + text(sa, key) + " vs " + text(sb, key));
  for (const char* key : {"post_edge_order", "flatten"}) {
    const auto wa = sa.contains("windows") ? text(sa["windows"], key) : "(missing)";
    const auto wb = sb.contains("windows") ? text(sb["windows"], key) : "(missing)";
    if (wa != wb) d.push_back(std::string("windows.") + key + ": " + wa + " vs " + wb);
  }
  auto refs = [](const nlohmann::json& s) {
    std::vector<std::string> out;
    if (!s.contains("references")) return out;
    for (const auto& r : s["references"]) {
      std::ostringstream o;
      o << r.value("name", "?") << " (valence " << r.value("valence", 0.0) << ", shift "
        << r.value("energy_shift_ev", 0.0) << " eV, sha256 "
        << (r.contains("file") ? r["file"].value("sha256", "?").substr(0, 12) : std::string("?")) << ")";
      out.push_back(o.str());
    }
    return out;
  };
  const auto ra = refs(sa), rb = refs(sb);
  if (ra != rb) {
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s.empty() ? std::string("(none)") : s;
    };
    d.push_back("references: " + join(ra) + " vs " + join(rb));
  }
  return d;
}

}  // namespace xanesmap
