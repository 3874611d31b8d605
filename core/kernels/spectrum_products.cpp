#include "core/kernels/spectrum_products.hpp"

#include <immintrin.h>

#include <cstring>
#include <vector>

#include "core/kernels/prefetch.hpp"

namespace xanesmap::kernels {

namespace {

// spectrum_row_sums in two-double vectors (SSE2, every x86-64): lane 0 of each accumulator
// holds the real parts' sum, lane 1 the imaginary parts'; two accumulators per table (even and
// odd complex index), added at the end, then a last odd complex value.
using Lanes = double __attribute__((vector_size(16)));

inline Lanes load_lanes(const double* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline Lanes load_lanes(const float* p) {
  using FloatPair = float __attribute__((vector_size(8)));
  FloatPair v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, Lanes);
}

template <int G, class T>
void row_sums_sse2(const T* q, std::size_t n2, const double* const* tables, double* even,
                   double* odd) {
  Lanes acc0[G] = {}, acc1[G] = {};
  std::size_t i = 0;
  for (; i + 4 <= n2; i += 4) {
    const Lanes v0 = load_lanes(q + i), v1 = load_lanes(q + i + 2);
    for (int g = 0; g < G; ++g) {
      acc0[g] += v0 * load_lanes(tables[g] + i);
      acc1[g] += v1 * load_lanes(tables[g] + i + 2);
    }
  }
  for (int g = 0; g < G; ++g) {
    Lanes sum = acc0[g] + acc1[g];
    if (i < n2)
      sum += load_lanes(q + i) * load_lanes(tables[g] + i);  // n2 is even: one complex left
    even[g] = sum[0];
    odd[g] = sum[1];
  }
}

// The same with four-double AVX2 vectors (lanes 0 and 2 even, 1 and 3 odd): one lane per
// number's residue mod 4 in the first accumulator, mod 8 across the two. Multiplications and
// additions stay separate operations (no fused multiply-add), as in the SSE2 version. The
// passes read the spectra from memory while doing much arithmetic per byte: a cache hint
// 8 KB ahead per 64 bytes read (kernels::prefetch_ahead says why).
using Lanes4 = double __attribute__((vector_size(32)));

__attribute__((target("avx2"))) inline Lanes4 load_lanes4(const double* p) {
  Lanes4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((target("avx2"))) inline Lanes4 load_lanes4(const float* p) {
  using FloatQuad = float __attribute__((vector_size(16)));
  FloatQuad v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, Lanes4);
}

template <int G, class T>
__attribute__((target("avx2"))) void row_sums_avx2(const T* q, std::size_t n2,
                                                   const double* const* tables, double* even,
                                                   double* odd) {
  Lanes4 acc0[G] = {}, acc1[G] = {};
  std::size_t i = 0;
  for (; i + 8 <= n2; i += 8) {
    if (i % (64 / sizeof(T)) == 0) prefetch_ahead(q + i);  // one line per 64 bytes of q
    const Lanes4 v0 = load_lanes4(q + i), v1 = load_lanes4(q + i + 4);
    for (int g = 0; g < G; ++g) {
      acc0[g] += v0 * load_lanes4(tables[g] + i);
      acc1[g] += v1 * load_lanes4(tables[g] + i + 4);
    }
  }
  for (; i + 4 <= n2; i += 4) {
    const Lanes4 v0 = load_lanes4(q + i);
    for (int g = 0; g < G; ++g) acc0[g] += v0 * load_lanes4(tables[g] + i);
  }
  for (int g = 0; g < G; ++g) {
    const Lanes4 sum = acc0[g] + acc1[g];
    even[g] = sum[0] + sum[2];
    odd[g] = sum[1] + sum[3];
    for (std::size_t k = i; k < n2; k += 2) {  // n2 is even: at most one complex left
      even[g] += static_cast<double>(q[k]) * tables[g][k];
      odd[g] += static_cast<double>(q[k + 1]) * tables[g][k + 1];
    }
  }
}

// weighted_row's loop, element by element (the plain version, and the tail of the AVX2 one):
// c in [begin, end).
inline void weighted_row_scalar(const CrossPowerRow& in, std::size_t begin, double* product,
                                float* o) {
  const float* a = in.moving;
  const float* b = in.reference;
  for (std::size_t c = begin; c < in.count; ++c) {
    double re, im;
    conj_product(a, b, c, re, im);
    if (product) product[2 * c] = re, product[2 * c + 1] = im;
    if (in.gradient) {
      const double g = in.k_grad * (in.fy2 + in.fx2[c]);
      re *= g, im *= g;
    }
    const double g = in.gy * in.gx[c];
    o[2 * c] = static_cast<float>(re * g);
    o[2 * c + 1] = static_cast<float>(im * g);
  }
}

// The same loop, 4 complex values at a time in AVX2: the same double operations on the same
// operands as weighted_row_scalar (products and sums of two terms; a sum or product of two terms
// is the same whichever operand comes first), so the values are identical bit for bit.
__attribute__((target("avx2"))) void weighted_row_avx2(const CrossPowerRow& in, double* product,
                                                       float* o) {
  const float* a = in.moving;
  const float* b = in.reference;
  const std::size_t n = in.count;
  const __m256d vgy = _mm256_set1_pd(in.gy), vfy2 = _mm256_set1_pd(in.fy2),
                vk = _mm256_set1_pd(in.k_grad);
  std::size_t c = 0;
  for (; c + 4 <= n; c += 4) {
    if (c % 8 == 0)
      prefetch_ahead(a + 2 * c), prefetch_ahead(b + 2 * c);  // one line of each per 8 columns
    const __m128 a4lo = _mm_loadu_ps(a + 2 * c), a4hi = _mm_loadu_ps(a + 2 * c + 4);
    const __m128 b4lo = _mm_loadu_ps(b + 2 * c), b4hi = _mm_loadu_ps(b + 2 * c + 4);
    // [ar0 ai0 ar1 ai1] and [ar2 ai2 ar3 ai3] in double; the same for b.
    const __m256d alo = _mm256_cvtps_pd(a4lo), ahi = _mm256_cvtps_pd(a4hi);
    const __m256d blo = _mm256_cvtps_pd(b4lo), bhi = _mm256_cvtps_pd(b4hi);
    // re = ar br + ai bi: pairwise sums of a * b.  im = ai br - ar bi: pairwise differences of
    // (ai, ar) * (br, bi).  hadd/hsub give [k0 k2 k1 k3] per pair of inputs.
    const __m256d re = _mm256_hadd_pd(_mm256_mul_pd(alo, blo), _mm256_mul_pd(ahi, bhi));
    const __m256d im = _mm256_hsub_pd(_mm256_mul_pd(_mm256_permute_pd(alo, 0b0101), blo),
                                      _mm256_mul_pd(_mm256_permute_pd(ahi, 0b0101), bhi));
    // Interleaved again: [re0 im0 re1 im1], [re2 im2 re3 im3].
    __m256d plo = _mm256_unpacklo_pd(re, im), phi = _mm256_unpackhi_pd(re, im);
    if (product) _mm256_storeu_pd(product + 2 * c, plo), _mm256_storeu_pd(product + 2 * c + 4, phi);
    if (in.gradient) {
      const __m256d g = _mm256_mul_pd(vk, _mm256_add_pd(vfy2, _mm256_loadu_pd(in.fx2 + c)));
      plo = _mm256_mul_pd(plo, _mm256_permute4x64_pd(g, 0b01010000));
      phi = _mm256_mul_pd(phi, _mm256_permute4x64_pd(g, 0b11111010));
    }
    const __m256d g = _mm256_mul_pd(vgy, _mm256_loadu_pd(in.gx + c));
    const __m128 olo = _mm256_cvtpd_ps(_mm256_mul_pd(plo, _mm256_permute4x64_pd(g, 0b01010000)));
    const __m128 ohi = _mm256_cvtpd_ps(_mm256_mul_pd(phi, _mm256_permute4x64_pd(g, 0b11111010)));
    _mm_storeu_ps(o + 2 * c, olo);
    _mm_storeu_ps(o + 2 * c + 4, ohi);
  }
  weighted_row_scalar(in, c, product, o);
}

// climb_row_sums for NT tables, in AVX2. Real and imaginary parts are taken apart
// (4 columns per vector), so that each table is read once per column, not duplicated, and the
// row is never stored. The bits are those of weighted_row_avx2 followed by row_sums_avx2<6> (and
// of the plain products followed by row_sums_avx2<2>):
//  - the same double operations on the same operands per column (products of the conjugate
//    product, low-pass and gradient factors, the rounding of the weighted value to float);
//  - the same partial sums: row_sums_avx2 keeps one lane per column residue mod 4 (its two
//    accumulators hold residues 0, 1 and 2, 3), adds the columns of each residue in order,
//    a leftover pair to residues 0 and 1, reduces as (r0 + r2) + (r1 + r3) and adds a last odd
//    column after that. Here lane j of one vector is residue j, and the leftovers and the
//    reduction are written out in that order.
template <int NT>
__attribute__((target("avx2"))) void climb_row_avx2(const CrossPowerRow& in,
                                                    const double* const* tables, int centre,
                                                    double* even, double* odd, double* plain_even,
                                                    double* plain_odd) {
  const float* a = in.moving;
  const float* b = in.reference;
  const std::size_t n = in.count;
  const double gy = in.gy, fy2 = in.fy2, k_grad = in.k_grad;
  const double* gx = in.gx;
  const double* fx2 = in.fx2;
  const bool gradient = in.gradient;
  const __m256d vgy = _mm256_set1_pd(gy), vfy2 = _mm256_set1_pd(fy2), vk = _mm256_set1_pd(k_grad);
  __m256d wre[NT], wim[NT], pre[2], pim[2];
  for (int t = 0; t < NT; ++t) wre[t] = wim[t] = _mm256_setzero_pd();
  pre[0] = pre[1] = pim[0] = pim[1] = _mm256_setzero_pd();
  const double* centre_cos = tables[2 * centre];
  const double* centre_sin = tables[2 * centre + 1];
  // Two sweeps over the row, so that the accumulators stay in the 16 vector registers (all 16
  // of them at once spill to the stack, and every addition then waits on a store): the first
  // makes the weighted values, keeps them in a row buffer (L1) and sums the first NA tables and
  // the plain centre; the second sums the other tables from the buffer. Each accumulator takes
  // its terms in the same order as in one sweep: the same sums.
  constexpr int NA = NT < 2 ? NT : 2;
  thread_local std::vector<double> row_buffer;
  if (row_buffer.size() < 2 * n) row_buffer.resize(2 * n);
  double* const buf_re = row_buffer.data();
  double* const buf_im = row_buffer.data() + n;
  std::size_t k = 0;
  for (; k + 4 <= n; k += 4) {
    if (k % 8 == 0)
      prefetch_ahead(a + 2 * k), prefetch_ahead(b + 2 * k);  // one line of each per 8 columns
    const __m128 alo = _mm_loadu_ps(a + 2 * k), ahi = _mm_loadu_ps(a + 2 * k + 4);
    const __m128 blo = _mm_loadu_ps(b + 2 * k), bhi = _mm_loadu_ps(b + 2 * k + 4);
    const __m256d ar = _mm256_cvtps_pd(_mm_shuffle_ps(alo, ahi, _MM_SHUFFLE(2, 0, 2, 0)));
    const __m256d ai = _mm256_cvtps_pd(_mm_shuffle_ps(alo, ahi, _MM_SHUFFLE(3, 1, 3, 1)));
    const __m256d br = _mm256_cvtps_pd(_mm_shuffle_ps(blo, bhi, _MM_SHUFFLE(2, 0, 2, 0)));
    const __m256d bi = _mm256_cvtps_pd(_mm_shuffle_ps(blo, bhi, _MM_SHUFFLE(3, 1, 3, 1)));
    // conj_product: re = ar br + ai bi, im = ai br - ar bi.
    const __m256d pr = _mm256_add_pd(_mm256_mul_pd(ar, br), _mm256_mul_pd(ai, bi));
    const __m256d pi = _mm256_sub_pd(_mm256_mul_pd(ai, br), _mm256_mul_pd(ar, bi));
    __m256d wr = pr, wi = pi;
    if (gradient) {
      const __m256d g = _mm256_mul_pd(vk, _mm256_add_pd(vfy2, _mm256_loadu_pd(fx2 + k)));
      wr = _mm256_mul_pd(wr, g), wi = _mm256_mul_pd(wi, g);
    }
    const __m256d g = _mm256_mul_pd(vgy, _mm256_loadu_pd(gx + k));
    wr = _mm256_cvtps_pd(_mm256_cvtpd_ps(_mm256_mul_pd(wr, g)));
    wi = _mm256_cvtps_pd(_mm256_cvtpd_ps(_mm256_mul_pd(wi, g)));
    if constexpr (NA < NT) _mm256_storeu_pd(buf_re + k, wr), _mm256_storeu_pd(buf_im + k, wi);
    for (int t = 0; t < NA; ++t) {
      const __m256d tv = _mm256_loadu_pd(tables[t] + k);
      wre[t] = _mm256_add_pd(wre[t], _mm256_mul_pd(wr, tv));
      wim[t] = _mm256_add_pd(wim[t], _mm256_mul_pd(wi, tv));
    }
    const __m256d tc = _mm256_loadu_pd(centre_cos + k), ts = _mm256_loadu_pd(centre_sin + k);
    pre[0] = _mm256_add_pd(pre[0], _mm256_mul_pd(pr, tc));
    pim[0] = _mm256_add_pd(pim[0], _mm256_mul_pd(pi, tc));
    pre[1] = _mm256_add_pd(pre[1], _mm256_mul_pd(pr, ts));
    pim[1] = _mm256_add_pd(pim[1], _mm256_mul_pd(pi, ts));
  }
  if constexpr (NA < NT) {
    for (std::size_t q = 0; q + 4 <= k; q += 4) {
      const __m256d wr = _mm256_loadu_pd(buf_re + q), wi = _mm256_loadu_pd(buf_im + q);
      for (int t = NA; t < NT; ++t) {
        const __m256d tv = _mm256_loadu_pd(tables[t] + q);
        wre[t] = _mm256_add_pd(wre[t], _mm256_mul_pd(wr, tv));
        wim[t] = _mm256_add_pd(wim[t], _mm256_mul_pd(wi, tv));
      }
    }
  }
  // The leftover columns, element by element (weighted_row_scalar's operations).
  double lre[3], lim[3], lwr[3], lwi[3];
  const std::size_t left = n - k;
  for (std::size_t j = 0; j < left; ++j) {
    const std::size_t c = k + j;
    double re, im;
    conj_product(a, b, c, re, im);
    lre[j] = re, lim[j] = im;
    if (gradient) {
      const double g = k_grad * (fy2 + fx2[c]);
      re *= g, im *= g;
    }
    const double g = gy * gx[c];
    lwr[j] = static_cast<float>(re * g), lwi[j] = static_cast<float>(im * g);
  }
  // Reduction in row_sums_avx2's order, leftovers included.
  auto finish = [&](const double* re_acc, const double* im_acc, const double* table,
                    const double* vre, const double* vim, double& e, double& o) {
    double r[4] = {re_acc[0], re_acc[1], re_acc[2], re_acc[3]},
           i[4] = {im_acc[0], im_acc[1], im_acc[2], im_acc[3]};
    std::size_t j = 0;
    if (left >= 2) {
      r[0] += vre[0] * table[k], i[0] += vim[0] * table[k];
      r[1] += vre[1] * table[k + 1], i[1] += vim[1] * table[k + 1];
      j = 2;
    }
    e = (r[0] + r[2]) + (r[1] + r[3]);
    o = (i[0] + i[2]) + (i[1] + i[3]);
    if (j < left) e += vre[j] * table[k + j], o += vim[j] * table[k + j];
  };
  alignas(32) double sums[2 * NT + 4][4];
  for (int t = 0; t < NT; ++t)
    _mm256_store_pd(sums[2 * t], wre[t]), _mm256_store_pd(sums[2 * t + 1], wim[t]);
  for (int t = 0; t < 2; ++t)
    _mm256_store_pd(sums[2 * NT + 2 * t], pre[t]),
        _mm256_store_pd(sums[2 * NT + 2 * t + 1], pim[t]);
  for (int t = 0; t < NT; ++t)
    finish(sums[2 * t], sums[2 * t + 1], tables[t], lwr, lwi, even[t], odd[t]);
  finish(sums[2 * NT], sums[2 * NT + 1], centre_cos, lre, lim, plain_even[0], plain_odd[0]);
  finish(sums[2 * NT + 2], sums[2 * NT + 3], centre_sin, lre, lim, plain_even[1], plain_odd[1]);
}

// spectrum_row_sums' plain order for one table given once per column (not duplicated): the
// real parts' and the imaginary parts' sums each in two accumulators (even and odd column),
// added, then a last odd column: row_sums_sse2's lanes written out.
inline void pair_sums_plain(const double* re, const double* im, const double* table, std::size_t n,
                            double& even, double& odd) {
  double e0 = 0.0, o0 = 0.0, e1 = 0.0, o1 = 0.0;
  std::size_t k = 0;
  for (; k + 2 <= n; k += 2) {
    e0 += re[k] * table[k], o0 += im[k] * table[k];
    e1 += re[k + 1] * table[k + 1], o1 += im[k + 1] * table[k + 1];
  }
  even = e0 + e1, odd = o0 + o1;
  if (k < n) even += re[k] * table[k], odd += im[k] * table[k];
}

// climb_row_sums in plain x86-64: the products and weighted values (rounded to float, as
// weighted_row stores them) into a row buffer of the calling thread, then the sums in
// row_sums_sse2's order.
void climb_row_plain(const CrossPowerRow& in, const double* const* tables, int n_points, int centre,
                     double* even, double* odd, double* plain_even, double* plain_odd) {
  const std::size_t n = in.count;
  thread_local std::vector<double> row_buffer;
  if (row_buffer.size() < 4 * n) row_buffer.resize(4 * n);
  double* const pr = row_buffer.data();
  double* const pi = pr + n;
  double* const wr = pi + n;
  double* const wi = wr + n;
  for (std::size_t c = 0; c < n; ++c) {
    double re, im;
    conj_product(in.moving, in.reference, c, re, im);
    pr[c] = re, pi[c] = im;
    if (in.gradient) {
      const double g = in.k_grad * (in.fy2 + in.fx2[c]);
      re *= g, im *= g;
    }
    const double g = in.gy * in.gx[c];
    wr[c] = static_cast<float>(re * g), wi[c] = static_cast<float>(im * g);
  }
  for (int t = 0; t < 2 * n_points; ++t) pair_sums_plain(wr, wi, tables[t], n, even[t], odd[t]);
  for (int t = 0; t < 2; ++t)
    pair_sums_plain(pr, pi, tables[2 * centre + t], n, plain_even[t], plain_odd[t]);
}

void climb_row_avx2_points(const CrossPowerRow& in, const double* const* tables, int n_points,
                           int centre, double* even, double* odd, double* plain_even,
                           double* plain_odd) {
  const auto kernel = n_points == 3   ? climb_row_avx2<6>
                      : n_points == 2 ? climb_row_avx2<4>
                                      : climb_row_avx2<2>;
  kernel(in, tables, centre, even, odd, plain_even, plain_odd);
}

}  // namespace

namespace plain {
template <int G, class T>
void spectrum_row_sums(const T* q, std::size_t n2, const double* const* tables, double* even,
                       double* odd) {
  row_sums_sse2<G>(q, n2, tables, even, odd);
}
template void spectrum_row_sums<6, float>(const float*, std::size_t, const double* const*, double*,
                                          double*);
template void spectrum_row_sums<2, double>(const double*, std::size_t, const double* const*,
                                           double*, double*);

void weighted_row(const CrossPowerRow& row, double* product, float* out) {
  weighted_row_scalar(row, 0, product, out);
}

void climb_row_sums(const CrossPowerRow& row, const double* const* tables, int n_points, int centre,
                    double* even, double* odd, double* plain_even, double* plain_odd) {
  climb_row_plain(row, tables, n_points, centre, even, odd, plain_even, plain_odd);
}
}  // namespace plain

namespace detail {
template <int G, class T>
RowSumsFn<G, T> spectrum_row_sums_for(Isa isa) {
  return choose<RowSumsFn<G, T>>(isa, row_sums_sse2<G, T>, row_sums_avx2<G, T>);
}
template RowSumsFn<6, float> spectrum_row_sums_for<6, float>(Isa);
template RowSumsFn<2, double> spectrum_row_sums_for<2, double>(Isa);

WeightedRowFn weighted_row_for(Isa isa) {
  return choose<WeightedRowFn>(isa, plain::weighted_row, weighted_row_avx2);
}

ClimbRowSumsFn climb_row_sums_for(Isa isa) {
  return choose<ClimbRowSumsFn>(isa, plain::climb_row_sums, climb_row_avx2_points);
}
}  // namespace detail

template <int G, class T>
void spectrum_row_sums(const T* q, std::size_t n2, const double* const* tables, double* even,
                       double* odd) {
  static const detail::RowSumsFn<G, T> chosen = detail::spectrum_row_sums_for<G, T>(active_isa());
  chosen(q, n2, tables, even, odd);
}
template void spectrum_row_sums<6, float>(const float*, std::size_t, const double* const*, double*,
                                          double*);
template void spectrum_row_sums<2, double>(const double*, std::size_t, const double* const*,
                                           double*, double*);

void weighted_row(const CrossPowerRow& row, double* product, float* out) {
  static const detail::WeightedRowFn chosen = detail::weighted_row_for(active_isa());
  chosen(row, product, out);
}

void climb_row_sums(const CrossPowerRow& row, const double* const* tables, int n_points, int centre,
                    double* even, double* odd, double* plain_even, double* plain_odd) {
  static const detail::ClimbRowSumsFn chosen = detail::climb_row_sums_for(active_isa());
  chosen(row, tables, n_points, centre, even, odd, plain_even, plain_odd);
}

}  // namespace xanesmap::kernels
