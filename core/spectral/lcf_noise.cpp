#include "core/spectral/lcf_noise.hpp"

#include <stdexcept>

#include "core/kernels/lcf_variance.hpp"

namespace xanesmap {

double lcf_valence_variance(const LcfNoiseModel& model, const LcfNoisePixel& pixel) {
  const std::size_t k = model.references, n = model.points;
  const double* noise_map = model.noise_map.data();
  double variance = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    double weight = 0.0;
    for (std::size_t kk = 0; kk < k; ++kk) weight += pixel.gradient[kk] * noise_map[kk * n + j];
    const double noise =
        (j >= model.pre_begin && j < model.pre_end) ? pixel.pre_noise_od : pixel.fit_noise_od;
    weight /= pixel.edge_step_od;
    variance += noise * noise * weight * weight;
  }
  return variance;
}

void lcf_valence_variances(const LcfNoiseModel& model, std::span<const LcfNoisePixel> pixels,
                           std::span<double> variance) {
  if (variance.size() != pixels.size())
    throw std::invalid_argument("lcf_valence_variances: one variance per pixel");
  if (model.references > kMaxLcfReferences)
    throw std::invalid_argument("lcf_valence_variances: too many references");
  if (model.noise_map.size() < model.references * model.points)
    throw std::invalid_argument("lcf_valence_variances: noise map smaller than K x n");
  kernels::lcf_valence_variances(model, pixels, variance);
}

}  // namespace xanesmap
