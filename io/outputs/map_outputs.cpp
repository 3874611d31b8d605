#include "io/outputs/map_outputs.hpp"

#include <tbb/task_group.h>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/base/error.hpp"
#include "io/formats/checksum.hpp"
#include "io/formats/hdf5_file.hpp"
#include "io/formats/shifts_table.hpp"
#include "io/formats/tiff_io.hpp"
#include "io/outputs/particle_outputs.hpp"
#include "io/outputs/text_output.hpp"
#include "io/plots/png_preview.hpp"

namespace xanesmap {

namespace fs = std::filesystem;

InputFile describe_input_file(const fs::path& file) {
  std::error_code ec;
  const auto bytes = fs::file_size(file, ec);
  if (ec) throw InputError("'" + file.string() + "': cannot read its size: " + ec.message());
  return {file, sha256_file(file), bytes};
}

namespace {

nlohmann::json window(const RelativeWindow& w) {
  return {json_number(w.from_ev), json_number(w.to_ev)};
}
nlohmann::json window(const AbsoluteWindow& w) {
  return {json_number(w.from_ev), json_number(w.to_ev)};
}

nlohmann::json file_json(const InputFile& f) {
  return {{"path", f.path.string()}, {"bytes", f.bytes}, {"sha256", f.sha256}};
}

const char* definition_column(std::size_t d) {
  static const char* names[] = {"half_height_ev", "derivative_max_ev", "white_line_ev"};
  return names[d];
}

}  // namespace

nlohmann::json map_summary(const MapRunInfo& info, const MapPipelineResult& result,
                           const ParticleAnalysis& particles) {
  const ValenceMaps& m = result.maps;
  const ValenceMapOptions& o = info.options.valence;
  nlohmann::json j;
  j["program"] = {{"name", "xanesmap"},
                  {"version", info.version},
                  {"git_commit", info.git_commit},
                  {"command_line", info.command_line}};
  j["time_utc"] = info.time_utc;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : info.stack_files) files.push_back(file_json(f));
  j["input"] = {
      {"layout", to_string(info.stack.layout)},
      {"files", files},
      {"frames", info.stack.frames},
      {"height", info.stack.height},
      {"width", info.stack.width},
      {"sample_type", to_string(info.stack.sample_type)},
      {"energy_range_ev", {result.energies_ev.front(), result.energies_ev.back()}},
      {"energy_unit_in_file", info.stack.energy_unit.unit == EnergyUnit::kev ? "keV" : "eV"},
      {"pixel_size_nm", info.pixel_size_nm},
      {"pixel_size_source", info.pixel_size_source}};
  j["method"] = to_string(o.method);
  j["edge_definition"] = to_string(o.edge_definition);
  j["lcf_constraint"] = to_string(o.constraint);
  j["e0_ev"] = json_number(m.e0_ev);
  j["windows"] = {{"pre_edge_ev", window(m.pre_edge_used_ev)},
                  {"post_edge_ev", window(m.post_edge_used_ev)},
                  {"post_edge_order", o.normalization.post_edge_order},
                  {"flatten", o.normalization.flatten},
                  {"fit_ev", window(m.fit_window_used_ev)},
                  {"edge_search_ev", window(o.edge.search_ev.around(m.e0_ev))},
                  {"requested_relative_to_e0",
                   {{"pre_edge_ev", window(o.normalization.pre_edge_ev)},
                    {"post_edge_ev", window(o.normalization.post_edge_ev)},
                    {"fit_ev", window(o.fit_window_ev)}}}};
  j["mask"] = {{"min_edge_jump_od", o.min_edge_jump_od},
               {"min_jump_to_noise", o.min_jump_to_noise}};
  nlohmann::json refs = nlohmann::json::array();
  for (std::size_t k = 0; k < info.references.size(); ++k) {
    const auto& r = info.references[k];
    refs.push_back({{"name", r.name},
                    {"valence", r.valence},
                    {"energy_shift_ev", r.energy_shift_ev},
                    {"file", file_json(info.reference_files[k])}});
  }
  j["references"] = refs;
  j["reference_manifest"] = info.manifest.string();
  j["reference_offset_ev"] = {{"fitted", o.align_references}, {"value", m.reference_offset_ev}};
  {
    const RegistrationResult& reg = result.registration;
    double largest = 0.0;
    for (std::size_t i = 0; i < reg.dy_px.size(); ++i)
      largest = std::max(largest, std::hypot(reg.dy_px[i], reg.dx_px[i]));
    nlohmann::json flagged = nlohmann::json::array(), excluded = nlohmann::json::array();
    for (std::size_t i = 0; i < reg.flagged.size(); ++i)
      if (reg.flagged[i]) flagged.push_back({{"frame", i}, {"energy_ev", result.energies_ev[i]}});
    for (std::size_t i = 0; i < reg.excluded.size(); ++i)
      if (reg.excluded[i]) excluded.push_back({{"frame", i}, {"energy_ev", result.energies_ev[i]}});
    const auto& requested = info.options.registration.max_shift_px;
    const char* mode = result.alignment == AlignmentMode::estimate ? "estimated"
                       : result.alignment == AlignmentMode::given  ? "given (--shifts)"
                                                                   : "none (--no-align)";
    j["registration"] = {
        {"mode", mode},
        {"reference", reg.reference_description},
        {"reference_frame", reg.reference_index},
        {"post_edge_from_ev", json_number(reg.post_edge_from_ev)},
        {"largest_shift_px", largest},
        {"flagged_frames", flagged},
        {"excluded_frames", excluded},
        {"excluded_count", reg.excluded_count()},
        {"unregistered",
         info.options.unregistered == UnregisteredFrames::stop ? "stop" : "exclude"},
        {"max_shift_px", json_number(reg.max_shift_px)},
        {"max_shift_source", result.alignment != AlignmentMode::estimate ? "not searched"
                             : requested                                 ? "--max-shift"
                                         : "a quarter of the frame's shorter side"},
        {"outlier_px", info.options.registration.outlier_px}};
  }
  {
    const BeamNormalization& beam = result.beam;
    j["beam_normalization"] = {{"requested", to_string(info.options.beam.model)},
                               {"applied", beam.applied ? to_string(beam.model) : "none"},
                               {"skipped_reason", beam.skipped_reason},
                               {"margin_px", info.options.beam.margin_px},
                               {"background_pixels", beam.background_pixels},
                               {"background_fraction", beam.background_fraction},
                               {"offset_od", beam.offset_od}};
  }
  j["valence"] = {{"mean", json_number(m.statistics.mean)},
                  {"median", json_number(m.statistics.median)},
                  {"std", json_number(m.statistics.std)},
                  {"pixels", m.statistics.pixels}};
  nlohmann::json counts;
  for (std::size_t s = 0; s < kAllPixelStatuses.size(); ++s)
    counts[status_name(kAllPixelStatuses[s])] = m.status_counts[s];
  std::size_t masked = 0;
  for (const auto v : m.mask.pixels()) masked += v;
  j["pixels"] = {{"total", m.status.size()},
                 {"by_status", counts},
                 {"in_mask", masked},
                 {"in_mask_edge_not_found", m.edge_not_found},
                 {"in_mask_edge_outside_calibration", m.edge_outside_calibration},
                 {"in_mask_lcf_failed", m.lcf_failed}};
  nlohmann::json od_flags;
  for (std::size_t i = 0; i < kAllOdFlags.size(); ++i)
    od_flags[od_flag_name(kAllOdFlags[i])] = result.optical_density.pixels_by_flag[i];
  j["optical_density"] = {{"invalid_pixels", result.optical_density.invalid_pixels},
                          {"pixels_by_flag", od_flags}};
  nlohmann::json fractions;
  for (std::size_t k = 0; k < m.reference_names.size(); ++k)
    fractions[m.reference_names[k]] = json_number(m.mean_spectrum.fractions[k]);
  j["mean_spectrum"] = {{"pixels", m.mean_spectrum.pixels},
                        {"valence", json_number(m.mean_spectrum.valence)},
                        {"rfactor", json_number(m.mean_spectrum.rfactor)},
                        {"edge_ev", json_number(m.mean_spectrum.edge_ev)},
                        {"fractions", fractions}};
  nlohmann::json calibration = nlohmann::json::array();
  for (const auto& row : m.calibration) {
    nlohmann::json r{{"name", row.name}, {"valence", row.valence}};
    for (std::size_t d = 0; d < 3; ++d) {
      r["stack_grid"][definition_column(d)] = json_number(row.stack_grid_ev[d]);
      r["native_grid"][definition_column(d)] = json_number(row.native_grid_ev[d]);
    }
    calibration.push_back(r);
  }
  j["calibration"] = calibration;
  j.update(particle_summary(particles, info.particle_options));
  j["warnings"] = m.warnings;
  return j;
}

namespace {

/// frames.csv: one line per energy frame, what the run did to it (registration, beam).
std::string frames_csv(const MapPipelineResult& r) {
  std::ostringstream s;
  s << std::setprecision(10);
  s << "frame,energy_ev,dy_px,dx_px,registration_quality,flagged,excluded,beam_offset_od\n";
  const RegistrationResult& reg = r.registration;
  for (std::size_t e = 0; e < r.energies_ev.size(); ++e) {
    const bool excluded = e < reg.excluded.size() && reg.excluded[e];
    s << e << "," << r.energies_ev[e] << "," << reg.dy_px[e] << "," << reg.dx_px[e] << ","
      << reg.quality[e] << "," << static_cast<int>(reg.flagged[e]) << "," << (excluded ? 1 : 0)
      << "," << (e < r.beam.offset_od.size() ? r.beam.offset_od[e] : 0.0) << "\n";
  }
  return s.str();
}

std::string calibration_csv(const ValenceMaps& m, EdgeDefinition used) {
  std::ostringstream s;
  s << std::setprecision(10);
  s << "reference,valence";
  for (std::size_t d = 0; d < 3; ++d) s << ",stack_grid_" << definition_column(d);
  for (std::size_t d = 0; d < 3; ++d) s << ",native_grid_" << definition_column(d);
  s << ",calibrates_with\n";
  for (const auto& row : m.calibration) {
    s << row.name << "," << row.valence;
    for (const double e : row.stack_grid_ev) s << "," << e;
    for (const double e : row.native_grid_ev) s << "," << e;
    s << ",stack_grid_" << definition_column(static_cast<std::size_t>(used)) << "\n";
  }
  return s.str();
}

// Paths, sizes and SHA-256 of files under `group`, one entry per file.
void write_files_h5(h5::File& h5, const std::string& group, const std::vector<InputFile>& files) {
  std::vector<std::string> paths, sums;
  std::vector<std::uint64_t> bytes;
  for (const auto& f : files) {
    paths.push_back(f.path.string());
    sums.push_back(f.sha256);
    bytes.push_back(static_cast<std::uint64_t>(f.bytes));
  }
  h5::write_strings(h5, group + "/path", paths);
  h5::write(h5, group + "/bytes", std::span<const std::uint64_t>(bytes), {bytes.size()});
  h5::write_strings(h5, group + "/sha256", sums);
}

// /provenance: what made this run, so that results.h5 alone says how to reproduce it.
void write_provenance_h5(h5::File& h5, const MapRunInfo& info, const MapPipelineResult& r,
                         const std::string& summary) {
  h5::write_string(h5, "/provenance/summary_json", summary);
  h5::write_string(h5, "/provenance/command_line", info.command_line);
  h5::write_string(h5, "/provenance/version", info.version);
  h5::write_string(h5, "/provenance/git_commit", info.git_commit);
  h5::write_string(h5, "/provenance/config_toml", info.config_toml);
  h5::write_string(h5, "/provenance/time_utc", info.time_utc);
  write_files_h5(h5, "/provenance/inputs", info.stack_files);
  write_files_h5(h5, "/provenance/references", info.reference_files);
  std::vector<std::string> names;
  std::vector<double> valences, shifts;
  for (const auto& ref : info.references) {
    names.push_back(ref.name);
    valences.push_back(ref.valence);
    shifts.push_back(ref.energy_shift_ev);
  }
  h5::write_strings(h5, "/provenance/references/name", names);
  h5::write(h5, "/provenance/references/valence", std::span<const double>(valences),
            {valences.size()});
  h5::write(h5, "/provenance/references/energy_shift_ev", std::span<const double>(shifts),
            {shifts.size()});
  // The windows as applied: absolute eV, after clipping to the data.
  const ValenceMaps& m = r.maps;
  const ValenceMapOptions& o = info.options.valence;
  auto window = [&](const std::string& name, const AbsoluteWindow& used,
                    const RelativeWindow& requested) {
    const double w[2] = {used.from_ev, used.to_ev};
    const std::string path = "/provenance/windows/" + name;
    h5::write(h5, path, std::span<const double>(w, 2), {2});
    h5::write_attribute(h5, path, "units", "eV, absolute, as applied (clipped to the data)");
    std::ostringstream rel;
    rel << std::setprecision(17) << requested.from_ev << " " << requested.to_ev;
    h5::write_attribute(h5, path, "requested_relative_to_e0_ev", rel.str());
  };
  window("pre_edge_ev", m.pre_edge_used_ev, o.normalization.pre_edge_ev);
  window("post_edge_ev", m.post_edge_used_ev, o.normalization.post_edge_ev);
  window("fit_ev", m.fit_window_used_ev, o.fit_window_ev);
  h5::write(h5, "/provenance/windows/e0_ev", std::span<const double>(&m.e0_ev, 1), {1});
  const std::int32_t order = o.normalization.post_edge_order;
  h5::write(h5, "/provenance/windows/post_edge_order", std::span<const std::int32_t>(&order, 1),
            {1});
}

/// /beam: the per-frame OD surface subtracted by beam normalization and the pixels it used.
void write_beam_h5(h5::File& h5, const BeamNormalization& beam) {
  const std::size_t n = beam.offset_od.size();
  h5::write(h5, "/beam/offset_od", std::span<const double>(beam.offset_od), {n});
  h5::write_attribute(h5, "/beam/offset_od", "meaning",
                      "per frame: mean over the field of the OD surface subtracted");
  h5::write_string(h5, "/beam/model", beam.applied ? to_string(beam.model) : "none");
  if (!beam.coefficients.empty() && !beam.coefficients[0].empty()) {
    const std::size_t k = beam.coefficients[0].size();
    std::vector<double> all;
    for (const auto& c : beam.coefficients) all.insert(all.end(), c.begin(), c.end());
    h5::write(h5, "/beam/coefficients", std::span<const double>(all), {n, k});
    h5::write_attribute(h5, "/beam/coefficients", "terms",
                        "1, x, y, x^2, x*y, y^2 (as many as the model has); x, y in [-1, 1] from "
                        "the first to the last column and row");
  }
  if (!beam.background.empty())
    h5::write(h5, "/beam/background", beam.background.pixels(),
              {beam.background.height(), beam.background.width()});
}

void write_results_h5(const fs::path& file, const MapRunInfo& info, const MapPipelineResult& r,
                      const ParticleAnalysis& particles, const std::string& summary) {
  h5::File h5 = h5::File::create(file);
  const ValenceMaps& m = r.maps;
  auto map = [&](const std::string& name, const auto& image) {
    h5::write(h5, "/maps/" + name, image.pixels(), {image.height(), image.width()});
  };
  map("valence", m.valence);
  map("valence_edge", m.valence_edge);
  map("valence_lcf", m.valence_lcf);
  map("valence_sigma", m.valence_sigma);
  map("edge_energy", m.edge_energy_ev);
  map("edge_jump", m.edge_jump_od);
  map("rfactor", m.rfactor);
  map("mask", m.mask);
  map("status", m.status);
  for (std::size_t k = 0; k < m.reference_names.size(); ++k)
    map("fraction_" + m.reference_names[k], m.fractions[k]);
  h5::write_attribute(h5, "/maps/edge_energy", "units", "eV");
  h5::write_attribute(h5, "/maps/edge_energy", "definition",
                      to_string(info.options.valence.edge_definition));
  h5::write_attribute(h5, "/maps/edge_jump", "units", "OD");
  h5::write_attribute(h5, "/maps/valence", "method", to_string(info.options.valence.method));
  std::string codes;
  for (const auto s : kAllPixelStatuses)
    codes += std::to_string(static_cast<int>(s)) + "=" + status_name(s) +
             (s == kAllPixelStatuses.back() ? "" : ", ");
  h5::write_attribute(h5, "/maps/status", "codes", codes);
  h5::write(h5, "/energies_ev", std::span<const double>(r.energies_ev), {r.energies_ev.size()});
  const MeanSpectrum& s = m.mean_spectrum;
  const std::size_t n = s.energy_ev.size();
  h5::write(h5, "/mean_spectrum/energy_ev", std::span<const double>(s.energy_ev), {n});
  h5::write(h5, "/mean_spectrum/od", std::span<const double>(s.od), {n});
  h5::write(h5, "/mean_spectrum/normalized", std::span<const double>(s.normalized), {n});
  h5::write(h5, "/mean_spectrum/fit", std::span<const double>(s.fit), {n});
  h5::write(h5, "/mean_spectrum/fractions", std::span<const double>(s.fractions),
            {s.fractions.size()});
  h5::write_attribute(h5, "/mean_spectrum/fractions", "references", [&] {
    std::string names;
    for (const auto& name : m.reference_names) names += (names.empty() ? "" : ",") + name;
    return names;
  }());
  h5::write_attribute(h5, "/mean_spectrum/od", "pixels", static_cast<double>(s.pixels));
  const double pixel = info.pixel_size_nm;
  h5::write(h5, "/pixel_size_nm", std::span<const double>(&pixel, 1), {1});
  write_registration_h5(h5, "/registration", r.registration);
  write_beam_h5(h5, r.beam);
  write_particles_h5(h5, particles);
  write_provenance_h5(h5, info, r, summary);
}

}  // namespace

void write_registration_h5(h5::File& file, const std::string& group,
                           const RegistrationResult& reg) {
  const std::size_t frames = reg.dy_px.size();
  h5::write(file, group + "/dy_px", std::span<const double>(reg.dy_px), {frames});
  h5::write(file, group + "/dx_px", std::span<const double>(reg.dx_px), {frames});
  h5::write(file, group + "/quality", std::span<const double>(reg.quality), {frames});
  h5::write(file, group + "/flagged", std::span<const std::uint8_t>(reg.flagged), {frames});
  h5::write(file, group + "/excluded", std::span<const std::uint8_t>(reg.excluded), {frames});
  h5::write_attribute(file, group + "/excluded", "meaning",
                      "1 = left out of the aligned stack and everything spectral");
  h5::write(file, group + "/max_shift_px", std::span<const double>(&reg.max_shift_px, 1), {1});
  h5::write_attribute(
      file, group + "/dy_px", "convention",
      "displacement of each frame's content relative to the reference frame (+dy: down)");
  h5::write_string(file, group + "/reference", reg.reference_description);
}

std::vector<std::string> excluded_frames_comment(const RegistrationResult& reg,
                                                 const std::vector<double>& energies_ev) {
  std::ostringstream text;
  text << "excluded from the aligned stack and everything spectral (--unregistered exclude), "
          "their shift not confirmed (quality 0):";
  bool any = false;
  for (std::size_t i = 0; i < reg.excluded.size(); ++i)
    if (reg.excluded[i])
      text << (any ? ", " : " ") << "frame " << i << " (" << energies_ev[i] << " eV)", any = true;
  if (!any) return {};
  return {text.str()};
}

std::vector<ShiftRow> shift_rows(const std::vector<double>& energies_ev,
                                 const RegistrationResult& reg) {
  std::vector<ShiftRow> rows;
  for (std::size_t i = 0; i < reg.dy_px.size(); ++i)
    rows.push_back({energies_ev[i], reg.dy_px[i], reg.dx_px[i], reg.quality[i]});
  return rows;
}

void write_map_outputs(const fs::path& folder, const MapRunInfo& info,
                       const MapPipelineResult& result, const ParticleAnalysis& particles) {
  const ValenceMaps& m = result.maps;
  const ValenceMapOptions& o = info.options.valence;
  const double px_um = info.pixel_size_nm / 1000.0;
  const std::string method = "method=" + to_string(o.method);
  // The files are independent: they are written by parallel tasks (about 0.4 GB for a 2048 px
  // map, most of it copied into the page cache and PNG compression). HDF5 (Debian's serial
  // build, not thread-safe) is used by one task only: results.h5. An exception in any task is
  // rethrown by wait(); the caller's staging folder then leaves nothing that looks complete.
  tbb::task_group tasks;
  auto tif = [&](std::string name, const auto& image, std::string note) {
    tasks.run([&folder, &info, px_um, &image, name = std::move(name), note = std::move(note)] {
      write_tiff(folder / (name + ".tif"), image.view(),
                 {px_um, "xanesmap=" + info.version + "\n" + note});
    });
  };
  tif("valence", m.valence, method + "\nquantity=Mn valence\nnan=no value (see status.tif)");
  tif("valence_edge", m.valence_edge,
      "method=edge\nedge_definition=" + to_string(o.edge_definition) + "\nquantity=Mn valence");
  tif("valence_sigma", m.valence_sigma, method + "\nquantity=1-sigma of valence");
  tif("edge_energy", m.edge_energy_ev,
      "edge_definition=" + to_string(o.edge_definition) + "\nquantity=edge energy\nvalue_unit=eV");
  tif("edge_jump", m.edge_jump_od, "quantity=edge jump\nvalue_unit=OD");
  tif("rfactor", m.rfactor, "quantity=LCF R-factor");
  tif("mask", m.mask, "quantity=Mn mask (1 = in mask)");
  std::string codes = "codes=";
  for (const auto s : kAllPixelStatuses)
    codes += std::to_string(static_cast<int>(s)) + ":" + status_name(s) + " ";
  tif("status", m.status, method + "\n" + codes);
  for (std::size_t k = 0; k < m.reference_names.size(); ++k)
    tif("fraction_" + m.reference_names[k], m.fractions[k],
        "quantity=LCF fraction of " + m.reference_names[k]);

  const nlohmann::json summary = map_summary(info, result, particles);
  // Paths need not be UTF-8: replace invalid bytes instead of failing after all the work.
  const auto replace = nlohmann::json::error_handler_t::replace;
  tasks.run([&] {
    write_results_h5(folder / "results.h5", info, result, particles,
                     summary.dump(-1, ' ', false, replace));
  });
  tasks.run([&] {
    write_text_file(folder / "calibration.csv", calibration_csv(m, o.edge_definition));
    write_text_file(folder / "frames.csv", frames_csv(result));
    const std::vector<ShiftRow> shifts = shift_rows(result.energies_ev, result.registration);
    write_shifts_csv(folder / "shifts.csv", shifts,
                     excluded_frames_comment(result.registration, result.energies_ev));
    write_drift_plot_png(folder / "drift.png", shifts, kFlaggedBelow,
                         "Sample drift (" + result.registration.reference_description + ")");
    write_text_file(folder / "summary.json", summary.dump(2, ' ', false, replace) + "\n");
    if (!info.config_toml.empty()) write_text_file(folder / "config.toml", info.config_toml);
  });

  // Previews: valence on a fixed 2-4 scale so that runs compare by eye; others robust ranges.
  auto png = [&](const char* file, const Image<float>& image, MapPreviewOptions preview) {
    tasks.run([&folder, &image, file, preview = std::move(preview)] {
      write_map_png(folder / file, image.view(), preview);
    });
  };
  MapPreviewOptions preview;
  preview.pixel_size_um = px_um;
  preview.scale = {2.0, 4.0, "Mn valence"};
  preview.title = "Mn valence (" + to_string(o.method) + ")";
  preview.outlines = &particles.segmentation.labels;  // particle outlines on the valence maps
  png("valence.png", m.valence, preview);
  preview.title = "Mn valence (edge energy, " + to_string(o.edge_definition) + ")";
  png("valence_edge.png", m.valence_edge, preview);
  preview.outlines = nullptr;
  preview.scale = robust_scale(m.edge_energy_ev.view(), 2.0, "edge energy (eV)");
  preview.title = "Edge energy (" + to_string(o.edge_definition) + ")";
  png("edge_energy.png", m.edge_energy_ev, preview);
  preview.scale = robust_scale(m.edge_jump_od.view(), 0.05, "edge jump (OD)");
  preview.title = "Mn edge jump";
  png("edge_jump.png", m.edge_jump_od, preview);
  preview.scale = robust_scale(m.valence_sigma.view(), 0.02, "valence 1-sigma");
  preview.title = "Valence uncertainty";
  png("valence_sigma.png", m.valence_sigma, preview);
  tasks.run([&] { write_particle_outputs(folder, particles, info.version, to_string(o.method)); });
  tasks.run([&] {
    // The first legend entry is drawn grey: the background (no Mn), so ok and failures stand out.
    std::vector<std::pair<std::uint8_t, std::string>> legend{
        {static_cast<std::uint8_t>(PixelStatus::no_mn), status_name(PixelStatus::no_mn)}};
    for (const auto s : kAllPixelStatuses)
      if (s != PixelStatus::no_mn)
        legend.emplace_back(static_cast<std::uint8_t>(s), status_name(s));
    write_category_png(folder / "status.png", m.status.view(), legend,
                       "Pixel status (" + to_string(o.method) + ")");
  });
  tasks.wait();
}

}  // namespace xanesmap
