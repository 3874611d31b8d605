#include "core/kernels/lcf_variance.hpp"

#include <immintrin.h>

namespace xanesmap::kernels {

namespace plain {
void lcf_valence_variances(const LcfNoiseModel& model, std::span<const LcfNoisePixel> pixels,
                           std::span<double> variance) {
  for (std::size_t p = 0; p < pixels.size(); ++p)
    variance[p] = lcf_valence_variance(model, pixels[p]);
}
}  // namespace plain

namespace {

// Four pixels, lane l = pixels[l]: lcf_valence_variance's operations, in its order, on 4 lanes
// (separate multiplications and additions: no fused multiply-add).
__attribute__((target("avx2"))) void variances4_avx2(const LcfNoiseModel& model,
                                                     const LcfNoisePixel* px, double* out) {
  const std::size_t k = model.references, n = model.points;
  const double* noise_map = model.noise_map.data();
  __m256d gradient[kMaxLcfReferences];
  for (std::size_t kk = 0; kk < k; ++kk)
    gradient[kk] = _mm256_setr_pd(px[0].gradient[kk], px[1].gradient[kk], px[2].gradient[kk],
                                  px[3].gradient[kk]);
  const __m256d step = _mm256_setr_pd(px[0].edge_step_od, px[1].edge_step_od, px[2].edge_step_od,
                                      px[3].edge_step_od);
  const __m256d pre = _mm256_setr_pd(px[0].pre_noise_od, px[1].pre_noise_od, px[2].pre_noise_od,
                                     px[3].pre_noise_od);
  const __m256d fit = _mm256_setr_pd(px[0].fit_noise_od, px[1].fit_noise_od, px[2].fit_noise_od,
                                     px[3].fit_noise_od);
  const __m256d pre2 = _mm256_mul_pd(pre, pre), fit2 = _mm256_mul_pd(fit, fit);  // noise * noise
  __m256d variance = _mm256_setzero_pd();
  for (std::size_t j = 0; j < n; ++j) {
    __m256d weight = _mm256_setzero_pd();
    for (std::size_t kk = 0; kk < k; ++kk)
      weight =
          _mm256_add_pd(weight, _mm256_mul_pd(gradient[kk], _mm256_set1_pd(noise_map[kk * n + j])));
    const __m256d noise2 = (j >= model.pre_begin && j < model.pre_end) ? pre2 : fit2;
    weight = _mm256_div_pd(weight, step);
    variance = _mm256_add_pd(variance, _mm256_mul_pd(_mm256_mul_pd(noise2, weight), weight));
  }
  _mm256_storeu_pd(out, variance);
}

void variances_avx2(const LcfNoiseModel& model, std::span<const LcfNoisePixel> pixels,
                    std::span<double> variance) {
  std::size_t p = 0;
  for (; p + 4 <= pixels.size(); p += 4)
    variances4_avx2(model, pixels.data() + p, variance.data() + p);
  plain::lcf_valence_variances(model, pixels.subspan(p), variance.subspan(p));
}

}  // namespace

namespace detail {
LcfVariancesFn lcf_valence_variances_for(Isa isa) {
  return choose<LcfVariancesFn>(isa, plain::lcf_valence_variances, variances_avx2);
}
}  // namespace detail

void lcf_valence_variances(const LcfNoiseModel& model, std::span<const LcfNoisePixel> pixels,
                           std::span<double> variance) {
  static const detail::LcfVariancesFn chosen = detail::lcf_valence_variances_for(active_isa());
  chosen(model, pixels, variance);
}

}  // namespace xanesmap::kernels
