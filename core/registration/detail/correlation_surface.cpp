#include "core/registration/detail/correlation_surface.hpp"

#include "core/kernels/cpu_features.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <stdexcept>

namespace xanesmap::correlation {

namespace {

constexpr double two_pi = 2.0 * std::numbers::pi;

// Sums over a row of a half spectrum, vectorized. A row of n complex values is read as 2n
// doubles (re, im, re, im, ...); a "table" holds one real value per frequency, duplicated
// (t[2k] = t[2k + 1]). For each table t the element-wise products q[i] t[i] are summed in
// the lanes of two-double vectors: lane 0 holds sum_k re(q_k) t_k (`even`), lane 1
// sum_k im(q_k) t_k (`odd`). Complex products then follow from real sums: for e = er + i ei,
//   sum q e = (even(er) - odd(ei)) + i (even(ei) + odd(er)).
// G tables share one read of the row. Two-double vectors (SSE2, every x86-64) and two
// accumulators per table, so that the additions of one chain do not wait on each other.
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
void row_sums_sse2(const T* q, std::size_t n2, const double* const* tables, double* even, double* odd) {
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
    if (i < n2) sum += load_lanes(q + i) * load_lanes(tables[g] + i);  // n2 is even: one complex left
    even[g] = sum[0];
    odd[g] = sum[1];
  }
}

// The same with four-double AVX2 vectors (lanes 0 and 2 even, 1 and 3 odd), for processors that
// have them (chosen at run time: the build itself targets plain x86-64). Multiplications and
// additions stay separate operations (no fused multiply-add), as in the SSE2 version.
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
__attribute__((target("avx2"))) void row_sums_avx2(const T* q, std::size_t n2, const double* const* tables,
                                                   double* even, double* odd) {
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

template <int G, class T>
void row_sums(const T* q, std::size_t n2, const double* const* tables, double* even, double* odd) {
  if (has_avx2())
    row_sums_avx2<G>(q, n2, tables, even, odd);
  else
    row_sums_sse2<G>(q, n2, tables, even, odd);
}

// The x factors of the surface at xs: per x, the tables weight cos(2 pi kx x / cols) and
// weight sin(...), duplicated (see row_sums); weight 2 for the columns standing for a conjugate
// pair, 1 for kx = 0, and the Nyquist column of an even width a cosine of pi x (split evenly
// between +-cols/2). Table 2l is x_l's cosine, 2l + 1 its sine.
std::vector<double> x_tables(int cols, std::span<const double> xs) {
  const int nh = fft::half_columns(cols);
  const auto n2 = 2 * static_cast<std::size_t>(nh);
  std::vector<double> t(2 * xs.size() * n2);
  for (std::size_t l = 0; l < xs.size(); ++l) {
    double* c = t.data() + 2 * l * n2;
    double* s = c + n2;
    for (int k = 0; k < nh; ++k) {
      double vc = 0.0, vs = 0.0;
      if (cols % 2 == 0 && k == cols / 2) {
        vc = std::cos(std::numbers::pi * xs[l]);
      } else {
        const double weight = k == 0 ? 1.0 : 2.0, f = two_pi * k / cols;
        vc = weight * std::cos(f * xs[l]), vs = weight * std::sin(f * xs[l]);
      }
      const auto i = 2 * static_cast<std::size_t>(k);
      c[i] = c[i + 1] = vc;
      s[i] = s[i + 1] = vs;
    }
  }
  return t;
}

// a conj(b) in double for the k-th values of two float half-spectrum rows (re, im interleaved):
// the one product every pass over two spectra uses, so that they all agree bit for bit.
inline void conj_product(const float* a, const float* b, std::size_t k, double& re, double& im) {
  const double ar = a[2 * k], ai = a[2 * k + 1], br = b[2 * k], bi = b[2 * k + 1];
  re = ar * br + ai * bi;
  im = ai * br - ar * bi;
}

// The y factor exp(2 pi i ky y / rows) of row r (a cosine of pi y on the Nyquist row).
inline void y_factor(int r, int rows, double y, double& re, double& im) {
  if (rows % 2 == 0 && r == rows / 2) {
    re = std::cos(std::numbers::pi * y), im = 0.0;
  } else {
    const double f = two_pi * signed_index(r, rows) / rows;
    re = std::cos(f * y), im = std::sin(f * y);
  }
}

}  // namespace

namespace {

// evaluate_surface over rows given by get_row(r) (2 half-columns floats each, in row order).
template <class GetRow>
std::vector<double> evaluate_rows(int rows, int cols, GetRow get_row, std::span<const double> ys,
                                  std::span<const double> xs) {
  const std::size_t nj = ys.size(), nl = xs.size();
  const auto n2 = 2 * static_cast<std::size_t>(fft::half_columns(cols));
  // Per row r and x_l: S(r, l) = sum_kx weight R(r, kx) exp(2 pi i kx x_l / cols); then
  // c(j, l) = (1/N) sum_r Re(exp(2 pi i ky y_j / rows) S(r, l)). Tables in groups of 6 (one
  // read of the row each), the last group padded with zero tables.
  constexpr int G = 6;
  std::vector<double> tables = x_tables(cols, xs);
  const std::size_t n_tables = 2 * nl, groups = (n_tables + G - 1) / G;
  tables.resize(groups * G * n2, 0.0);
  std::vector<const double*> table_ptr(groups * G);
  for (std::size_t t = 0; t < table_ptr.size(); ++t) table_ptr[t] = tables.data() + t * n2;
  std::vector<double> even(groups * G), odd(groups * G), ey_re(nj), ey_im(nj);
  std::vector<double> out(nj * nl, 0.0);
  for (int r = 0; r < rows; ++r) {
    const float* q = get_row(r);
    for (std::size_t g = 0; g < groups; ++g)
      row_sums<G>(q, n2, table_ptr.data() + g * G, even.data() + g * G, odd.data() + g * G);
    for (std::size_t j = 0; j < nj; ++j) y_factor(r, rows, ys[j], ey_re[j], ey_im[j]);
    for (std::size_t l = 0; l < nl; ++l) {
      const double s_re = even[2 * l] - odd[2 * l + 1], s_im = even[2 * l + 1] + odd[2 * l];
      for (std::size_t j = 0; j < nj; ++j) out[j * nl + l] += ey_re[j] * s_re - ey_im[j] * s_im;
    }
  }
  const double scale = 1.0 / (static_cast<double>(rows) * cols);
  for (double& v : out) v *= scale;
  return out;
}

// correlation_at's sums, one row at a time (rows must come in order 0, 1, ...).
class PlainCorrelation {
 public:
  PlainCorrelation(int rows, int cols, double y, double x)
      : rows_(rows), cols_(cols), y_(y), x_(x), tables_(x_tables(cols, std::span<const double>(&x_, 1))) {}
  void add_row(int row, const double* product) {
    const auto n2 = 2 * static_cast<std::size_t>(fft::half_columns(cols_));
    const double* table_ptr[2] = {tables_.data(), tables_.data() + n2};
    double even[2], odd[2];
    row_sums<2>(product, n2, table_ptr, even, odd);
    const double s_re = even[0] - odd[1], s_im = even[1] + odd[0];
    double ey_re = 0.0, ey_im = 0.0;
    y_factor(row, rows_, y_, ey_re, ey_im);
    total_ += ey_re * s_re - ey_im * s_im;
  }
  double value() const { return total_ / (static_cast<double>(rows_) * cols_); }

 private:
  int rows_, cols_;
  double y_, x_;
  std::vector<double> tables_;
  double total_ = 0.0;
};

}  // namespace

std::vector<double> evaluate_surface(const HalfSpectrum& R, std::span<const double> ys,
                                     std::span<const double> xs) {
  return evaluate_rows(R.rows, R.cols, [&](int r) { return reinterpret_cast<const float*>(R.row(r)); }, ys, xs);
}

double correlation_at(const HalfSpectrum& m, const HalfSpectrum& r, double y, double x) {
  const int rows = m.rows, nh = m.half();
  const auto n2 = 2 * static_cast<std::size_t>(nh);
  PlainCorrelation plain(rows, m.cols, y, x);
  std::vector<double> product(n2);
  for (int row = 0; row < rows; ++row) {
    const auto* a = reinterpret_cast<const float*>(m.row(row));
    const auto* b = reinterpret_cast<const float*>(r.row(row));
    // a conj(b) in double, element by element (the row stays in cache for the sums).
    for (std::size_t i = 0; i < n2; i += 2) conj_product(a, b, i / 2, product[i], product[i + 1]);
    plain.add_row(row, product.data());
  }
  return plain.value();
}

WeightedRows::WeightedRows(const HalfSpectrum& m, const HalfSpectrum& r, const TranslationOptions& o)
    : m_(m), r_(r), gradient_(o.weighting == CorrelationWeighting::gradient), lowpass_(o.lowpass_sigma_px > 0.0) {
  k_low_ = -4.0 * std::numbers::pi * std::numbers::pi * o.lowpass_sigma_px * o.lowpass_sigma_px;
  k_grad_ = 4.0 * std::numbers::pi * std::numbers::pi;
  const auto nhs = static_cast<std::size_t>(m.half());
  gx_.resize(nhs), fx2_.resize(nhs);
  for (std::size_t c = 0; c < nhs; ++c) {
    const double f = static_cast<double>(signed_index(static_cast<int>(c), m.cols)) / m.cols;
    gx_[c] = lowpass_ ? std::exp(k_low_ * f * f) : 1.0;
    fx2_[c] = f * f;
  }
}

bool WeightedRows::supports(const TranslationOptions& o) {
  return o.weighting == CorrelationWeighting::plain || o.weighting == CorrelationWeighting::gradient;
}

namespace {

// WeightedRows::row's loop, element by element (the plain x86-64 version, and the tail of the
// AVX2 one): c in [begin, end).
inline void weighted_row_scalar(const float* a, const float* b, std::size_t begin, std::size_t end, double gy,
                                double fy2, const double* gx, const double* fx2, bool gradient, double k_grad,
                                double* product, float* o) {
  for (std::size_t c = begin; c < end; ++c) {
    double re, im;
    conj_product(a, b, c, re, im);
    if (product) product[2 * c] = re, product[2 * c + 1] = im;
    if (gradient) {
      const double g = k_grad * (fy2 + fx2[c]);
      re *= g, im *= g;
    }
    const double g = gy * gx[c];
    o[2 * c] = static_cast<float>(re * g);
    o[2 * c + 1] = static_cast<float>(im * g);
  }
}

// The same loop, 4 complex values at a time in AVX2: the same double operations on the same
// operands as weighted_row_scalar (products and sums of two terms; a sum or product of two terms
// is the same whichever operand comes first), so the values are identical bit for bit (tested).
__attribute__((target("avx2"))) void weighted_row_avx2(const float* a, const float* b, std::size_t n, double gy,
                                                       double fy2, const double* gx, const double* fx2, bool gradient,
                                                       double k_grad, double* product, float* o) {
  const __m256d vgy = _mm256_set1_pd(gy), vfy2 = _mm256_set1_pd(fy2), vk = _mm256_set1_pd(k_grad);
  std::size_t c = 0;
  for (; c + 4 <= n; c += 4) {
    if (c % 8 == 0) prefetch_ahead(a + 2 * c), prefetch_ahead(b + 2 * c);  // one line of each per 8 columns
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
    if (gradient) {
      const __m256d g = _mm256_mul_pd(vk, _mm256_add_pd(vfy2, _mm256_loadu_pd(fx2 + c)));
      plo = _mm256_mul_pd(plo, _mm256_permute4x64_pd(g, 0b01010000));
      phi = _mm256_mul_pd(phi, _mm256_permute4x64_pd(g, 0b11111010));
    }
    const __m256d g = _mm256_mul_pd(vgy, _mm256_loadu_pd(gx + c));
    const __m128 olo = _mm256_cvtpd_ps(_mm256_mul_pd(plo, _mm256_permute4x64_pd(g, 0b01010000)));
    const __m128 ohi = _mm256_cvtpd_ps(_mm256_mul_pd(phi, _mm256_permute4x64_pd(g, 0b11111010)));
    _mm_storeu_ps(o + 2 * c, olo);
    _mm_storeu_ps(o + 2 * c + 4, ohi);
  }
  weighted_row_scalar(a, b, c, n, gy, fy2, gx, fx2, gradient, k_grad, product, o);
}

// WeightedRows::climb_row_sums for NT tables, in AVX2. Real and imaginary parts are taken apart
// (4 columns per vector), so that each table is read once per column, not duplicated, and the
// row is never stored. The bits are those of weighted_row_avx2 followed by row_sums_avx2:
//  - the same double operations on the same operands per column (products of the conjugate
//    product, low-pass and gradient factors, the rounding of the weighted value to float);
//  - the same partial sums: row_sums_avx2 keeps one lane per column residue mod 4 (its two
//    accumulators hold residues 0, 1 and 2, 3), adds the columns of each residue in order,
//    a leftover pair to residues 0 and 1, reduces as (r0 + r2) + (r1 + r3) and adds a last odd
//    column after that. Here lane j of one vector is residue j, and the leftovers and the
//    reduction are written out in that order.
template <int NT>
__attribute__((target("avx2"))) void climb_row_avx2(const float* a, const float* b, std::size_t n, double gy,
                                                    double fy2, const double* gx, const double* fx2, bool gradient,
                                                    double k_grad, const double* const* tables, int centre,
                                                    double* even, double* odd, double* plain_even,
                                                    double* plain_odd) {
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
    if (k % 8 == 0) prefetch_ahead(a + 2 * k), prefetch_ahead(b + 2 * k);  // one line of each per 8 columns
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
  auto finish = [&](const double* re_acc, const double* im_acc, const double* table, const double* vre,
                    const double* vim, double& e, double& o) {
    double r[4] = {re_acc[0], re_acc[1], re_acc[2], re_acc[3]}, i[4] = {im_acc[0], im_acc[1], im_acc[2], im_acc[3]};
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
  for (int t = 0; t < NT; ++t) _mm256_store_pd(sums[2 * t], wre[t]), _mm256_store_pd(sums[2 * t + 1], wim[t]);
  for (int t = 0; t < 2; ++t) _mm256_store_pd(sums[2 * NT + 2 * t], pre[t]), _mm256_store_pd(sums[2 * NT + 2 * t + 1], pim[t]);
  for (int t = 0; t < NT; ++t) finish(sums[2 * t], sums[2 * t + 1], tables[t], lwr, lwi, even[t], odd[t]);
  finish(sums[2 * NT], sums[2 * NT + 1], centre_cos, lre, lim, plain_even[0], plain_odd[0]);
  finish(sums[2 * NT + 2], sums[2 * NT + 3], centre_sin, lre, lim, plain_even[1], plain_odd[1]);
}

}  // namespace

void WeightedRows::row(int row, int count, double* product, std::complex<float>* out) const {
  const double fy = static_cast<double>(signed_index(row, m_.rows)) / m_.rows;
  const double gy = lowpass_ ? std::exp(k_low_ * fy * fy) : 1.0;
  const auto* a = reinterpret_cast<const float*>(m_.row(row));
  const auto* b = reinterpret_cast<const float*>(r_.row(row));
  auto* o = reinterpret_cast<float*>(out);
  const auto n = static_cast<std::size_t>(count);
  if (has_avx2())
    weighted_row_avx2(a, b, n, gy, fy * fy, gx_.data(), fx2_.data(), gradient_, k_grad_, product, o);
  else
    weighted_row_scalar(a, b, 0, n, gy, fy * fy, gx_.data(), fx2_.data(), gradient_, k_grad_, product, o);
}

void WeightedRows::climb_row_sums(int row, const double* const* tables, int n_points, int centre, double* even,
                                  double* odd, double* plain_even, double* plain_odd) const {
  const double fy = static_cast<double>(signed_index(row, m_.rows)) / m_.rows;
  const double gy = lowpass_ ? std::exp(k_low_ * fy * fy) : 1.0;
  const auto* a = reinterpret_cast<const float*>(m_.row(row));
  const auto* b = reinterpret_cast<const float*>(r_.row(row));
  const auto n = static_cast<std::size_t>(m_.half());
  if (n_points < 1 || n_points > 3 || centre < 0 || centre >= n_points)
    throw std::invalid_argument("climb_row_sums: 1-3 points, the centre one of them");
  const auto kernel = n_points == 3 ? climb_row_avx2<6> : n_points == 2 ? climb_row_avx2<4> : climb_row_avx2<2>;
  kernel(a, b, n, gy, fy * fy, gx_.data(), fx2_.data(), gradient_, k_grad_, tables, centre, even, odd, plain_even,
         plain_odd);
}

void cross_power(const HalfSpectrum& m, const HalfSpectrum& r, const TranslationOptions& o,
                 std::complex<float>* out) {
  const int rows = m.rows, cols = m.cols, nh = m.half();
  const auto nhs = static_cast<std::size_t>(nh);
  if (WeightedRows::supports(o)) {  // a weight fixed per frequency: one pass
    const WeightedRows weighted(m, r, o);
    for (int row = 0; row < rows; ++row) weighted.row(row, nh, nullptr, out + static_cast<std::size_t>(row) * nhs);
    return;
  }
  // Whitened (phase, partial): the largest |R|^2 first (the floor), then the weights.
  const double p = o.weighting == CorrelationWeighting::phase ? 1.0 : o.partial_exponent;
  auto product = [&](int row, std::size_t k, double& re, double& im) {
    conj_product(reinterpret_cast<const float*>(m.row(row)), reinterpret_cast<const float*>(r.row(row)), k, re, im);
  };
  double max2 = 0.0;
  for (int row = 0; row < rows; ++row)
    for (std::size_t k = 0; k < nhs; ++k) {
      double re, im;
      product(row, k, re, im);
      max2 = std::max(max2, re * re + im * im);
    }
  const double k_low =
      -4.0 * std::numbers::pi * std::numbers::pi * o.lowpass_sigma_px * o.lowpass_sigma_px;
  std::vector<double> gx(nhs);
  for (std::size_t c = 0; c < nhs; ++c) {
    const double f = static_cast<double>(signed_index(static_cast<int>(c), cols)) / cols;
    gx[c] = o.lowpass_sigma_px > 0.0 ? std::exp(k_low * f * f) : 1.0;
  }
  const double floor2 = 1e-26 * max2;
  for (int row = 0; row < rows; ++row) {
    const double fy = static_cast<double>(signed_index(row, rows)) / rows,
                 gy = o.lowpass_sigma_px > 0.0 ? std::exp(k_low * fy * fy) : 1.0;
    std::complex<float>* q = out + static_cast<std::size_t>(row) * nhs;
    for (std::size_t c = 0; c < nhs; ++c) {
      double re, im;
      product(row, c, re, im);
      const double m2 = re * re + im * im;
      const double s = (m2 > floor2 && m2 > 0.0) ? std::pow(m2, -0.5 * p) : 0.0;
      re *= s, im *= s;
      const double g = gy * gx[c];
      q[c] = {static_cast<float>(re * g), static_cast<float>(im * g)};
    }
  }
}

bool newton_peak(const HalfSpectrum& R, double& y, double& x, int iterations, double tolerance) {
  const int rows = R.rows, cols = R.cols, nh = R.half();
  const auto n2 = 2 * static_cast<std::size_t>(nh);
  // Tables (see row_sums): Ex, Ex wx, Ex wx^2 (cosine and sine each), wx = 2 pi kx / cols; the
  // Nyquist column is taken as a plain frequency here (weight 1).
  std::vector<double> tables(6 * n2);
  const double* table_ptr[6];
  for (int t = 0; t < 6; ++t) table_ptr[t] = tables.data() + static_cast<std::size_t>(t) * n2;
  for (int it = 0; it < iterations; ++it) {
    for (int k = 0; k < nh; ++k) {
      const double weight = (k == 0 || (cols % 2 == 0 && k == cols / 2)) ? 1.0 : 2.0;
      const double w = two_pi * k / cols;
      const double c = weight * std::cos(w * x), s = weight * std::sin(w * x);
      const double values[6] = {c, s, c * w, s * w, c * w * w, s * w * w};
      const auto i = 2 * static_cast<std::size_t>(k);
      for (int t = 0; t < 6; ++t) tables[static_cast<std::size_t>(t) * n2 + i] = tables[static_cast<std::size_t>(t) * n2 + i + 1] = values[t];
    }
    double gy = 0, gx = 0, hyy = 0, hxx = 0, hxy = 0;
    for (int r = 0; r < rows; ++r) {
      const double wy = two_pi * signed_index(r, rows) / rows;
      double even[6], odd[6];
      row_sums<6>(reinterpret_cast<const float*>(R.row(r)), n2, table_ptr, even, odd);
      // A_p = sum_kx R(r, kx) Ex(kx) wx^p, p = 0, 1, 2.
      const double a0r = even[0] - odd[1], a0i = even[1] + odd[0];
      const double a1r = even[2] - odd[3], a1i = even[3] + odd[2];
      const double a2r = even[4] - odd[5];
      const double ey_re = std::cos(wy * y), ey_im = std::sin(wy * y);
      // c = Re(Ey A0); each derivative d/dy brings a factor i wy, d/dx a factor i wx.
      const double b0r = ey_re * a0r - ey_im * a0i, b0i = ey_re * a0i + ey_im * a0r;
      const double b1r = ey_re * a1r - ey_im * a1i, b1i = ey_re * a1i + ey_im * a1r;
      const double b2r = ey_re * a2r - ey_im * (even[5] + odd[4]);
      gy += -wy * b0i;
      gx += -b1i;
      hyy += -wy * wy * b0r;
      hxx += -b2r;
      hxy += -wy * b1r;
    }
    const double det = hyy * hxx - hxy * hxy;
    if (!(hyy < 0.0 && det > 0.0)) return false;
    const double sy = -(hxx * gy - hxy * gx) / det, sx = -(hyy * gx - hxy * gy) / det;
    y += std::clamp(sy, -0.5, 0.5);
    x += std::clamp(sx, -0.5, 0.5);
    if (std::abs(sy) < tolerance && std::abs(sx) < tolerance) break;
  }
  return std::isfinite(y) && std::isfinite(x);
}

namespace {

// The climb of grid_peak: evaluate(ys, xs, jy, jx) gives the surface on the neighbourhood of
// (jy, jx). Returns false when no maximum was reached within the bound.
template <class Evaluate>
bool climb(Evaluate evaluate, double y0, double x0, int up, int lo, int hi, int start_jy, int start_jx,
           GridPeak& peak) {
  int jy = std::clamp(start_jy, lo, hi), jx = std::clamp(start_jx, lo, hi);
  // Each move goes to a strictly larger value, so the climb ends; the bound is a safeguard.
  for (int step = 0; step < 4 * (hi - lo + 1); ++step) {
    std::vector<double> ys, xs;
    std::vector<int> jys, jxs;
    for (int d = -1; d <= 1; ++d) {
      if (jy + d >= lo && jy + d <= hi)
        ys.push_back(grid_coordinate(y0, jy + d, up)), jys.push_back(jy + d);
      if (jx + d >= lo && jx + d <= hi)
        xs.push_back(grid_coordinate(x0, jx + d, up)), jxs.push_back(jx + d);
    }
    const std::vector<double> v = evaluate(ys, xs, jy, jx);
    // The first largest in row-major order, as the exhaustive search takes it.
    const auto at = static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
    const int by = jys[at / xs.size()], bx = jxs[at % xs.size()];
    if (by == jy && bx == jx) {
      peak = {ys[at / xs.size()], xs[at % xs.size()], v[at]};
      return true;
    }
    jy = by, jx = bx;
  }
  return false;
}

template <class Evaluate>
GridPeak exhaustive_grid(Evaluate evaluate, double y0, double x0, int up, int lo, int hi) {
  const auto n = static_cast<std::size_t>(hi - lo + 1);
  std::vector<double> ys(n), xs(n);
  for (int j = lo; j <= hi; ++j) {
    ys[static_cast<std::size_t>(j - lo)] = grid_coordinate(y0, j, up);
    xs[static_cast<std::size_t>(j - lo)] = grid_coordinate(x0, j, up);
  }
  const std::vector<double> fine = evaluate(ys, xs);
  const auto at = static_cast<std::size_t>(std::max_element(fine.begin(), fine.end()) - fine.begin());
  return {ys[at / n], xs[at % n], fine[at]};
}

}  // namespace

GridPeak grid_peak(const HalfSpectrum& R, double y0, double x0, int up, int lo, int hi,
                   bool exhaustive, int start_jy, int start_jx) {
  auto whole = [&](std::span<const double> ys, std::span<const double> xs) { return evaluate_surface(R, ys, xs); };
  GridPeak peak;
  if (!exhaustive &&
      climb([&](std::span<const double> ys, std::span<const double> xs, int, int) { return whole(ys, xs); }, y0,
            x0, up, lo, hi, start_jy, start_jx, peak))
    return peak;
  return exhaustive_grid(whole, y0, x0, up, lo, hi);  // exhaustive, or no maximum reached
}

GridPeak grid_peak(const WeightedRows& W, double y0, double x0, int up, int lo, int hi, int start_jy,
                   int start_jx, double& plain) {
  const int rows = W.rows(), cols = W.cols(), nh = fft::half_columns(cols);
  std::vector<double> product(2 * static_cast<std::size_t>(nh));
  std::vector<std::complex<float>> weighted(static_cast<std::size_t>(nh));
  // One pass: per row the weighted values for the surface and the plain products for the
  // correlation at the neighbourhood's centre (the peak, when the climb stops there).
  auto fused = [&](std::span<const double> ys, std::span<const double> xs, int jy, int jx) {
    PlainCorrelation centre(rows, cols, grid_coordinate(y0, jy, up), grid_coordinate(x0, jx, up));
    std::vector<double> v = evaluate_rows(
        rows, cols,
        [&](int r) {
          W.row(r, nh, product.data(), weighted.data());
          centre.add_row(r, product.data());
          return reinterpret_cast<const float*>(weighted.data());
        },
        ys, xs);
    plain = centre.value();
    return v;
  };
  // With AVX2 the same pass without storing the rows (WeightedRows::climb_row_sums): the tables
  // of x_tables without their duplication, the sums combined as evaluate_rows and
  // PlainCorrelation combine them. The same bits as `fused`.
  auto streamed = [&](std::span<const double> ys, std::span<const double> xs, int jy, int jx) {
    const std::size_t nj = ys.size(), nl = xs.size(), n2 = product.size();
    const std::vector<double> duplicated = x_tables(cols, xs);
    std::vector<double> single(2 * nl * static_cast<std::size_t>(nh));
    const double* table_ptr[6];
    for (std::size_t t = 0; t < 2 * nl; ++t) {
      double* dst = single.data() + t * static_cast<std::size_t>(nh);
      for (std::size_t k = 0; k < static_cast<std::size_t>(nh); ++k) dst[k] = duplicated[t * n2 + 2 * k];
      table_ptr[t] = dst;
    }
    // The neighbourhood's centre: climb lists jx - 1 first when it lies within [lo, hi].
    const std::size_t centre_x = jx > lo ? 1 : 0, centre_y = jy > lo ? 1 : 0;
    std::vector<double> out(nj * nl, 0.0), ey_re(nj), ey_im(nj);
    double even[6], odd[6], plain_even[2], plain_odd[2], total = 0.0;
    for (int r = 0; r < rows; ++r) {
      W.climb_row_sums(r, table_ptr, static_cast<int>(nl), static_cast<int>(centre_x), even, odd, plain_even,
                       plain_odd);
      for (std::size_t j = 0; j < nj; ++j) y_factor(r, rows, ys[j], ey_re[j], ey_im[j]);
      for (std::size_t l = 0; l < nl; ++l) {
        const double s_re = even[2 * l] - odd[2 * l + 1], s_im = even[2 * l + 1] + odd[2 * l];
        for (std::size_t j = 0; j < nj; ++j) out[j * nl + l] += ey_re[j] * s_re - ey_im[j] * s_im;
      }
      const double s_re = plain_even[0] - plain_odd[1], s_im = plain_even[1] + plain_odd[0];
      total += ey_re[centre_y] * s_re - ey_im[centre_y] * s_im;
    }
    const double scale = 1.0 / (static_cast<double>(rows) * cols);
    for (double& v : out) v *= scale;
    plain = total / (static_cast<double>(rows) * cols);
    return out;
  };
  GridPeak peak;
  if (has_avx2() ? climb(streamed, y0, x0, up, lo, hi, start_jy, start_jx, peak)
                 : climb(fused, y0, x0, up, lo, hi, start_jy, start_jx, peak))
    return peak;
  // No maximum within the bound: the whole grid, then the correlation at its maximum.
  peak = exhaustive_grid(
      [&](std::span<const double> ys, std::span<const double> xs) {
        return evaluate_rows(
            rows, cols,
            [&](int r) {
              W.row(r, nh, nullptr, weighted.data());
              return reinterpret_cast<const float*>(weighted.data());
            },
            ys, xs);
      },
      y0, x0, up, lo, hi);
  plain = correlation_at(W.moving(), W.reference(), peak.dy, peak.dx);
  return peak;
}

void crop_spectrum(const WeightedRows& W, int crop_rows, int crop_cols, std::complex<float>* out) {
  const int nh = fft::half_columns(crop_cols);
  for (int r = 0; r < crop_rows; ++r) {
    const int ky = signed_index(r, crop_rows);
    W.row(ky < 0 ? ky + W.rows() : ky, nh, nullptr, out + static_cast<std::size_t>(r) * static_cast<std::size_t>(nh));
  }
}

void crop_spectrum(const HalfSpectrum& R, int crop_rows, int crop_cols, std::complex<float>* out) {
  const int nh = fft::half_columns(crop_cols);
  for (int r = 0; r < crop_rows; ++r) {
    const int ky = signed_index(r, crop_rows);
    const std::complex<float>* src = R.row(ky < 0 ? ky + R.rows : ky);
    std::copy(src, src + nh, out + static_cast<std::size_t>(r) * static_cast<std::size_t>(nh));
  }
}

CoarsePeak coarse_peak(const double* surface, int rows, int cols, bool bounded,
                       double bound_cells) {
  const double bound2 = bound_cells * bound_cells;
  auto at = [&](int r, int c) {
    return surface[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) +
                   static_cast<std::size_t>(c)];
  };
  CoarsePeak p;
  double best = -std::numeric_limits<double>::infinity();
  for (int r = 0; r < rows; ++r) {
    const double sy = signed_index(r, rows);
    for (int c = 0; c < cols; ++c) {
      if (bounded) {
        const double sx = signed_index(c, cols);
        if (sy * sy + sx * sx > bound2) continue;
      }
      if (at(r, c) > best) best = at(r, c), p.pr = r, p.pc = c;
    }
  }
  p.ok = std::isfinite(best);
  if (bounded) {
    // The in-bound maximum must be a local maximum of the whole surface.
    for (int dr = -1; dr <= 1; ++dr)
      for (int dc = -1; dc <= 1; ++dc)
        if (at((p.pr + dr + rows) % rows, (p.pc + dc + cols) % cols) > best) p.ok = false;
  }
  double sum2 = 0.0;
  std::size_t count = 0;
  for (int r = 0; r < rows; ++r) {
    const int ar = std::abs(r - p.pr), dr = std::min(ar, rows - ar);
    for (int c = 0; c < cols; ++c) {
      const int ac = std::abs(c - p.pc), dc = std::min(ac, cols - ac);
      if (std::max(dr, dc) > 2) sum2 += at(r, c) * at(r, c), ++count;
    }
  }
  p.best = best;
  p.rms = count > 0 ? std::sqrt(sum2 / static_cast<double>(count)) : 0.0;
  return p;
}

}  // namespace xanesmap::correlation
