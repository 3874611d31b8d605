// `xanesmap simulate --out DIR`: a realistic simulated TXM-XANES scan with its ground truth.
// DIR receives scan.h5 (FXI layout), tiff/ (raw.tif, flat.tif, dark.tif, energies.txt),
// truth.h5 and truth_valence.tif (the true valence map, ImageJ TIFF with the pixel size).
// Nothing appears at DIR unless every file was written (io/outputs/output_dir.hpp).
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/cli_common.hpp"
#include "apps/config_file.hpp"
#include "core/base/error.hpp"
#include "core/simulation/simulator.hpp"
#include "io/formats/fxi_writer.hpp"
#include "io/formats/reference_manifest.hpp"
#include "io/formats/text_tables.hpp"
#include "io/formats/tiff_io.hpp"
#include "io/outputs/output_dir.hpp"
#include "io/outputs/text_output.hpp"

namespace xanesmap::cli {

namespace {

struct SimulateArgs {
  sim::SimulationOptions options;
  std::string out;
  std::string refs = XANESMAP_DEFAULT_REFS;
  std::string energies;
  std::size_t size = 0;
  bool no_noise = false;
  bool no_tiff = false;
  bool force = false;
  double uniform_valence = NAN;
  std::string config_toml;  // the effective configuration, written as config.toml
};

std::string provenance_json(const SimulateArgs& a, const ReferenceManifest& manifest) {
  const auto& o = a.options;
  nlohmann::json j;
  j["program"] = "xanesmap simulate";
  j["version"] = XANESMAP_VERSION;
  j["options"] = {{"height", o.height},
                  {"width", o.width},
                  {"pixel_size_nm", o.pixel_size_nm},
                  {"preset", o.preset},
                  {"flat_counts", o.flat_counts},
                  {"dark_frames", o.dark_frames},
                  {"dark_offset_counts", o.dark_offset_counts},
                  {"read_noise_counts", o.read_noise_counts},
                  {"drift_px", o.drift_px},
                  {"noise", o.noise},
                  {"seed", o.seed},
                  {"hot_pixels", o.hot_pixels},
                  {"mn_jump_per_um", o.mn_jump_per_um},
                  {"matrix_od_per_um", o.matrix_od_per_um},
                  {"debris_od_per_um", o.debris_od_per_um},
                  {"film_od", o.film_od},
                  {"supersampling", o.supersampling},
                  {"uniform_valence", o.uniform_valence ? nlohmann::json(*o.uniform_valence)
                                                        : nlohmann::json(nullptr)},
                  {"energies_file", a.energies.empty() ? "default grid" : a.energies}};
  j["references"] = nlohmann::json::array();
  for (const auto& r : manifest.references)
    j["references"].push_back({{"name", r.name},
                               {"file", r.file.string()},
                               {"valence", r.valence},
                               {"energy_shift_ev", r.energy_shift_ev}});
  return j.dump(2);
}

int run_simulate(SimulateArgs a, const GlobalOptions& global) {
  if (a.out.empty()) throw OptionError("--out", "give the output folder");
  if (a.size) a.options.height = a.options.width = a.size;
  a.options.noise = !a.no_noise;
  if (!std::isnan(a.uniform_valence)) a.options.uniform_valence = a.uniform_valence;
  if (!a.energies.empty()) a.options.energies_ev = read_energy_list(a.energies);
  a.options.validate();
  const ReferenceManifest manifest = read_reference_manifest(a.refs);
  std::vector<sim::SimulationReference> references;
  for (auto& loaded : load_references(manifest))
    references.push_back({loaded.entry.name, loaded.entry.valence, std::move(loaded.spectrum)});

  StagedOutputDir output(a.out, a.force);
  const sim::Simulation simulation =
      sim::simulate(a.options, references, make_progress_sink(global));
  const std::string provenance = provenance_json(a, manifest);
  write_fxi_hdf5(output.staging() / "scan.h5", simulation.scan, provenance);
  if (!a.no_tiff) write_tiff_variant(output.staging() / "tiff", simulation.scan);
  write_truth_hdf5(output.staging() / "truth.h5", simulation.scan, simulation.truth, provenance);
  write_tiff(output.staging() / "truth_valence.tif", simulation.truth.valence.view(),
             {a.options.pixel_size_nm / 1000.0, "xanesmap=simulated true Mn valence (NaN: no Mn)"});
  write_text_file(output.staging() / "config.toml", a.config_toml);
  output.commit();

  const auto& scan = simulation.scan;
  const auto& truth = simulation.truth;
  double largest_drift = 0.0;
  for (std::size_t i = 0; i < truth.drift.dy_px.size(); ++i)
    largest_drift = std::max(largest_drift, std::hypot(truth.drift.dy_px[i], truth.drift.dx_px[i]));
  std::size_t mn_particles = 0;
  for (const auto& p : truth.scene.particles)
    mn_particles += p.kind == sim::ParticleKind::manganese;
  std::cout << "simulated " << scan.energies_ev.size() << " energies (" << scan.energies_ev.front()
            << "-" << scan.energies_ev.back() << " eV) of " << scan.height << " x " << scan.width
            << " px at " << scan.pixel_size_nm << " nm; " << mn_particles << " Mn particles and "
            << truth.scene.particles.size() - mn_particles << " debris (scene '" << a.options.preset
            << "'); largest drift " << largest_drift << " px\n";
  std::cout << "wrote " << output.destination().string() << "/scan.h5"
            << (a.no_tiff ? "" : ", tiff/") << ", truth.h5, truth_valence.tif\n";
  return 0;
}

}  // namespace

void register_simulate(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto a = std::make_shared<SimulateArgs>();
  CLI::App* sub =
      app.add_subcommand("simulate", "Write a simulated TXM-XANES scan with ground truth");
  auto& o = a->options;
  sub->add_option("--out", a->out, "Output folder (must not exist unless --force)")->required();
  sub->add_option("--refs", a->refs, "Reference manifest (TOML)")
      ->capture_default_str()
      ->type_name("PATH");
  sub->add_option(
         "--preset", o.preset,
         "Scene: mixed, uncoated, coated, mn2-surface, touching, two-phase, debris, single")
      ->capture_default_str();
  sub->add_option("--size", a->size, "Image side in px (sets --height and --width)");
  sub->add_option("--height", o.height, "Image height in px")->capture_default_str();
  sub->add_option("--width", o.width, "Image width in px")->capture_default_str();
  sub->add_option("--pixel-size-nm", o.pixel_size_nm, "Pixel size in nm")->capture_default_str();
  sub->add_option("--energies", a->energies,
                  "Energy grid file (eV, one per line); default: "
                  "6450-6530 every 5, 6530.5-6570 every 0.5, 6580-6700 every 10 eV")
      ->type_name("PATH");
  sub->add_option("--flat-counts", o.flat_counts,
                  "Mean flat-field counts (dose) at the first energy")
      ->capture_default_str();
  sub->add_option("--dark-frames", o.dark_frames, "Dark frames to write")->capture_default_str();
  sub->add_option("--read-noise", o.read_noise_counts, "Detector read noise, counts")
      ->capture_default_str();
  sub->add_option("--drift-px", o.drift_px, "Largest sample drift over the scan, px (0 = none)")
      ->capture_default_str();
  sub->add_option("--flux-jitter", o.instrument.flux_jitter,
                  "Relative flux change between a sample frame and its flat, std. dev.")
      ->capture_default_str();
  sub->add_option("--flat-mismatch", o.instrument.flat_mismatch,
                  "Relative illumination change across the field between a frame and its flat, "
                  "std. dev.")
      ->capture_default_str();
  sub->add_option("--dead-band-px", o.instrument.dead_band_px,
                  "Rows along the bottom edge with ~1 % of the counts (detector-fixed)")
      ->capture_default_str();
  sub->add_option("--dim-region", o.instrument.dim_region_fraction,
                  "Side of a dim top-left corner, as a fraction of the frame side (0 = none)")
      ->capture_default_str();
  sub->add_option("--dim-factor", o.instrument.dim_factor,
                  "Counts in the dim region relative to elsewhere")
      ->capture_default_str();
  sub->add_flag("--magnification", o.instrument.magnification,
                "Image scale E_0 / E per energy about the frame centre (a refocused zone plate)");
  sub->add_option("--hot-pixels", o.hot_pixels, "Detector pixels stuck at saturation")
      ->capture_default_str();
  sub->add_option("--mn-jump-per-um", o.mn_jump_per_um, "Mn edge jump, OD per um of particle")
      ->capture_default_str();
  sub->add_option("--supersampling", o.supersampling, "Sub-samples per pixel side")
      ->capture_default_str();
  sub->add_option("--seed", o.seed, "Random seed (scene, drift, noise)")->capture_default_str();
  sub->add_option("--uniform-valence", a->uniform_valence,
                  "Make every Mn particle uniform at this valence (e.g. 3 for pure Mn2O3)");
  sub->add_flag("--no-noise", a->no_noise, "Expected counts without Poisson or read noise");
  sub->add_flag("--keep-true-od", o.keep_true_od, "Also store the noise-free OD stack in truth.h5");
  sub->add_flag("--no-tiff", a->no_tiff, "Skip the TIFF variant");
  sub->add_flag("--force", a->force, "Replace the output folder if it exists");
  sub->footer(examples_footer(
      {"xanesmap simulate --out demo", "xanesmap simulate --out cycled --preset uncoated --seed 7",
       "xanesmap simulate --out lowdose --flat-counts 3000 --drift-px 8 --size 256"}));
  sub->callback([&action, &global, a, sub] {
    NotApplied not_applied{
        {"out", "a reproduction writes into a new folder: give --out"},
        {"force", "never inherited: replacing outputs takes --force on the command line"}};
    if (a->size)
      for (const char* key : {"height", "width"}) not_applied[key] = "--size sets both";
    a->config_toml =
        effective_config(*sub, not_applied,
                         config_header("simulate", global.command_line, global.time_utc,
                                       "xanesmap simulate --config DIR/config.toml --out NEW_DIR"));
    action = [&global, a] { return run_simulate(*a, global); };
  });
}

}  // namespace xanesmap::cli
