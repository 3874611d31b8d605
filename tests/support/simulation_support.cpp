#include "support/simulation_support.hpp"

#include "io/formats/reference_manifest.hpp"

namespace xanesmap::test {

namespace {
std::vector<LoadedReference> loaded() {
  return load_references(read_reference_manifest(std::filesystem::path(XANESMAP_EXAMPLES_DIR) /
                                                 "mn-k" / "references.toml"));
}
}  // namespace

std::vector<sim::SimulationReference> simulation_references() {
  std::vector<sim::SimulationReference> refs;
  for (auto& r : loaded()) refs.push_back({r.entry.name, r.entry.valence, r.spectrum});
  return refs;
}

std::vector<ReferenceSpectrum> map_references() {
  std::vector<ReferenceSpectrum> refs;
  for (auto& r : loaded()) refs.push_back({r.entry.name, r.entry.valence, r.spectrum});
  return refs;
}

RawStack raw_from(const sim::SimulatedScan& scan) {
  const std::size_t n = scan.energies_ev.size(), frame = scan.height * scan.width;
  auto slice = [&](const std::vector<std::uint16_t>& v, std::size_t i) {
    return Image<std::uint16_t>(
        scan.height, scan.width,
        std::vector<std::uint16_t>(v.begin() + static_cast<std::ptrdiff_t>(i * frame),
                                   v.begin() + static_cast<std::ptrdiff_t>((i + 1) * frame)));
  };
  std::vector<Image<std::uint16_t>> flats, darks;
  for (std::size_t e = 0; e < n; ++e) flats.push_back(slice(scan.flat_counts, e));
  for (std::size_t d = 0; d < scan.dark_frame_count; ++d)
    darks.push_back(slice(scan.dark_counts, d));
  std::vector<float> counts(scan.sample_counts.begin(), scan.sample_counts.end());
  return RawStack(EnergyStack(scan.energies_ev, scan.height, scan.width, std::move(counts)),
                  std::move(flats), average_frames(darks, std::nullopt), 65535.0);
}

Image<std::uint8_t> erode(const Image<std::uint8_t>& mask, int radius_px) {
  const auto h = static_cast<int>(mask.height()), w = static_cast<int>(mask.width());
  Image<std::uint8_t> out(mask.height(), mask.width(), 0);
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      bool inside = true;
      for (int dr = -radius_px; dr <= radius_px && inside; ++dr)
        for (int dc = -radius_px; dc <= radius_px && inside; ++dc) {
          const int y = r + dr, x = c + dc;
          inside = y >= 0 && y < h && x >= 0 && x < w &&
                   mask(static_cast<std::size_t>(y), static_cast<std::size_t>(x));
        }
      out(static_cast<std::size_t>(r), static_cast<std::size_t>(c)) = inside;
    }
  return out;
}

}  // namespace xanesmap::test
