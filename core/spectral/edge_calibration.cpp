#include "core/spectral/edge_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/base/error.hpp"

namespace xanesmap {

namespace {
std::string energy_text(double ev) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(2);
  s << ev << " eV";
  return s.str();
}
std::string number_text(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}
}  // namespace

EdgeCalibration::EdgeCalibration(std::vector<CalibrationPoint> points, EdgeDefinition definition)
    : definition_(definition) {
  for (const auto& p : points) {
    if (!std::isfinite(p.valence))
      throw InputError("reference '" + p.name + "': the valence is not a finite number");
    if (!std::isfinite(p.edge_ev))
      throw InputError("reference '" + p.name + "': no " + to_string(definition) +
                       " edge energy was found (" + number_text(p.edge_ev) + ")");
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const auto& a, const auto& b) { return a.valence < b.valence; });
  // Average the references of equal valence.
  for (std::size_t i = 0; i < points.size();) {
    std::size_t j = i;
    CalibrationPoint merged{points[i].name, points[i].valence, 0.0};
    double sum_ev = 0.0;
    for (; j < points.size() && points[j].valence == points[i].valence; ++j) {
      if (j > i) merged.name += "+" + points[j].name;
      sum_ev += points[j].edge_ev;
    }
    merged.edge_ev = sum_ev / static_cast<double>(j - i);
    points_.push_back(std::move(merged));
    i = j;
  }
  if (points_.size() < 2)
    throw InputError(
        "the valence calibration needs references of at least two different valences, got " +
        std::to_string(points_.size()));
  for (std::size_t i = 1; i < points_.size(); ++i) {
    const auto& lo = points_[i - 1];
    const auto& hi = points_[i];
    if (hi.edge_ev > lo.edge_ev) continue;
    std::string others;
    for (const auto d :
         {EdgeDefinition::half_height, EdgeDefinition::derivative_max, EdgeDefinition::white_line})
      if (d != definition) others += (others.empty() ? "" : " or ") + ("--edge " + to_string(d));
    throw InputError("the edge definition \"" + to_string(definition) +
                     "\" is not monotonic in valence for these references: " + lo.name +
                     " (valence " + number_text(lo.valence) + ") has its edge at " +
                     energy_text(lo.edge_ev) + " but " + hi.name + " (valence " +
                     number_text(hi.valence) + ") at " + energy_text(hi.edge_ev) + "; try " +
                     others);
  }
}

double EdgeCalibration::valence(double edge_ev) const {
  if (std::isnan(edge_ev)) return edge_ev;
  // The segment holding edge_ev, or the end segment beyond the references.
  std::size_t i = 1;
  while (i + 1 < points_.size() && edge_ev > points_[i].edge_ev) ++i;
  const auto& a = points_[i - 1];
  const auto& b = points_[i];
  return a.valence + (b.valence - a.valence) * (edge_ev - a.edge_ev) / (b.edge_ev - a.edge_ev);
}

bool EdgeCalibration::within_range(double edge_ev) const {
  return edge_ev >= points_.front().edge_ev && edge_ev <= points_.back().edge_ev;
}

}  // namespace xanesmap
