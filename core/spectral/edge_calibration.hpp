// Valence from edge energy: a monotonic piecewise-linear calibration through reference compounds.
//
// The Mn K-edge shifts to higher energy with oxidation state, but not linearly: by half-height
// about 5 eV from Mn2+ to Mn3+ and only about 2 eV from Mn3+ to Mn4+ (examples/mn-k/PROVENANCE.md).
// So the calibration interpolates linearly BETWEEN neighbouring references instead of fitting one
// straight line, and it is only valid for an edge definition under which the references' edge
// energy strictly increases with valence: the constructor checks that, since for some definitions
// it does not hold (by Athena's stored E0, Mn2O3 at 6554.17 eV lies above pyrolusite, MnO2, at
// 6551.99 eV).
//
// With references (E_1, v_1) ... (E_n, v_n) sorted by valence (E_i < E_i+1):
//   valence(E) = v_i + (v_i+1 - v_i) (E - E_i) / (E_i+1 - E_i)   for E_i <= E <= E_i+1,
// and beyond the end points the first or last segment extended (extrapolation: flag it with
// within_range).
#pragma once

#include <string>
#include <vector>

#include "core/spectral/edge_energy.hpp"

namespace xanesmap {

struct CalibrationPoint {
  std::string name;      // reference name(s)
  double valence = 0.0;  // formal oxidation state
  double edge_ev = 0.0;  // edge energy by the calibration's definition, eV
};

class EdgeCalibration {
 public:
  /// Points with the same valence are averaged (names joined with '+'). Throws InputError when
  /// there are fewer than two distinct valences, a valence or edge energy is not finite (naming
  /// the reference), or the edge energy does not strictly increase with valence (naming the two
  /// references, their energies and the definition, and suggesting the other definitions).
  EdgeCalibration(std::vector<CalibrationPoint> points, EdgeDefinition definition);

  /// Piecewise-linear valence at edge_ev; beyond the end points, the end segment extended.
  /// NaN for a NaN energy.
  double valence(double edge_ev) const;
  /// True when edge_ev lies between the lowest and the highest reference edge (inclusive).
  bool within_range(double edge_ev) const;
  const std::vector<CalibrationPoint>& points() const { return points_; }  // sorted by valence
  EdgeDefinition definition() const { return definition_; }

 private:
  std::vector<CalibrationPoint> points_;
  EdgeDefinition definition_;
};

}  // namespace xanesmap
