// `xanesmap simulate`: realistic TXM-XANES scans with ground truth, the test bed of every stage.
//
// Forward model (docs/simulator.md gives the details and the numbers):
// - Mn spectra: each reference is normalized (core/spectral/normalization.hpp: its pre-edge line
//   subtracted, divided by its edge step, NOT flattened) and interpolated onto the energy grid.
//   A pure-phase pixel is then its measured reference times a thickness plus a straight line,
//   so every normalization routine treats pixel and reference alike. A voxel of valence v mixes the
//   two references that bracket v linearly (two-bracket mixing); a pixel's Mn spectrum is the
//   thickness-weighted sum of its voxels' spectra along the beam, so the true pixel valence is the
//   thickness-weighted mean valence.
// - Optical density: OD(E) = jump_per_um * sum_k t_k mu_k(E) + matrix(E) * chord
//   + debris(E) * chord_debris + film(E), with the non-resonant terms falling as
//   (6540 eV / E)^3 (the photoelectric fall-off); the Mn term keeps the measured shape.
// - Beam: an illumination pattern fixed to the detector (condenser profile, stripes, dust),
//   flux falling 20 % across the scan, a flat field per energy with its own noise; dark
//   offset with a fixed pattern and read noise; Poisson photon counts; uint16 detector.
// - Drift: the sample moves between energies (core/simulation/drift.hpp); the beam does not.
// - Instrument: flux jitter between sample and flat, flat mismatch, detector defects and an
//   energy-dependent magnification (core/simulation/instrument.hpp).
// Deterministic: the same options and seed give the same counts, bit for bit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/defaults.hpp"
#include "core/base/energy_stack.hpp"
#include "core/base/image.hpp"
#include "core/base/progress.hpp"
#include "core/base/spectrum.hpp"
#include "core/simulation/drift.hpp"
#include "core/simulation/instrument.hpp"
#include "core/simulation/scene.hpp"
#include "core/stack/raw_stack.hpp"

namespace xanesmap::sim {

struct SimulationReference {
  std::string name;
  double valence = 0.0;
  Spectrum mu;  // raw measured mu(E); normalized by the simulator
};

struct SimulationOptions {
  std::size_t height = 512;                    // px
  std::size_t width = 512;                     // px
  double pixel_size_nm = kDefaultPixelSizeNm;  // nm
  std::string preset = "mixed";                // scene, see scene_presets()
  std::vector<double> energies_ev;             // eV, strictly increasing; empty = default grid
  double flat_counts = 20000.0;                // mean flat counts at the first energy, brightest px
  std::size_t dark_frames = 5;                 // number of dark frames written
  double dark_offset_counts = 100.0;           // counts
  double read_noise_counts = 3.0;              // counts, standard deviation
  double drift_px = 5.0;                       // px, largest sample displacement; 0 = none
  bool noise = true;                           // false: expected counts, rounded (no randomness)
  std::uint64_t seed = 1;                      // fixes scene, drift and noise
  std::size_t hot_pixels = 0;                  // detector pixels stuck at 65535 in sample frames
  double mn_jump_per_um = 0.05;                // OD edge jump per um of particle
  double matrix_od_per_um = 0.04;              // non-resonant OD per um of particle at 6540 eV
  double debris_od_per_um = 0.03;              // OD per um of non-Mn debris at 6540 eV
  double film_od = 0.02;                       // uniform support film OD at 6540 eV
  int supersampling = 3;                       // sub-samples per pixel side (area integration)
  bool keep_true_od = false;                   // also return the noise-free OD stack (tests)
  std::optional<double> uniform_valence;  // every Mn particle uniform at this valence (no patches)
  InstrumentOptions instrument;           // flux jitter, flat mismatch, defects, magnification
  void validate() const;                  // throws OptionError naming the option
};

/// Raw detector data, as the FXI beamline writes it: frame-major uint16 (n, H, W).
struct SimulatedScan {
  std::vector<double> energies_ev;
  std::size_t height = 0, width = 0;
  double pixel_size_nm = 0.0;
  std::vector<std::uint16_t> sample_counts;  // n frames
  std::vector<std::uint16_t> flat_counts;    // n frames, one flat per energy
  std::vector<std::uint16_t> dark_counts;    // dark_frames frames
  std::size_t dark_frame_count = 0;
};

struct SimulationTruth {
  Image<float> valence;                 // thickness-weighted mean Mn valence; NaN where no Mn
  Image<std::uint8_t> mn_mask;          // 1 where the pixel centre lies inside a Mn particle
  Image<std::uint16_t> labels;          // particle id at the pixel centre (thickest), 0 = none
  Image<std::uint8_t> debris_mask;      // 1 where the pixel centre lies inside debris
  Image<float> mn_thickness_um;         // Mn-bearing particle thickness along the beam, um
  Image<float> edge_jump_od;            // true Mn edge jump in OD (mn_jump_per_um * thickness)
  std::vector<Image<float>> fractions;  // per reference: its share of the Mn; NaN where no Mn
  std::vector<std::string> reference_names;
  std::vector<double> reference_valences;
  std::vector<std::vector<double>> reference_spectra;  // normalized, on the energy grid
  DriftPath drift;  // true displacement of the frame centre's content per energy (drift.hpp)
  std::vector<double> scale;             // per energy: image scale about the frame centre
  Image<std::uint8_t> detector_defects;  // 1 dead band, 2 dim region, 0 elsewhere
  Scene scene;
  std::optional<EnergyStack> od;  // noise-free OD per frame (with drift), if kept
};

struct Simulation {
  SimulatedScan scan;
  SimulationTruth truth;
};

/// The default grid: 6450-6530 eV every 5 eV, 6530.5-6570 eV every 0.5 eV, 6580-6700 eV every
/// 10 eV (110 energies): coarse pre-edge, fine through the Mn K edge, coarse post-edge.
std::vector<double> default_energy_grid();

/// `count` energies (16 or more, InputError otherwise; 12 leave too few points through the edge
/// for the reference calibration) laid out like the default grid: the same
/// three segments (6450-6530, 6530-6570 exclusive of 6530, 6580-6700 eV), evenly spaced within
/// each, with the default's shares of the points (17, 80 and 13 of 110; at least 4 in the
/// pre- and post-edge segments, so that their windows can be fitted). For benchmarks that vary
/// the number of energies.
std::vector<double> energy_grid_of_size(std::size_t count);

/// Throws OptionError for bad options; InputError when fewer than two references with distinct
/// valences are given, a reference does not cover the grid, or a preset's valence lies outside
/// the references' valence range.
Simulation simulate(const SimulationOptions& options,
                    const std::vector<SimulationReference>& references,
                    const ProgressSink& progress = {});

/// The scan as an in-memory RawStack, as a reader would build it from the files: float counts,
/// one uint16 flat per energy (as recorded), the dark frames averaged, saturation at 65535. The
/// counts and flats of the scan are released as soon as they are converted or split into frames
/// (the small dark array stays with the scan), so the
/// peak is the float stack plus two uint16 arrays (the counts and the flats while converting
/// the counts, then the flats and their per-frame copies): 2 x the float stack; the result
/// holds the float stack plus the uint16 flats (1.5 x).
RawStack to_raw_stack(SimulatedScan&& scan);

}  // namespace xanesmap::sim
