#include "io/formats/aligned_stack.hpp"

#include <span>

#include "io/formats/hdf5_file.hpp"
#include "io/outputs/map_outputs.hpp"

namespace xanesmap {

void write_aligned_stack(const std::filesystem::path& path, const AlignedOpticalDensity& aligned,
                         std::optional<double> pixel_size_nm,
                         const AlignedStackProvenance& provenance) {
  const auto& energies = aligned.od.energies_ev();
  const std::size_t n = aligned.od.frame_count(), h = aligned.od.height(), w = aligned.od.width();
  h5::File file = h5::File::create(path);
  h5::write(file, "/od", aligned.od.values(), {n, h, w});
  h5::write_attribute(file, "/od", "content", "optical density, frames aligned (NaN: no value)");
  h5::write(file, "/energies_ev", std::span<const double>(energies), {n});
  h5::write(file, "/flags", aligned.flags.pixels(), {h, w});
  h5::write_attribute(file, "/flags", "bits",
                      "1 sample<=dark, 2 flat<=dark, 4 saturated, 8 not finite, 16 outside the "
                      "view after alignment");
  write_registration_h5(file, "/shifts", aligned.registration);
  h5::write(file, "/beam/offset_od", std::span<const double>(aligned.beam.offset_od),
            {aligned.beam.offset_od.size()});
  h5::write_attribute(
      file, "/beam/offset_od", "meaning",
      "per frame: mean over the field of the OD surface subtracted (model " +
          std::string(aligned.beam.applied ? to_string(aligned.beam.model) : "none") + ")");
  // The shifts are per input frame, /energies_ev per frame kept (they differ when frames were
  // excluded): the shifts' own energies make the group readable alone.
  h5::write(file, "/shifts/energies_ev", std::span<const double>(aligned.frame_energies_ev),
            {aligned.frame_energies_ev.size()});
  if (pixel_size_nm) {
    const double pixel = *pixel_size_nm;
    h5::write(file, "/pixel_size_nm", std::span<const double>(&pixel, 1), {1});
  }
  h5::write_string(file, "/provenance/command_line", provenance.command_line);
  h5::write_string(file, "/provenance/version", provenance.version);
  h5::write_string(file, "/provenance/git_commit", provenance.git_commit);
  h5::write_string(file, "/provenance/config_toml", provenance.config_toml);
}

}  // namespace xanesmap
