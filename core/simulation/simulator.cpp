#include "core/simulation/simulator.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include "core/base/error.hpp"
#include "core/base/random.hpp"
#include "core/spectral/normalization.hpp"
#include "core/spectral/spectrum_normalizer.hpp"

namespace xanesmap::sim {

namespace {

constexpr double kFalloffReferenceEv = 6540.0;  // non-resonant absorption given at this energy
constexpr double kFluxDropAcrossScan = 0.20;    // beam flux falls 20 % from first to last energy
constexpr double kTableStepPx = 0.05;           // radial step of the chord tables
constexpr int kChordSamples = 64;               // midpoint samples along half a chord
constexpr std::uint16_t kSaturatedCount = 65535;

double falloff(double energy_ev) { return std::pow(kFalloffReferenceEv / energy_ev, 3.0); }

// Two-bracket mixing: the fractions of the references (sorted by valence) that make valence v.
struct Mixer {
  std::vector<double> valences;
  void fractions(double v, double* f) const {
    const std::size_t k = valences.size();
    std::fill(f, f + k, 0.0);
    v = std::clamp(v, valences.front(), valences.back());
    std::size_t j = 0;
    while (j + 2 < k && v > valences[j + 1]) ++j;
    const double t = (v - valences[j]) / (valences[j + 1] - valences[j]);
    f[j] = 1.0 - t;
    f[j + 1] = t;
  }
};

// One radially symmetric contribution to the projected sample: a particle, or the change an
// inclusion makes to its host. Tables give, against distance rho from the centre, the mean
// along the chord of each reference fraction and of the valence; the exact chord length is
// computed per sample, so the tables only hold smooth functions.
struct RenderItem {
  enum class Kind { host, debris, inclusion } kind = Kind::host;
  double cy = 0, cx = 0, radius = 0;                 // px
  double host_cy = 0, host_cx = 0, host_radius = 0;  // inclusions: the host sphere, px
  int label = 0;
  std::vector<double> mean_fraction;  // bins x K (one bin for inclusions: constant deltas)
  std::vector<double> mean_valence;   // bins
};

std::vector<RenderItem> make_render_items(const Scene& scene, const Mixer& mixer, double px_um) {
  const std::size_t k = mixer.valences.size();
  std::vector<RenderItem> items;
  std::vector<double> f(k), g(k);
  for (const Particle& p : scene.particles) {
    RenderItem item;
    item.cy = p.cy_px, item.cx = p.cx_px, item.radius = p.radius_px, item.label = p.id;
    if (p.kind == ParticleKind::debris) {
      item.kind = RenderItem::Kind::debris;
      items.push_back(std::move(item));
      continue;
    }
    const std::size_t bins = static_cast<std::size_t>(std::ceil(p.radius_px / kTableStepPx)) + 2;
    item.mean_fraction.assign(bins * k, 0.0);
    item.mean_valence.assign(bins, 0.0);
    const double radius_um = p.radius_px * px_um;
    for (std::size_t b = 0; b < bins; ++b) {
      const double rho = std::min(static_cast<double>(b) * kTableStepPx, p.radius_px);
      const double half_chord = std::sqrt(std::max(0.0, p.radius_px * p.radius_px - rho * rho));
      for (int s = 0; s < kChordSamples; ++s) {
        const double z = (s + 0.5) / kChordSamples * half_chord;
        const double v = p.profile.valence_at(std::hypot(rho, z) * px_um, radius_um);
        mixer.fractions(v, f.data());
        for (std::size_t j = 0; j < k; ++j) item.mean_fraction[b * k + j] += f[j] / kChordSamples;
        item.mean_valence[b] += v / kChordSamples;
      }
    }
    items.push_back(std::move(item));
    const double host_valence = p.profile.core_valence;  // inclusions sit in uniform hosts
    mixer.fractions(host_valence, g.data());
    for (const Inclusion& inc : p.inclusions) {
      RenderItem sub;
      sub.kind = RenderItem::Kind::inclusion;
      sub.cy = p.cy_px + inc.dy_px, sub.cx = p.cx_px + inc.dx_px, sub.radius = inc.radius_px;
      sub.host_cy = p.cy_px, sub.host_cx = p.cx_px, sub.host_radius = p.radius_px;
      mixer.fractions(inc.valence, f.data());
      sub.mean_fraction.resize(k);
      for (std::size_t j = 0; j < k; ++j) sub.mean_fraction[j] = f[j] - g[j];
      sub.mean_valence = {inc.valence - host_valence};
      items.push_back(std::move(sub));
    }
  }
  return items;
}

// Calls visit(item_index, chord_um, bin, frac) for every item that covers the point (y, x) in
// sample coordinates; bin/frac locate rho in the item's tables. An inclusion is a column
// along the beam through its host (a grain spanning the particle), so its chord is the host's.
template <typename Visit>
void for_each_cover(const std::vector<RenderItem>& items, double y, double x, double px_um,
                    Visit&& visit) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    const RenderItem& it = items[i];
    const double d2 = (y - it.cy) * (y - it.cy) + (x - it.cx) * (x - it.cx);
    const double r2 = it.radius * it.radius;
    if (d2 >= r2) continue;
    double chord_um = 2.0 * std::sqrt(r2 - d2) * px_um;
    if (it.kind == RenderItem::Kind::inclusion) {
      const double hd2 = (y - it.host_cy) * (y - it.host_cy) + (x - it.host_cx) * (x - it.host_cx);
      chord_um = 2.0 * std::sqrt(std::max(0.0, it.host_radius * it.host_radius - hd2)) * px_um;
    }
    const double t = std::sqrt(d2) / kTableStepPx;
    const auto bin = static_cast<std::size_t>(t);
    visit(i, chord_um, bin, t - static_cast<double>(bin));
  }
}

struct PreparedReferences {
  Mixer mixer;
  std::vector<std::string> names;
  std::vector<std::vector<double>> on_grid;  // normalized mu on the energy grid
};

PreparedReferences prepare_references(const std::vector<SimulationReference>& references,
                                      const std::vector<double>& grid) {
  if (references.size() < 2)
    throw InputError("the simulator needs at least two references of different valence, got " +
                     std::to_string(references.size()));
  std::vector<std::size_t> order(references.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return references[a].valence < references[b].valence;
  });
  // Every reference is normalized with the engine's default convention
  // (core/spectral/valence_map.hpp): windows around ONE e0, the references' mean derivative
  // maximum. LCF fractions are shares of the edge step as that convention measures it, so this
  // defines "fraction" the same way on both sides (docs/simulator.md discusses the few-%
  // sensitivity to the windows).
  NormalizationOptions convention;
  double e0_sum = 0.0;
  for (const auto& ref : references) {
    ref.mu.validate();
    e0_sum +=
        find_e0_max_derivative(ref.mu.energy_ev, ref.mu.mu, convention.derivative_half_window_ev);
  }
  const double e0_ev = e0_sum / static_cast<double>(references.size());
  PreparedReferences out;
  for (const std::size_t i : order) {
    const SimulationReference& ref = references[i];
    if (!out.mixer.valences.empty() && ref.valence == out.mixer.valences.back())
      throw InputError("references '" + out.names.back() + "' and '" + ref.name +
                       "' have the same valence; the simulator mixes one reference per valence");
    try {
      // The engine normalizes on the stack's grid, and a sparse grid samples the post-edge
      // EXAFS differently from the measured one (edge steps differ by up to ~9 %), so the
      // reference is normalized on the simulation's grid; a grid too sparse for the windows
      // falls back to the reference's own grid.
      const std::vector<double> raw = interpolate(ref.mu, grid);
      try {
        NormalizationOptions unflattened = convention;
        unflattened.flatten = false;
        const SpectrumNormalizer normalizer(grid, e0_ev, unflattened);
        std::vector<double> norm(raw.size());
        if (!(normalizer(raw, norm).edge_step > 0.0)) throw InputError("no edge step on the grid");
        out.on_grid.push_back(std::move(norm));
      } catch (const InputError&) {
        const NormalizedSpectrum norm =
            normalize_spectrum(ref.mu.energy_ev, ref.mu.mu, convention, e0_ev);
        out.on_grid.push_back(
            interpolate(Spectrum{ref.name, ref.mu.energy_ev, norm.normalized}, grid));
      }
    } catch (const Error& e) {
      rethrow_with_context(e, "reference '" + ref.name + "'");
    }
    out.mixer.valences.push_back(ref.valence);
    out.names.push_back(ref.name);
  }
  return out;
}

void check_scene_valences(const Scene& scene, const Mixer& mixer) {
  const double lo = mixer.valences.front(), hi = mixer.valences.back();
  auto check = [&](double v, const Particle& p) {
    if (v < lo || v > hi)
      throw InputError("particle type '" + p.type + "' needs valence " + std::to_string(v) +
                       ", outside the references' range " + std::to_string(lo) + "-" +
                       std::to_string(hi));
  };
  for (const Particle& p : scene.particles) {
    if (p.kind == ParticleKind::debris) continue;
    check(p.profile.core_valence, p);
    check(p.profile.shell_valence, p);
    for (const Inclusion& inc : p.inclusions) check(inc.valence, p);
  }
}

// Illumination fixed to the detector: a broad condenser profile (0.5-1.0), faint stripes and a
// few dust shadows. Dark: offset plus a fixed per-pixel and per-column pattern.
void make_beam_patterns(const SimulationOptions& o, Image<float>& illumination,
                        Image<float>& dark) {
  const std::size_t h = o.height, w = o.width;
  Random rng{o.seed, 0xBEA4ull};
  const double y0 = rng.uniform(0.35, 0.65) * static_cast<double>(h);
  const double x0 = rng.uniform(0.35, 0.65) * static_cast<double>(w);
  const double sigma = 0.7 * static_cast<double>(std::max(h, w));
  const double stripe_angle = rng.uniform(0.0, std::numbers::pi);
  const double stripe_period = rng.uniform(12.0, 24.0);
  const double stripe_phase = rng.uniform(0.0, 2.0 * std::numbers::pi);
  struct Dust {
    double y, x, s;
  };
  std::vector<Dust> dust;
  for (int i = 0; i < 4; ++i)
    dust.push_back({rng.uniform(0.0, static_cast<double>(h)),
                    rng.uniform(0.0, static_cast<double>(w)), rng.uniform(3.0, 8.0)});
  illumination = Image<float>(h, w);
  dark = Image<float>(h, w);
  std::vector<double> column_offset(w);
  for (auto& c : column_offset) c = rng.normal(0.0, 1.0);
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t c = 0; c < w; ++c) {
      const double y = static_cast<double>(r), x = static_cast<double>(c);
      double v =
          0.5 + 0.5 * std::exp(-((y - y0) * (y - y0) + (x - x0) * (x - x0)) / (2 * sigma * sigma));
      v *= 1.0 + 0.03 * std::sin(2.0 * std::numbers::pi *
                                     (y * std::cos(stripe_angle) + x * std::sin(stripe_angle)) /
                                     stripe_period +
                                 stripe_phase);
      for (const Dust& d : dust)
        v *= 1.0 -
             0.25 * std::exp(-((y - d.y) * (y - d.y) + (x - d.x) * (x - d.x)) / (2 * d.s * d.s));
      illumination(r, c) = static_cast<float>(v);
      dark(r, c) =
          static_cast<float>(o.dark_offset_counts + column_offset[c] + rng.normal(0.0, 2.0));
    }
}

std::uint16_t to_count(double value) {
  if (!(value > 0.0)) return 0;
  if (value >= kSaturatedCount) return kSaturatedCount;
  return static_cast<std::uint16_t>(std::lround(value));
}

}  // namespace

void SimulationOptions::validate() const {
  if (height < 32 || width < 32 || height > 16384 || width > 16384)
    throw OptionError("size", "each side must be 32-16384 px");
  if (!(pixel_size_nm > 0.0 && pixel_size_nm <= 10000.0))
    throw OptionError("pixel-size-nm", "must be a positive size up to 10000 nm");
  if (!(flat_counts >= 10.0 && flat_counts <= 60000.0))
    throw OptionError("flat-counts", "must be 10-60000 counts (uint16 detector)");
  if (dark_frames < 1 || dark_frames > 1000) throw OptionError("dark-frames", "must be 1-1000");
  if (!(dark_offset_counts >= 0.0 && dark_offset_counts + flat_counts * 1.05 < 65000.0))
    throw OptionError("dark-offset", "must be non-negative and leave the flat below saturation");
  if (!(read_noise_counts >= 0.0 && read_noise_counts < 1000.0))
    throw OptionError("read-noise", "must be 0-1000 counts");
  if (!(drift_px >= 0.0 && drift_px <= 0.25 * static_cast<double>(std::min(height, width))))
    throw OptionError("drift-px", "must be between 0 and a quarter of the image side");
  if (hot_pixels > height * width / 100)
    throw OptionError("hot-pixels", "must be at most 1 % of the pixels");
  if (!(mn_jump_per_um > 0.0 && mn_jump_per_um < 10.0))
    throw OptionError("mn-jump-per-um", "must be a positive OD per um below 10");
  for (const auto& [value, name] :
       {std::pair{matrix_od_per_um, "matrix-od-per-um"},
        std::pair{debris_od_per_um, "debris-od-per-um"}, std::pair{film_od, "film-od"}})
    if (!(value >= 0.0 && value < 10.0)) throw OptionError(name, "must be an OD between 0 and 10");
  if (supersampling < 1 || supersampling > 8) throw OptionError("supersampling", "must be 1-8");
  instrument.validate(height, width);
  if (uniform_valence && !std::isfinite(*uniform_valence))
    throw OptionError("uniform-valence", "must be a finite valence");
  if (!energies_ev.empty()) {
    if (energies_ev.size() < 2) throw OptionError("energies", "need at least 2 energies");
    try {
      check_energies_strictly_increasing(energies_ev);
    } catch (const InputError& e) {
      throw OptionError("energies", e.what());
    }
  }
}

std::vector<double> default_energy_grid() {
  std::vector<double> grid;
  for (int i = 0; i <= 16; ++i) grid.push_back(6450.0 + 5.0 * i);
  for (int i = 1; i <= 80; ++i) grid.push_back(6530.0 + 0.5 * i);
  for (int i = 0; i <= 12; ++i) grid.push_back(6580.0 + 10.0 * i);
  return grid;
}

std::vector<double> energy_grid_of_size(std::size_t count) {
  if (count < 16)
    throw InputError("an energy grid of " + std::to_string(count) +
                     " points is too short: at least 16 are needed");
  const auto share = [count](double part) {
    return std::max<std::size_t>(
        4, static_cast<std::size_t>(std::lround(static_cast<double>(count) * part / 110.0)));
  };
  const std::size_t pre = share(17.0), post = share(13.0), edge = count - pre - post;
  std::vector<double> grid;
  grid.reserve(count);
  for (std::size_t i = 0; i < pre; ++i)
    grid.push_back(6450.0 + 80.0 * static_cast<double>(i) / static_cast<double>(pre - 1));
  for (std::size_t i = 1; i <= edge; ++i)
    grid.push_back(6530.0 + 40.0 * static_cast<double>(i) / static_cast<double>(edge));
  for (std::size_t i = 0; i < post; ++i)
    grid.push_back(6580.0 + 120.0 * static_cast<double>(i) / static_cast<double>(post - 1));
  return grid;
}

RawStack to_raw_stack(SimulatedScan&& scan) {
  const std::size_t n = scan.energies_ev.size(), h = scan.height, w = scan.width, frame = h * w;
  std::vector<float> counts(scan.sample_counts.begin(), scan.sample_counts.end());
  std::vector<std::uint16_t>().swap(scan.sample_counts);
  auto slice = [&](const std::vector<std::uint16_t>& v, std::size_t i) {
    const auto first = v.begin() + static_cast<std::ptrdiff_t>(i * frame);
    return Image<std::uint16_t>(
        h, w, std::vector<std::uint16_t>(first, first + static_cast<std::ptrdiff_t>(frame)));
  };
  std::vector<Image<std::uint16_t>> flats, darks;
  flats.reserve(n);
  for (std::size_t e = 0; e < n; ++e) flats.push_back(slice(scan.flat_counts, e));
  std::vector<std::uint16_t>().swap(scan.flat_counts);
  for (std::size_t d = 0; d < scan.dark_frame_count; ++d)
    darks.push_back(slice(scan.dark_counts, d));
  Image<float> dark = darks.empty() ? Image<float>() : average_frames(darks, std::nullopt);
  return RawStack(EnergyStack(scan.energies_ev, h, w, std::move(counts)), std::move(flats),
                  std::move(dark), 65535.0);
}

Simulation simulate(const SimulationOptions& options,
                    const std::vector<SimulationReference>& references,
                    const ProgressSink& progress) {
  options.validate();
  const std::vector<double> grid =
      options.energies_ev.empty() ? default_energy_grid() : options.energies_ev;
  const PreparedReferences refs = prepare_references(references, grid);
  const std::size_t n = grid.size(), h = options.height, w = options.width;
  const std::size_t k = refs.names.size();
  const double px_um = options.pixel_size_nm / 1000.0;

  Simulation result;
  SimulationTruth& truth = result.truth;
  truth.scene = make_scene(options.preset, h, w, options.pixel_size_nm, options.seed);
  if (options.uniform_valence)
    for (Particle& p : truth.scene.particles) {
      p.profile = {*options.uniform_valence, *options.uniform_valence, 0.0,
                   p.profile.transition_um};
      p.inclusions.clear();
    }
  check_scene_valences(truth.scene, refs.mixer);
  truth.drift = make_drift(n, options.drift_px, options.seed);
  truth.reference_names = refs.names;
  truth.reference_valences = refs.mixer.valences;
  truth.reference_spectra = refs.on_grid;
  const std::vector<RenderItem> items = make_render_items(truth.scene, refs.mixer, px_um);

  const int s = options.supersampling;
  std::vector<double> offsets(static_cast<std::size_t>(s));
  for (int i = 0; i < s; ++i) offsets[static_cast<std::size_t>(i)] = (i + 0.5) / s - 0.5;
  const double sample_weight = 1.0 / (s * s);

  // ---- Ground truth, in sample coordinates (zero drift).
  {
    Image<double> mn_um(h, w, 0.0), valence_um(h, w, 0.0);
    std::vector<Image<double>> ref_um(k, Image<double>(h, w, 0.0));
    truth.labels = Image<std::uint16_t>(h, w, 0);
    truth.mn_mask = Image<std::uint8_t>(h, w, 0);
    truth.debris_mask = Image<std::uint8_t>(h, w, 0);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h), [&](const auto& rows) {
      for (std::size_t r = rows.begin(); r != rows.end(); ++r)
        for (std::size_t c = 0; c < w; ++c) {
          for (const double oy : offsets)
            for (const double ox : offsets)
              for_each_cover(items, static_cast<double>(r) + oy, static_cast<double>(c) + ox, px_um,
                             [&](std::size_t i, double chord, std::size_t bin, double frac) {
                               const RenderItem& it = items[i];
                               if (it.kind == RenderItem::Kind::debris) return;
                               const bool host = it.kind == RenderItem::Kind::host;
                               const std::size_t b1 = host ? bin + 1 : 0, b0 = host ? bin : 0;
                               const double t = host ? frac : 0.0;
                               for (std::size_t j = 0; j < k; ++j) {
                                 const double f = it.mean_fraction[b0 * k + j] * (1 - t) +
                                                  it.mean_fraction[b1 * k + j] * t;
                                 ref_um[j](r, c) += sample_weight * chord * f;
                                 if (host) mn_um(r, c) += sample_weight * chord * f;
                               }
                               valence_um(r, c) +=
                                   sample_weight * chord *
                                   (it.mean_valence[b0] * (1 - t) + it.mean_valence[b1] * t);
                             });
          double thickest = 0.0;
          for_each_cover(items, static_cast<double>(r), static_cast<double>(c), px_um,
                         [&](std::size_t i, double chord, std::size_t, double) {
                           const RenderItem& it = items[i];
                           if (it.kind == RenderItem::Kind::debris) truth.debris_mask(r, c) = 1;
                           if (it.kind != RenderItem::Kind::host) return;
                           truth.mn_mask(r, c) = 1;
                           if (chord > thickest) {
                             thickest = chord;
                             truth.labels(r, c) = static_cast<std::uint16_t>(it.label);
                           }
                         });
        }
    });
    const float nan = std::numeric_limits<float>::quiet_NaN();
    truth.valence = Image<float>(h, w, nan);
    truth.mn_thickness_um = Image<float>(h, w, 0.0f);
    truth.edge_jump_od = Image<float>(h, w, 0.0f);
    truth.fractions.assign(k, Image<float>(h, w, nan));
    for (std::size_t p = 0; p < h * w; ++p) {
      const double t = mn_um.data()[p];
      truth.mn_thickness_um.data()[p] = static_cast<float>(t);
      truth.edge_jump_od.data()[p] = static_cast<float>(options.mn_jump_per_um * t);
      if (t <= 0.0) continue;
      truth.valence.data()[p] = static_cast<float>(valence_um.data()[p] / t);
      for (std::size_t j = 0; j < k; ++j)
        truth.fractions[j].data()[p] = static_cast<float>(ref_um[j].data()[p] / t);
    }
  }

  // ---- Detector data.
  Image<float> illumination, dark_pattern;
  make_beam_patterns(options, illumination, dark_pattern);
  apply_detector_defects(options.instrument, illumination);
  truth.detector_defects = defect_mask(options.instrument, h, w);
  truth.scale = frame_scales(options.instrument, grid);
  const std::vector<FrameBeam> beams =
      frame_beams(options.instrument, n, options.noise, options.seed);
  const double centre_y = 0.5 * static_cast<double>(h - 1),
               centre_x = 0.5 * static_cast<double>(w - 1);
  SimulatedScan& scan = result.scan;
  scan.energies_ev = grid;
  scan.height = h, scan.width = w;
  scan.pixel_size_nm = options.pixel_size_nm;
  scan.sample_counts.resize(n * h * w);
  scan.flat_counts.resize(n * h * w);
  scan.dark_frame_count = options.dark_frames;
  scan.dark_counts.resize(options.dark_frames * h * w);
  std::vector<float> true_od;
  if (options.keep_true_od) true_od.resize(n * h * w);

  std::vector<double> od_per_um;  // per item, per bin, this energy
  Image<float> od(h, w);
  for (std::size_t e = 0; e < n; ++e) {
    const double energy = grid[e];
    const double decay = falloff(energy);
    const double progress_in_scan =
        n > 1 ? static_cast<double>(e) / static_cast<double>(n - 1) : 0.0;
    const double mean_flux = options.flat_counts * (1.0 - kFluxDropAcrossScan * progress_in_scan);
    const FrameBeam& beam = beams[e];
    const double flux = mean_flux * beam.sample_flux, flat_flux = mean_flux * beam.flat_flux;
    const double scale = truth.scale[e];
    // OD per um of chord, for each item and radial bin, at this energy.
    std::vector<std::vector<double>> tables(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      const RenderItem& it = items[i];
      if (it.kind == RenderItem::Kind::debris) {
        tables[i] = {options.debris_od_per_um * decay};
        continue;
      }
      const std::size_t bins = it.mean_valence.size();
      tables[i].resize(bins);
      for (std::size_t b = 0; b < bins; ++b) {
        double mn = 0.0;
        for (std::size_t j = 0; j < k; ++j) mn += it.mean_fraction[b * k + j] * refs.on_grid[j][e];
        tables[i][b] = options.mn_jump_per_um * mn +
                       (it.kind == RenderItem::Kind::host ? options.matrix_od_per_um * decay : 0.0);
      }
    }
    const double dy = result.truth.drift.dy_px[e], dx = result.truth.drift.dx_px[e];
    const double film = options.film_od * decay;
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h), [&](const auto& rows) {
      for (std::size_t r = rows.begin(); r != rows.end(); ++r) {
        Random rng{options.seed, e, r, 1};
        for (std::size_t c = 0; c < w; ++c) {
          double acc = 0.0;
          for (const double oy : offsets)
            for (const double ox : offsets)
              for_each_cover(
                  items, centre_y + (static_cast<double>(r) + oy - dy - centre_y) / scale,
                  centre_x + (static_cast<double>(c) + ox - dx - centre_x) / scale, px_um,
                  [&](std::size_t i, double chord, std::size_t bin, double frac) {
                    const auto& t = tables[i];
                    const double v = t.size() == 1 ? t[0] : t[bin] * (1 - frac) + t[bin + 1] * frac;
                    acc += chord * v;
                  });
          const double value = film + acc * sample_weight;
          od(r, c) = static_cast<float>(value);
          const std::size_t p = (e * h + r) * w + c;
          const double expected =
              flux * illumination(r, c) * beam.mismatch(r, c, h, w) * std::exp(-value);
          const double expected_flat = flat_flux * illumination(r, c);
          if (options.noise) {
            scan.sample_counts[p] =
                to_count(static_cast<double>(rng.poisson(expected)) + dark_pattern(r, c) +
                         rng.normal(0.0, options.read_noise_counts));
            scan.flat_counts[p] =
                to_count(static_cast<double>(rng.poisson(expected_flat)) + dark_pattern(r, c) +
                         rng.normal(0.0, options.read_noise_counts));
          } else {
            scan.sample_counts[p] = to_count(expected + dark_pattern(r, c));
            scan.flat_counts[p] = to_count(expected_flat + dark_pattern(r, c));
          }
        }
      }
    });
    if (options.keep_true_od)
      std::copy(od.pixels().begin(), od.pixels().end(),
                true_od.begin() + static_cast<std::ptrdiff_t>(e * h * w));
    report(progress, "simulate", e + 1, n);
  }
  for (std::size_t d = 0; d < options.dark_frames; ++d)
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, h), [&](const auto& rows) {
      for (std::size_t r = rows.begin(); r != rows.end(); ++r) {
        Random rng{options.seed, 1000000 + d, r, 3};
        for (std::size_t c = 0; c < w; ++c)
          scan.dark_counts[(d * h + r) * w + c] =
              to_count(dark_pattern(r, c) +
                       (options.noise ? rng.normal(0.0, options.read_noise_counts) : 0.0));
      }
    });
  if (options.hot_pixels > 0) {
    Random rng{options.seed, 0x407ull};
    for (std::size_t i = 0; i < options.hot_pixels; ++i) {
      const std::size_t p = static_cast<std::size_t>(rng.next_u64() % (h * w));
      for (std::size_t e = 0; e < n; ++e) scan.sample_counts[e * h * w + p] = kSaturatedCount;
    }
  }
  if (options.keep_true_od) truth.od.emplace(grid, h, w, std::move(true_od));
  return result;
}

}  // namespace xanesmap::sim
