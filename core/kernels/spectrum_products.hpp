// The correlation surface's passes over half spectra (core/registration/detail/
// correlation_surface.cpp): sums of a spectrum row against tables of x factors, the weighted
// cross-power row made from two spectra, and the climb's fused pass over both. A half spectrum
// row of n complex values is read as 2n numbers (re, im, re, im, ...). core/kernels/dispatch.hpp
// says how a version is chosen.
//
// Which versions agree bit for bit: weighted_row's and climb_row_sums' versions among
// themselves and with the plain ones. spectrum_row_sums' plain version (two-double lanes, every
// x86-64) and AVX2 version (four-double lanes) add the terms in different orders, so their sums
// differ in the last bits and the registration's results depend on the instruction set at that
// level; climb_row_sums reproduces, for each instruction set, the sums of that set's
// weighted_row followed by its spectrum_row_sums, so the fast climb and the stored spectrum's
// climb agree bit for bit on every machine.
#pragma once

#include <cstddef>

#include "core/kernels/dispatch.hpp"

namespace xanesmap::kernels {

/// a conj(b) in double for the k-th values of two float half-spectrum rows (re, im interleaved):
/// the one product every pass over two spectra uses, so that they all agree bit for bit.
inline void conj_product(const float* a, const float* b, std::size_t k, double& re, double& im) {
  const double ar = a[2 * k], ai = a[2 * k + 1], br = b[2 * k], bi = b[2 * k + 1];
  re = ar * br + ai * bi;
  im = ai * br - ar * bi;
}

/// Sums over a row q of n2 / 2 complex values against G tables, each holding one real value per
/// frequency, duplicated (t[2k] = t[2k + 1]): even[g] = sum_k re(q_k) t_k, odd[g] =
/// sum_k im(q_k) t_k. Complex products then follow from real sums: for e = er + i ei,
/// sum q e = (even(er) - odd(ei)) + i (even(ei) + odd(er)). The G tables share one read of the
/// row; two accumulators per table, so that the additions of one chain do not wait on each
/// other. Instantiated for <6, float> (spectra) and <2, double> (products in double).
template <int G, class T>
void spectrum_row_sums(const T* q, std::size_t n2, const double* const* tables, double* even,
                       double* odd);

/// What makes one row of the weighted cross-power spectrum (correlation::WeightedRows): the two
/// spectra's rows, their length, the row's low-pass factor gy and squared frequency fy2, the
/// columns' low-pass factors gx and squared frequencies fx2, and the gradient weighting.
struct CrossPowerRow {
  const float* moving = nullptr;
  const float* reference = nullptr;
  std::size_t count = 0;  // complex values
  double gy = 1.0, fy2 = 0.0;
  const double* gx = nullptr;
  const double* fx2 = nullptr;
  bool gradient = false;
  double k_grad = 0.0;
};

/// Per column c: (re, im) = conj_product(moving, reference, c), into product[2c], product[2c + 1]
/// when product is not null; then times k_grad (fy2 + fx2[c]) with gradient; then times
/// gy gx[c], rounded to float into out[2c], out[2c + 1].
void weighted_row(const CrossPowerRow& row, double* product, float* out);

/// One row of the climb's pass without storing it: for each of the 2 n_points `tables` (the
/// cosine and sine factors of each x point, one value per column: x tables without the
/// duplication), even[t] and odd[t] as spectrum_row_sums<6> of weighted_row's output gives them;
/// plain_even/plain_odd[0, 1]: the same over the plain products with the tables of point
/// `centre`, as spectrum_row_sums<2> of the products gives them. n_points 1-3.
void climb_row_sums(const CrossPowerRow& row, const double* const* tables, int n_points, int centre,
                    double* even, double* odd, double* plain_even, double* plain_odd);

namespace plain {
template <int G, class T>
void spectrum_row_sums(const T* q, std::size_t n2, const double* const* tables, double* even,
                       double* odd);
void weighted_row(const CrossPowerRow& row, double* product, float* out);
void climb_row_sums(const CrossPowerRow& row, const double* const* tables, int n_points, int centre,
                    double* even, double* odd, double* plain_even, double* plain_odd);
}  // namespace plain

namespace detail {
template <int G, class T>
using RowSumsFn = void (*)(const T*, std::size_t, const double* const*, double*, double*);
using WeightedRowFn = void (*)(const CrossPowerRow&, double*, float*);
using ClimbRowSumsFn = void (*)(const CrossPowerRow&, const double* const*, int, int, double*,
                                double*, double*, double*);
template <int G, class T>
RowSumsFn<G, T> spectrum_row_sums_for(Isa isa);
WeightedRowFn weighted_row_for(Isa isa);
ClimbRowSumsFn climb_row_sums_for(Isa isa);
}  // namespace detail

}  // namespace xanesmap::kernels
