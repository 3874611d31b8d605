#include "core/kernels/slope_groups.hpp"

#include <immintrin.h>

namespace xanesmap::kernels {

namespace plain {
void four_slopes(const double* gw, const double* y, std::size_t count, double* out) {
  double d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0;
  for (std::size_t j = 0; j < count; ++j) {
    const double* w = gw + 4 * j;
    const double* v = y + j;
    d0 += w[0] * v[0];
    d1 += w[1] * v[1];
    d2 += w[2] * v[2];
    d3 += w[3] * v[3];
  }
  out[0] = d0, out[1] = d1, out[2] = d2, out[3] = d3;
}
}  // namespace plain

namespace {

// One four-double vector, lane q stencil q: a multiplication and an addition per weight (no
// fused multiply-add), as the plain version.
__attribute__((target("avx2"))) void four_slopes_avx2(const double* gw, const double* y,
                                                      std::size_t count, double* out) {
  __m256d d = _mm256_setzero_pd();
  for (std::size_t j = 0; j < count; ++j)
    d = _mm256_add_pd(d, _mm256_mul_pd(_mm256_loadu_pd(gw + 4 * j), _mm256_loadu_pd(y + j)));
  _mm256_storeu_pd(out, d);
}

}  // namespace

namespace detail {
FourSlopesFn four_slopes_for(Isa isa) {
  return choose<FourSlopesFn>(isa, plain::four_slopes, four_slopes_avx2);
}
}  // namespace detail

}  // namespace xanesmap::kernels
