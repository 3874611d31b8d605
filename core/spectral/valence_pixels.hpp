// The per-pixel pass of a valence map (core/spectral/valence_map.hpp): every pixel's spectrum
// normalized, masked, fitted by LCF, its edge energy measured and calibrated, and the LCF
// valence's uncertainty propagated from the spectrum's noise, with the set-up of a ValenceModel.
//
// In the manner of MRtrix3's dwi2adc (a functor whose constructor takes everything the fits
// share, and whose call fits with per-thread scratch space), with one difference: the functor
// fits a whole image row per call, one stage after the other over the row (normalization and
// mask, LCF, edge energy, uncertainty). A stage's coefficients stay in cache across the row, the
// normalization fits read the row's frames in place (SpectrumNormalizer::fit_columns), and the
// LCF variances of the row's pixels are computed in one batch (lcf_valence_variances).
//
// Per pixel, the status says what was measured (PixelStatus): a pixel with non-zero OD flags
// gets outside_view or invalid_od and nothing else; one whose edge step fails the Mn mask no_mn
// (its edge jump is still written); the masked ones the status of the chosen method.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/base/energy_stack.hpp"
#include "core/base/image.hpp"
#include "core/base/progress.hpp"
#include "core/spectral/lcf_noise.hpp"
#include "core/spectral/spectrum_normalizer.hpp"
#include "core/spectral/valence_model.hpp"

namespace xanesmap {

/// The per-pixel maps of a pass (ValenceMaps has the same fields, documented there), and the sum
/// of the OD spectra on the analysis grid of the pixels with status ok, for the mean spectrum.
struct ValencePixelMaps {
  Image<float> valence, valence_edge, valence_lcf, valence_sigma, edge_energy_ev, edge_jump_od,
      rfactor;
  Image<std::uint8_t> mask, status;
  std::vector<Image<float>> fractions;
  std::vector<double> ok_od_sum;
  std::size_t ok_pixels = 0;
};

/// Fits image rows of one stack with one model. Copies are independent (each has its own
/// scratch space and sums): one per thread. The model, stack and flags must outlive it.
class ValenceRowFitter {
 public:
  /// Throws InputError when the stack's energies or size, or the flags' size, are not those the
  /// model was built for.
  ValenceRowFitter(const ValenceModel& model, const EnergyStack& od,
                   ImageView<const std::uint8_t> od_flags);

  /// Fits the pixels of image row `row` and writes them into that row of `out` (maps of the
  /// stack's size, initialized as fit_valence_pixels does); adds the OD spectra of its pixels with
  /// status ok to ok_od_sum().
  void operator()(std::size_t row, ValencePixelMaps& out);

  const std::vector<double>& ok_od_sum() const { return ok_od_sum_; }
  std::size_t ok_pixels() const { return ok_pixels_; }

 private:
  void normalize_and_mask(std::size_t row, ValencePixelMaps& out);
  void fit_lcf();
  void measure_edges(std::size_t row, ValencePixelMaps& out);
  void finish(std::size_t row, ValencePixelMaps& out);

  // Shared by every copy, read only.
  const ValenceModel* model_;
  ImageView<const std::uint8_t> flags_;
  const float*
      values_;  // frame grid_first of the stack; value i of pixel p at values_[i * plane_ + p]
  std::size_t plane_, width_, points_, references_;
  LcfNoiseModel noise_model_;
  bool use_edge_;

  // Scratch space of one row (pixel-major spectra: pixel c's at [c * points_, (c + 1) * points_)).
  std::vector<double> mu_;    // the masked pixels' OD spectra
  std::vector<double> norm_;  // their normalized spectra
  std::vector<float> tile_;   // kernels::gather_masked_columns' tile
  std::vector<SpectrumNormalizer::Fit> fits_;
  std::vector<LcfResult> lcf_;
  std::vector<std::uint8_t> in_mask_;
  std::vector<double> edge_, v_edge_, v_edge_sigma_;
  std::vector<LcfNoisePixel> noise_pixels_;  // the row's fitted pixels (capacity width_)
  std::vector<double> variances_;

  std::vector<double> ok_od_sum_;
  std::size_t ok_pixels_ = 0;
};

/// Runs a ValenceRowFitter over every row, rows in parallel (TBB), progress as "valence maps"
/// between chunks of rows, from the calling thread. Throws as the ValenceRowFitter constructor.
ValencePixelMaps fit_valence_pixels(const ValenceModel& model, const EnergyStack& od,
                                    ImageView<const std::uint8_t> od_flags,
                                    const ProgressSink& progress = {});

}  // namespace xanesmap
