// The set-up of a valence-map pass (core/spectral/valence_map.hpp), built once per stack: what
// every pixel's fit shares.
//
// From the stack's energies, the references and the options it fixes, in this order:
//  1. e0: options.e0_ev, or the mean of the references' derivative maxima (each on its own grid).
//  2. The analysis grid: the stack energies from e0 + pre-edge window start to e0 + post-edge
//     window end (InputError when it holds none: usually an energy unit or an edge that does not
//     match the references').
//  3. The normalizer on that grid (core/spectral/spectrum_normalizer.hpp), the windows as applied
//     in absolute eV and a warning for each window clipped to the stack's energies; the edge
//     finder on the grid around e0.
//  4. The LCF window on the grid (InputError when it holds fewer than K + 1 energies).
//  5. The references interpolated onto the grid and normalized like every pixel, the LCF
//     (core/spectral/reference_fit.hpp) and the edge calibration
//     (core/spectral/edge_calibration.hpp) measured on them. With options.align_references, one
//     energy offset for all references is first fitted to the mean spectrum of the masked pixels
//     (detail/reference_alignment.hpp) and the references are shifted by it.
//  6. The calibration table (each reference's edge energies by every definition, on the stack's
//     grid and on its own) and the noise model of the LCF valence (core/spectral/lcf_noise.hpp,
//     docs/method.md).
//
// Immutable once built; every accessor is const and safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/base/energy_stack.hpp"
#include "core/base/image.hpp"
#include "core/spectral/edge_calibration.hpp"
#include "core/spectral/edge_energy.hpp"
#include "core/spectral/energy_window.hpp"
#include "core/spectral/lcf_noise.hpp"
#include "core/spectral/reference_fit.hpp"
#include "core/spectral/spectrum_normalizer.hpp"
#include "core/spectral/valence_map.hpp"

namespace xanesmap {

class ValenceModel {
 public:
  /// `od` and `od_flags` are read only with options.align_references (the mean spectrum the
  /// offset is fitted to); otherwise only the stack's energies and size matter. Throws
  /// OptionError for invalid options; InputError for flags of another size than the stack, fewer
  /// than two references or two distinct valences, references that do not cover the analysis
  /// range or show no edge on it, windows without enough energies, a non-monotonic edge
  /// calibration, or (aligning) a mask that keeps no pixel or no offset that keeps the
  /// references covering the stack.
  ValenceModel(const EnergyStack& od, ImageView<const std::uint8_t> od_flags,
               const std::vector<ReferenceSpectrum>& references, const ValenceMapOptions& options);

  const ValenceMapOptions& options() const { return options_; }
  double e0_ev() const { return e0_ev_; }

  /// The analysis grid: stack frames [grid_first(), grid_first() + points()).
  std::size_t grid_first() const { return grid_.first; }
  std::size_t points() const { return grid_.energy_ev.size(); }
  std::span<const double> energy_ev() const { return grid_.energy_ev; }

  const SpectrumNormalizer& normalizer() const { return normalizer_; }
  const EdgeEnergyFinder& finder() const { return finder_; }

  /// The LCF window: analysis-grid points [fit_first(), fit_first() + fit_count()).
  std::size_t fit_first() const { return fit_.first; }
  std::size_t fit_count() const { return fit_.count; }
  const LinearCombinationFit& lcf() const { return references_.lcf; }
  /// Degrees of freedom of every pixel's LCF: fit_count() - lcf().parameters().
  double lcf_dof() const { return static_cast<double>(fit_.count - references_.lcf.parameters()); }
  /// Views noise_map(), which lives as long as this model.
  LcfNoiseModel noise_model() const;
  const EdgeCalibration& calibration() const { return references_.calibration; }

  std::size_t reference_count() const { return reference_names_.size(); }
  const std::vector<std::string>& reference_names() const { return reference_names_; }
  const std::vector<double>& reference_valences() const { return reference_valences_; }
  double reference_offset_ev() const { return references_.offset_ev; }  // 0 unless aligned
  const std::vector<CalibrationRow>& calibration_rows() const { return calibration_rows_; }

  AbsoluteWindow pre_edge_used_ev() const { return normalizer_.pre_edge_used_ev(); }
  AbsoluteWindow post_edge_used_ev() const { return normalizer_.post_edge_used_ev(); }
  AbsoluteWindow fit_window_used_ev() const;
  /// Clipped windows, an alignment offset at the end of its search, references without edge
  /// energies on their own grid: in the order they arose.
  const std::vector<std::string>& warnings() const { return warnings_; }

  /// The analysis grid: stack frames [first, first + energy_ev.size()).
  struct AnalysisGrid {
    std::size_t first = 0;
    std::vector<double> energy_ev;
  };
  /// Points [first, first + count) of the analysis grid.
  struct GridRange {
    std::size_t first = 0, count = 0;
  };
  /// The references as fitted: energies shifted by the offset, interpolated onto the analysis
  /// grid and normalized; their LCF and their edge calibration.
  struct ReferenceSet {
    double offset_ev = 0.0;
    std::vector<std::vector<double>> on_grid;  // K x points()
    LinearCombinationFit lcf;
    EdgeCalibration calibration;
  };

 private:
  ValenceMapOptions options_;
  std::vector<std::string> reference_names_;
  std::vector<double> reference_valences_;
  double e0_ev_ = 0.0;
  AnalysisGrid grid_;
  SpectrumNormalizer normalizer_;
  EdgeEnergyFinder finder_;
  GridRange fit_;
  std::vector<std::string> warnings_;
  ReferenceSet references_;
  std::vector<CalibrationRow> calibration_rows_;
  std::vector<double> noise_map_;  // M = A' N_fit, K x points(), row-major (lcf_noise.hpp)
};

}  // namespace xanesmap
