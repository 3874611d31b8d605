// The edge-energy finder's slopes, four at a time (core/spectral/edge_energy.cpp): a group of
// four derivative stencils of one size whose windows start at consecutive grid points is one
// vector sum. Every version gives the plain version's bits; core/kernels/dispatch.hpp says how
// one is chosen.
#pragma once

#include <cstddef>

#include "core/kernels/dispatch.hpp"

namespace xanesmap::kernels {

namespace detail {
using FourSlopesFn = void (*)(const double*, const double*, std::size_t, double*);
FourSlopesFn four_slopes_for(Isa isa);
}  // namespace detail

/// out[q] = sum_j gw[4 j + q] y[q + j] over j in [0, count), in j order, for q = 0..3: the
/// weights transposed (gw[4 j + q] is stencil q's weight j), so that lane q of one vector holds
/// stencil q. The same products and additions as one stencil's dot product, so the same values.
/// Called a few times per spectrum: dispatched inline.
inline void four_slopes(const double* gw, const double* y, std::size_t count, double* out) {
  static const detail::FourSlopesFn chosen = detail::four_slopes_for(active_isa());
  chosen(gw, y, count, out);
}

namespace plain {
void four_slopes(const double* gw, const double* y, std::size_t count, double* out);
}  // namespace plain

}  // namespace xanesmap::kernels
