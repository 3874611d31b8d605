#include "core/kernels/gather_columns.hpp"

#include <algorithm>
#include <cstring>

#include "core/kernels/prefetch.hpp"

namespace xanesmap::kernels {

namespace {

constexpr std::size_t kTile = kGatherTileColumns;

bool tile_masked(std::span<const std::uint8_t> mask, std::size_t c0) {
  const auto first = mask.begin() + static_cast<std::ptrdiff_t>(c0);
  return std::any_of(first, first + static_cast<std::ptrdiff_t>(std::min(kTile, mask.size() - c0)),
                     [](std::uint8_t m) { return m != 0; });
}

// The first tile at or after column c0 that holds a masked column (mask.size() when none does).
std::size_t next_masked_tile(std::span<const std::uint8_t> mask, std::size_t c0) {
  while (c0 < mask.size() && !tile_masked(mask, c0)) c0 += kTile;
  return c0;
}

}  // namespace

void gather_masked_columns(const float* values, std::size_t frames, std::size_t frame_stride,
                           std::span<const std::uint8_t> mask, std::span<float> tile,
                           std::span<double> spectra) {
  const std::size_t w = mask.size(), n = frames;
  for (std::size_t c0 = next_masked_tile(mask, 0), next = 0; c0 < w; c0 = next) {
    const std::size_t width = std::min(kTile, w - c0);
    next = next_masked_tile(mask, c0 + kTile);
    if (next < w)
      for (std::size_t i = 0; i < n; ++i)
        prefetch_to_l2(values + i * frame_stride + next, std::min(kTile, w - next));
    // A whole tile is one fixed-size copy (inlined, not a library call per frame).
    if (width == kTile)
      for (std::size_t i = 0; i < n; ++i)
        std::memcpy(tile.data() + i * kTile, values + i * frame_stride + c0, kTile * sizeof(float));
    else
      for (std::size_t i = 0; i < n; ++i)
        std::memcpy(tile.data() + i * kTile, values + i * frame_stride + c0, width * sizeof(float));
    for (std::size_t c = c0; c < c0 + width; ++c) {
      if (!mask[c]) continue;
      double* mu = spectra.data() + c * n;
      for (std::size_t i = 0; i < n; ++i) mu[i] = tile[i * kTile + (c - c0)];
    }
  }
}

}  // namespace xanesmap::kernels
