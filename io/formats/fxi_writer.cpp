#include "io/formats/fxi_writer.hpp"

#include <fstream>
#include <iomanip>

#include "core/base/error.hpp"
#include "io/formats/hdf5_file.hpp"
#include "io/formats/tiff_io.hpp"

namespace xanesmap {

namespace {

std::vector<std::size_t> stack_shape(std::size_t frames, const sim::SimulatedScan& scan) {
  return {frames, scan.height, scan.width};
}

std::vector<ImageView<const std::uint16_t>> pages(const std::vector<std::uint16_t>& values,
                                                  std::size_t frames, std::size_t h,
                                                  std::size_t w) {
  std::vector<ImageView<const std::uint16_t>> out;
  for (std::size_t i = 0; i < frames; ++i) out.emplace_back(values.data() + i * h * w, h, w);
  return out;
}

template <typename T>
void write_image(h5::File& file, const std::string& path, const Image<T>& image) {
  h5::write(file, path, image.pixels(), {image.height(), image.width()});
}

}  // namespace

void write_fxi_hdf5(const std::filesystem::path& path, const sim::SimulatedScan& scan,
                    const std::string& provenance) {
  h5::File file = h5::File::create(path);
  const std::size_t n = scan.energies_ev.size();
  h5::write(file, "/img_xanes", std::span<const std::uint16_t>(scan.sample_counts),
            stack_shape(n, scan));
  h5::write(file, "/img_bkg", std::span<const std::uint16_t>(scan.flat_counts),
            stack_shape(n, scan));
  h5::write(file, "/img_dark", std::span<const std::uint16_t>(scan.dark_counts),
            stack_shape(scan.dark_frame_count, scan));
  std::vector<double> kev(scan.energies_ev);
  for (double& e : kev) e /= 1000.0;
  h5::write(file, "/X_eng", std::span<const double>(kev), {n});
  const double pixel = scan.pixel_size_nm;
  h5::write(file, "/pixel_size_nm", std::span<const double>(&pixel, 1), {1});
  h5::write_string(file, "/provenance", provenance);
  h5::write_attribute(file, "/X_eng", "units", "keV");
}

void write_tiff_variant(const std::filesystem::path& folder, const sim::SimulatedScan& scan) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) throw OutputError("cannot create '" + folder.string() + "': " + ec.message());
  const std::size_t n = scan.energies_ev.size(), h = scan.height, w = scan.width;
  const TiffWriteOptions options{scan.pixel_size_nm / 1000.0, ""};
  write_tiff_pages(folder / "raw.tif", pages(scan.sample_counts, n, h, w), options);
  write_tiff_pages(folder / "flat.tif", pages(scan.flat_counts, n, h, w), options);
  write_tiff_pages(folder / "dark.tif", pages(scan.dark_counts, scan.dark_frame_count, h, w),
                   options);
  std::ofstream energies(folder / "energies.txt");
  energies << "# X-ray energy of each page of raw.tif and flat.tif, in eV\n";
  energies << std::setprecision(10);
  for (const double e : scan.energies_ev) energies << e << "\n";
  energies.close();
  if (!energies) throw OutputError("cannot write '" + (folder / "energies.txt").string() + "'");
}

void write_truth_hdf5(const std::filesystem::path& path, const sim::SimulatedScan& scan,
                      const sim::SimulationTruth& truth, const std::string& provenance) {
  h5::File file = h5::File::create(path);
  const std::size_t n = scan.energies_ev.size();
  h5::write(file, "/energies_ev", std::span<const double>(scan.energies_ev), {n});
  const double pixel = scan.pixel_size_nm;
  h5::write(file, "/pixel_size_nm", std::span<const double>(&pixel, 1), {1});
  h5::write_string(file, "/provenance", provenance);
  write_image(file, "/truth/valence", truth.valence);
  write_image(file, "/truth/mn_mask", truth.mn_mask);
  write_image(file, "/truth/labels", truth.labels);
  write_image(file, "/truth/debris_mask", truth.debris_mask);
  write_image(file, "/truth/mn_thickness_um", truth.mn_thickness_um);
  write_image(file, "/truth/edge_jump_od", truth.edge_jump_od);
  for (std::size_t k = 0; k < truth.reference_names.size(); ++k) {
    write_image(file, "/truth/fractions/" + truth.reference_names[k], truth.fractions[k]);
    h5::write(file, "/references/" + truth.reference_names[k],
              std::span<const double>(truth.reference_spectra[k]), {n});
    h5::write_attribute(file, "/references/" + truth.reference_names[k], "valence",
                        truth.reference_valences[k]);
  }
  h5::write(file, "/truth/shift_dy_px", std::span<const double>(truth.drift.dy_px), {n});
  h5::write(file, "/truth/shift_dx_px", std::span<const double>(truth.drift.dx_px), {n});
  if (!truth.scale.empty())
    h5::write(file, "/truth/scale", std::span<const double>(truth.scale), {n});
  if (!truth.detector_defects.empty())
    write_image(file, "/truth/detector_defects", truth.detector_defects);
  if (truth.od) h5::write(file, "/truth/od", truth.od->values(), {n, scan.height, scan.width});

  // The particle table, one array per column.
  const auto& particles = truth.scene.particles;
  std::vector<std::int32_t> id;
  std::vector<double> cy, cx, radius, core, shell, shell_um;
  std::string types;
  for (const auto& p : particles) {
    id.push_back(p.id);
    cy.push_back(p.cy_px), cx.push_back(p.cx_px), radius.push_back(p.radius_px);
    core.push_back(p.profile.core_valence), shell.push_back(p.profile.shell_valence);
    shell_um.push_back(p.profile.shell_thickness_um);
    types += (types.empty() ? "" : ",") + p.type;
  }
  const std::size_t m = particles.size();
  h5::write(file, "/particles/id", std::span<const std::int32_t>(id), {m});
  h5::write(file, "/particles/cy_px", std::span<const double>(cy), {m});
  h5::write(file, "/particles/cx_px", std::span<const double>(cx), {m});
  h5::write(file, "/particles/radius_px", std::span<const double>(radius), {m});
  h5::write(file, "/particles/core_valence", std::span<const double>(core), {m});
  h5::write(file, "/particles/shell_valence", std::span<const double>(shell), {m});
  h5::write(file, "/particles/shell_thickness_um", std::span<const double>(shell_um), {m});
  h5::write_string(file, "/particles/type", types);
}

}  // namespace xanesmap
