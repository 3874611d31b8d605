#include "core/kernels/gather_columns.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <vector>

using namespace xanesmap;

namespace {
// A frame-major stack of `frames` frames of one row each, `stride` floats apart: value i of column
// c is 1000 i + c + 0.25 (exact in float), so a value read from the wrong frame or column shows.
std::vector<float> stack_rows(std::size_t frames, std::size_t width, std::size_t stride) {
  std::vector<float> values(frames * stride, -1.0f);
  for (std::size_t i = 0; i < frames; ++i)
    for (std::size_t c = 0; c < width; ++c)
      values[i * stride + c] =
          static_cast<float>(1000.0 * static_cast<double>(i) + static_cast<double>(c) + 0.25);
  return values;
}
}  // namespace

TEST_CASE("gather_masked_columns copies the masked columns' spectra and only those", "[kernels]") {
  const std::size_t frames = 7, stride = 160;
  // Widths around the tile: shorter than one, exactly one, a partial last tile; masks with whole
  // tiles unmasked (skipped), single columns, the last column.
  for (const std::size_t width : {5, 32, 100, 150}) {
    std::vector<std::uint8_t> mask(width, 0);
    for (std::size_t c = 0; c < width; ++c)
      mask[c] = (c % 7 == 3 || c + 1 == width || (c >= 64 && c < 70)) ? 1 : 0;
    const auto values = stack_rows(frames, width, stride);
    std::vector<float> tile(frames * kernels::kGatherTileColumns);
    const double unset = std::numeric_limits<double>::lowest();
    std::vector<double> spectra(width * frames, unset);
    kernels::gather_masked_columns(values.data(), frames, stride, mask, tile, spectra);
    for (std::size_t c = 0; c < width; ++c)
      for (std::size_t i = 0; i < frames; ++i) {
        INFO("width " << width << " column " << c << " frame " << i);
        // Exact: a float copied into a double.
        const double expected = 1000.0 * static_cast<double>(i) + static_cast<double>(c) + 0.25;
        CHECK(spectra[c * frames + i] == (mask[c] ? expected : unset));
      }
  }
}

TEST_CASE("gather_masked_columns with no masked column writes nothing", "[kernels]") {
  const std::size_t frames = 3, width = 70;
  const auto values = stack_rows(frames, width, width);
  const std::vector<std::uint8_t> mask(width, 0);
  std::vector<float> tile(frames * kernels::kGatherTileColumns);
  std::vector<double> spectra(width * frames, 42.0);
  kernels::gather_masked_columns(values.data(), frames, width, mask, tile, spectra);
  for (const double v : spectra) CHECK(v == 42.0);
}
