// What a real TXM adds to a scan beyond photon noise, for `xanesmap simulate` (docs/simulator.md):
// - Flux jitter: the incident flux of a sample frame and of its flat differ by a random
//   relative amount (top-up injections, monochromator and beam motion; ~1 % is typical), which
//   puts a per-frame offset of about that size on every pixel's optical density.
// - Flat mismatch: the illumination pattern moves a little between a sample frame and its flat,
//   a smooth relative change modelled as a random plane per frame (its slope across the field).
// - Detector-fixed defects: a dead band of rows along the bottom edge (almost no counts) and a
//   dim region (a corner with several times fewer counts), in sample frames and flats alike.
// - Magnification that follows the energy: a zone plate refocused at each energy images the
//   sample at a scale E_0 / E relative to the first energy (about -dE / E), about the frame
//   centre; no hardware compensation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/base/image.hpp"

namespace xanesmap::sim {

struct InstrumentOptions {
  double flux_jitter = 0.01;         // relative standard deviation, sample frame against its flat
  double flat_mismatch = 0.005;      // relative illumination change across the field, std. dev.
  std::size_t dead_band_px = 0;      // rows along the bottom edge with ~1 % of the counts; 0 = none
  double dim_region_fraction = 0.0;  // side of the dim top-left corner, fraction of the frame side
  double dim_factor = 0.15;          // counts in the dim region relative to elsewhere
  bool magnification = false;        // scale E_0 / E per frame about the frame centre
  void validate(std::size_t height, std::size_t width) const;  // OptionError naming the option
};

/// The beam of one frame: flux factors of the sample frame and its flat, and the plane the
/// sample frame's illumination is multiplied by (1 + gy (y - cy) / H + gx (x - cx) / W).
struct FrameBeam {
  double sample_flux = 1.0, flat_flux = 1.0;
  double slope_y = 0.0, slope_x = 0.0;
  double mismatch(std::size_t r, std::size_t c, std::size_t h, std::size_t w) const;
};

/// Per-frame beams from `seed` (deterministic); all 1 and flat when `noise` is false.
std::vector<FrameBeam> frame_beams(const InstrumentOptions& o, std::size_t frames, bool noise,
                                   std::uint64_t seed);

/// Multiplies the detector-fixed defects into `illumination`.
void apply_detector_defects(const InstrumentOptions& o, Image<float>& illumination);

/// 1 where the detector is defective (dead band or dim region), for tests and truth.h5.
Image<std::uint8_t> defect_mask(const InstrumentOptions& o, std::size_t height, std::size_t width);

/// Per-frame scale relative to the first energy: E_0 / E with magnification, else 1.
std::vector<double> frame_scales(const InstrumentOptions& o,
                                 const std::vector<double>& energies_ev);

}  // namespace xanesmap::sim
