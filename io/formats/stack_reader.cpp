#include "io/formats/stack_reader.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <span>
#include <type_traits>

#include "core/base/energy_stack.hpp"
#include "core/base/error.hpp"
#include "io/formats/hdf5_file.hpp"
#include "io/formats/text_tables.hpp"
#include "io/formats/tiff_io.hpp"

namespace xanesmap {

std::string to_string(StackLayout layout) {
  switch (layout) {
    case StackLayout::fxi_hdf5:
      return "HDF5 (FXI layout)";
    case StackLayout::tiff_multipage:
      return "multi-page TIFF";
    case StackLayout::tiff_folder:
      return "folder of TIFFs";
  }
  return "unknown";
}

namespace {

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

enum class FileKind { hdf5, tiff, other };

FileKind sniff(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::array<char, 8> head{};
  in.read(head.data(), head.size());
  if (in.gcount() >= 4 &&
      (std::memcmp(head.data(), "II*\0", 4) == 0 || std::memcmp(head.data(), "MM\0*", 4) == 0 ||
       std::memcmp(head.data(), "II+\0", 4) == 0 || std::memcmp(head.data(), "MM\0+", 4) == 0))
    return FileKind::tiff;
  if (in.gcount() == 8 && std::memcmp(head.data(), "\x89HDF\r\n\x1a\n", 8) == 0)
    return FileKind::hdf5;
  return FileKind::other;
}

// Needs d.frames and d.image_files set.
void decide_energy_unit(StackDescription& d, EnergyUnitChoice choice) {
  if (d.energies_as_read.empty()) return;
  try {
    if (choice == EnergyUnitChoice::automatic) {
      d.energy_unit = detect_energy_unit(d.energies_as_read);
    } else {
      d.energy_unit.unit = choice == EnergyUnitChoice::kev ? EnergyUnit::kev : EnergyUnit::ev;
      d.energy_unit.reason = "unit given by the user";
    }
    d.energies_ev = to_electronvolts(d.energies_as_read, d.energy_unit.unit);
  } catch (const Error& e) {
    d.problems.push_back(d.energy_source + ": " + e.what());
  }
  if (!d.energies_ev.empty() && d.energies_ev.size() != d.frames)
    d.problems.push_back(d.energy_source + " has " + std::to_string(d.energies_ev.size()) +
                         " energies but the stack " + quoted(d.image_files.front()) + " has " +
                         std::to_string(d.frames) + " frames");
}

void decide_flat_use(StackDescription& d, FlatMode mode) {
  if (d.flat_frames == 0) return;
  if (mode == FlatMode::per_energy && d.flat_frames != d.frames)
    d.problems.push_back(d.flat_source + " has " + std::to_string(d.flat_frames) +
                         " frames; one flat per energy needs " + std::to_string(d.frames));
  d.flats_per_energy = mode != FlatMode::average && d.flat_frames == d.frames && d.frames > 1;
}

void check_frame_shape(StackDescription& d, const std::vector<std::size_t>& shape,
                       const std::string& what) {
  if (shape.size() == 2 && shape[0] == d.height && shape[1] == d.width) return;
  if (shape.size() != 3) {
    d.problems.push_back(what + " has rank " + std::to_string(shape.size()) +
                         ", expected 3 (frames, height, width)");
    return;
  }
  if (shape[1] != d.height || shape[2] != d.width)
    d.problems.push_back(what + " frames are " + size_text(shape[1], shape[2]) +
                         " but the stack's are " + size_text(d.height, d.width));
}

std::size_t frames_of(const std::vector<std::size_t>& shape) {
  return shape.size() == 2 ? 1 : (shape.empty() ? 0 : shape[0]);
}

StackDescription describe_fxi(const StackSource& s) {
  StackDescription d;
  d.layout = StackLayout::fxi_hdf5;
  d.image_files = {s.stack};
  const h5::File file = h5::File::open_read(s.stack);
  const std::string where = quoted(s.stack);
  const auto& paths = s.datasets;
  if (!h5::has_dataset(file, paths.images))
    throw InputError(where + ": dataset '" + paths.images +
                     "' (the images) not found; is this an FXI file? (set the path with "
                     "--images-dataset)");
  const h5::DatasetInfo images = h5::dataset_info(file, paths.images);
  if (images.shape.size() != 3)
    throw InputError(where + ": dataset '" + paths.images + "' has rank " +
                     std::to_string(images.shape.size()) + ", expected 3 (frames, height, width)");
  d.frames = images.shape[0], d.height = images.shape[1], d.width = images.shape[2];
  if (d.frames == 0 || d.height == 0 || d.width == 0)
    throw InputError(where + ": dataset '" + paths.images + "' is empty (" +
                     std::to_string(d.frames) + " frames of " + size_text(d.height, d.width) + ")");
  d.sample_type = images.sample_type;

  d.energy_source = where + " dataset '" + paths.energies + "'";
  if (h5::has_dataset(file, paths.energies)) {
    try {
      d.energies_as_read = h5::read_doubles(file, paths.energies);
    } catch (const Error& e) {
      d.problems.push_back(e.what());
    }
    decide_energy_unit(d, s.energy_unit);
  } else {
    d.problems.push_back(d.energy_source + " (the energies) not found");
  }

  if (h5::has_dataset(file, paths.flats)) {
    d.flat_source = where + " dataset '" + paths.flats + "'";
    const auto flats = h5::dataset_info(file, paths.flats);
    check_frame_shape(d, flats.shape, d.flat_source);
    d.flat_frames = frames_of(flats.shape);
    d.flat_sample_type = flats.sample_type;
    decide_flat_use(d, s.flat_mode);
  }
  if (h5::has_dataset(file, paths.darks)) {
    d.dark_source = where + " dataset '" + paths.darks + "'";
    const auto darks = h5::dataset_info(file, paths.darks);
    check_frame_shape(d, darks.shape, d.dark_source);
    d.dark_frames = frames_of(darks.shape);
  }
  if (h5::has_dataset(file, paths.pixel_size_nm)) {
    const auto values = h5::read_doubles(file, paths.pixel_size_nm);
    if (values.size() == 1 && values[0] > 0.0)
      d.pixel_size_nm = values[0];
    else
      d.problems.push_back(where + " dataset '" + paths.pixel_size_nm +
                           "' is not one positive number");
  }
  return d;
}

void describe_tiff_extra(StackDescription& d, const std::filesystem::path& file,
                         const std::string& role, std::size_t* frames, std::string* source,
                         SampleType* type) {
  const TiffInfo info = probe_tiff(file);
  *source = role + " " + quoted(file);
  *frames = info.pages;
  if (type) *type = info.sample_type;
  if (info.height != d.height || info.width != d.width)
    d.problems.push_back(*source + " is " + size_text(info.height, info.width) +
                         " but the stack is " + size_text(d.height, d.width));
}

StackDescription describe_tiff(const StackSource& s, bool folder) {
  StackDescription d;
  d.layout = folder ? StackLayout::tiff_folder : StackLayout::tiff_multipage;
  if (folder) {
    d.image_files = list_tiff_folder(s.stack);
    const TiffInfo first = probe_tiff(d.image_files.front());
    d.height = first.height, d.width = first.width, d.sample_type = first.sample_type;
    if (first.pixel_size_um) d.pixel_size_nm = *first.pixel_size_um * 1000.0;
    for (const auto& f : d.image_files) {
      const TiffInfo info = f == d.image_files.front() ? first : probe_tiff(f);
      if (info.pages != 1)
        d.problems.push_back(quoted(f) + " has " + std::to_string(info.pages) +
                             " pages; a folder stack needs single-page TIFFs");
      if (info.height != d.height || info.width != d.width)
        d.problems.push_back(quoted(f) + " is " + size_text(info.height, info.width) + " but " +
                             quoted(d.image_files.front()) + " is " + size_text(d.height, d.width));
      if (info.sample_type != d.sample_type)
        d.problems.push_back(quoted(f) + " holds " + to_string(info.sample_type) + " but " +
                             quoted(d.image_files.front()) + " holds " + to_string(d.sample_type));
    }
    d.frames = d.image_files.size();
  } else {
    d.image_files = {s.stack};
    const TiffInfo info = probe_tiff(s.stack);
    d.frames = info.pages, d.height = info.height, d.width = info.width;
    d.sample_type = info.sample_type;
    if (info.pixel_size_um) d.pixel_size_nm = *info.pixel_size_um * 1000.0;
  }
  if (d.height == 0 || d.width == 0)
    throw InputError(quoted(s.stack) + ": images are " + size_text(d.height, d.width));

  if (s.energies.empty()) {
    d.problems.push_back("a TIFF stack needs an energy list (--energies FILE, one eV per line)");
  } else {
    d.energy_source = "energy list " + quoted(s.energies);
    d.energies_as_read = read_energy_list(s.energies);
    decide_energy_unit(d, s.energy_unit);
  }
  if (!s.flat.empty()) {
    describe_tiff_extra(d, s.flat, "flat field", &d.flat_frames, &d.flat_source,
                        &d.flat_sample_type);
    if (d.flat_frames != 1) decide_flat_use(d, s.flat_mode);
  }
  if (!s.dark.empty())
    describe_tiff_extra(d, s.dark, "dark field", &d.dark_frames, &d.dark_source, nullptr);
  return d;
}

FloatBuffer concatenate(std::vector<Image<float>>&& pages) {
  FloatBuffer out;
  if (pages.empty()) return out;
  out.reserve(pages.size() * pages[0].size());
  for (auto& p : pages) {
    out.insert(out.end(), p.pixels().begin(), p.pixels().end());
    p = Image<float>();
  }
  return out;
}

/// Refuses `pages` of `file` unless there are `expected_pages` of h x w.
template <typename T>
void check_pages(const std::filesystem::path& file, const std::vector<Image<T>>& pages,
                 std::size_t expected_pages, std::size_t h, std::size_t w) {
  if (pages.size() != expected_pages)
    throw InputError(quoted(file) + " has " + std::to_string(pages.size()) + " pages, expected " +
                     std::to_string(expected_pages));
  for (std::size_t i = 0; i < pages.size(); ++i)
    if (pages[i].height() != h || pages[i].width() != w)
      throw InputError(quoted(file) + " page " + std::to_string(i) + " is " +
                       size_text(pages[i].height(), pages[i].width()) + " but the stack is " +
                       size_text(h, w));
}

FloatBuffer read_tiff_frames(const std::filesystem::path& file, std::size_t expected_pages,
                             std::size_t h, std::size_t w) {
  TiffImages tiff = read_tiff(file);
  check_pages(file, tiff.pages, expected_pages, h, w);
  return concatenate(std::move(tiff.pages));
}

/// The images as float, frame-major (the counts of the raw stack).
FloatBuffer read_images(const StackSource& source, const StackDescription& d) {
  if (d.layout == StackLayout::fxi_hdf5)
    return h5::read_floats(h5::File::open_read(source.stack), source.datasets.images);
  if (d.layout == StackLayout::tiff_multipage)
    return read_tiff_frames(source.stack, d.frames, d.height, d.width);
  FloatBuffer images;
  images.reserve(d.frames * d.height * d.width);
  for (const auto& f : d.image_files) {
    const auto frame = read_tiff_frames(f, 1, d.height, d.width);
    images.insert(images.end(), frame.begin(), frame.end());
  }
  return images;
}

enum class Extra { flats, darks };

/// The flat or dark frames, one image each, as T: float (converted from any type) or uint16
/// (uint16 files only, kept as they are). Read one frame at a time, so that the whole array and
/// its per-frame copies are never in memory together.
template <typename T>
std::vector<Image<T>> read_extra_frames(const StackSource& source, const StackDescription& d,
                                        Extra which) {
  const bool flats = which == Extra::flats;
  const std::size_t count = flats ? d.flat_frames : d.dark_frames, h = d.height, w = d.width;
  std::vector<Image<T>> frames;
  if (count == 0) return frames;
  if (d.layout != StackLayout::fxi_hdf5) {
    const std::filesystem::path& file = flats ? source.flat : source.dark;
    if constexpr (std::is_same_v<T, float>)
      frames = read_tiff(file).pages;
    else
      frames = read_tiff_uint16(file);
    check_pages(file, frames, count, h, w);
    return frames;
  }
  const h5::File file = h5::File::open_read(source.stack);
  const std::string& path = flats ? source.datasets.flats : source.datasets.darks;
  frames.reserve(count);
  // A single frame may be stored as (H, W): read it whole; the (n, H, W) frames one by one.
  for (std::size_t i = 0; i < count; ++i) {
    BulkVector<T> values;
    if constexpr (std::is_same_v<T, float>)
      values = count == 1 ? h5::read_floats(file, path) : h5::read_floats_slab(file, path, i, 1);
    else
      values = count == 1 ? h5::read_uint16s(file, path) : h5::read_uint16_slab(file, path, i, 1);
    frames.emplace_back(h, w, std::move(values));
  }
  return frames;
}

// The checks of unusable_arrays, shared with load_raw_stack (which holds flat frames instead).
template <typename T>
bool has_positive_value(std::span<const T> values) {
  return std::any_of(values.begin(), values.end(),
                     [](T v) { return std::isfinite(static_cast<float>(v)) && v > T{0}; });
}

std::string no_positive_flat(const StackDescription& d) {
  return d.flat_source +
         " holds no positive value (every value is zero, negative or not finite): it "
         "cannot be a flat field";
}

std::optional<std::string> unusable_images(const StackSource& source, const StackDescription& d,
                                           std::span<const float> images) {
  const auto saturation = integer_saturation_level(d.sample_type);
  const bool usable =
      images.empty() || std::any_of(images.begin(), images.end(), [&](float v) {
        return std::isfinite(v) && (!saturation || static_cast<double>(v) < *saturation);
      });
  if (usable) return std::nullopt;
  return (d.layout == StackLayout::fxi_hdf5
              ? quoted(source.stack) + " dataset '" + source.datasets.images + "'"
              : quoted(source.stack)) +
         " holds no usable value: every value is " +
         (saturation ? "saturated (at or above " +
                           std::to_string(static_cast<long long>(*saturation)) + ") or "
                     : "") +
         "not finite";
}

}  // namespace

StackDescription describe_stack(const StackSource& source) {
  std::error_code ec;
  if (source.stack.empty()) throw InputError("no stack file given");
  if (!std::filesystem::exists(source.stack, ec))
    throw InputError(quoted(source.stack) + ": file not found");
  if (std::filesystem::is_directory(source.stack, ec)) return describe_tiff(source, true);
  switch (sniff(source.stack)) {
    case FileKind::hdf5:
      return describe_fxi(source);
    case FileKind::tiff:
      return describe_tiff(source, false);
    case FileKind::other:
      break;
  }
  if (std::filesystem::file_size(source.stack, ec) == 0)
    throw InputError(quoted(source.stack) + " is empty (0 bytes)");
  throw InputError(quoted(source.stack) + " is neither an HDF5 nor a TIFF file");
}

RawArrays read_raw_arrays(const StackSource& source, const StackDescription& d,
                          const ProgressSink& progress) {
  RawArrays arrays;
  const std::size_t steps = 3;
  arrays.images = read_images(source, d);
  report(progress, "read", 1, steps);
  if (d.layout == StackLayout::fxi_hdf5) {
    const h5::File file = h5::File::open_read(source.stack);
    if (d.flat_frames) arrays.flats = h5::read_floats(file, source.datasets.flats);
    report(progress, "read", 2, steps);
    if (d.dark_frames) arrays.darks = h5::read_floats(file, source.datasets.darks);
    report(progress, "read", 3, steps);
    return arrays;
  }
  if (d.flat_frames) arrays.flats = read_tiff_frames(source.flat, d.flat_frames, d.height, d.width);
  report(progress, "read", 2, steps);
  if (d.dark_frames) arrays.darks = read_tiff_frames(source.dark, d.dark_frames, d.height, d.width);
  report(progress, "read", 3, steps);
  return arrays;
}

std::vector<std::string> unusable_arrays(const StackSource& source, const StackDescription& d,
                                         const RawArrays& arrays) {
  std::vector<std::string> problems;
  if (!arrays.flats.empty() && !has_positive_value(std::span<const float>(arrays.flats)))
    problems.push_back(no_positive_flat(d));
  if (auto images = unusable_images(source, d, arrays.images))
    problems.push_back(std::move(*images));
  return problems;
}

LoadedStack load_raw_stack(const StackSource& source, const ProgressSink& progress) {
  StackDescription d = describe_stack(source);
  if (!d.problems.empty()) {
    std::string message = d.problems.front();
    for (std::size_t i = 1; i < d.problems.size(); ++i) message += "; " + d.problems[i];
    throw InputError(message);
  }
  if (d.flat_frames == 0)
    throw InputError(d.layout == StackLayout::fxi_hdf5
                         ? quoted(source.stack) + ": no flat fields (dataset '" +
                               source.datasets.flats + "' not found)"
                         : "no flat field: give one with --flat FILE");
  try {
    check_energies_strictly_increasing(d.energies_ev);
  } catch (const Error& e) {
    rethrow_with_context(e, d.energy_source);
  }
  const std::size_t steps = 3;
  FloatBuffer images = read_images(source, d);
  report(progress, "read", 1, steps);
  // uint16 flats are read as they are: kept per energy (or as the single flat), or averaged.
  const bool uint16_flats = d.flat_sample_type == SampleType::uint16;
  std::vector<Image<std::uint16_t>> flats_u16;
  std::vector<Image<float>> flats;
  if (uint16_flats)
    flats_u16 = read_extra_frames<std::uint16_t>(source, d, Extra::flats);
  else
    flats = read_extra_frames<float>(source, d, Extra::flats);
  report(progress, "read", 2, steps);
  std::vector<Image<float>> darks = read_extra_frames<float>(source, d, Extra::darks);
  report(progress, "read", 3, steps);

  const auto any_positive = [](const auto& frames) {
    return std::any_of(frames.begin(), frames.end(),
                       [](const auto& f) { return has_positive_value(f.pixels()); });
  };
  if (!(uint16_flats ? any_positive(flats_u16) : any_positive(flats)))
    throw InputError(no_positive_flat(d));
  if (auto unusable = unusable_images(source, d, images)) throw InputError(*unusable);

  const auto saturation = integer_saturation_level(d.sample_type);
  const bool averaged = !d.flats_per_energy && d.flat_frames > 1;
  if (averaged && uint16_flats) {
    flats = {average_frames(flats_u16, saturation)};
    flats_u16 = {};
  } else if (averaged) {
    flats = {average_frames(flats, saturation)};
  }
  Image<float> dark;
  if (darks.size() == 1)
    dark = std::move(darks[0]);
  else if (darks.size() > 1)
    dark = average_frames(darks, std::nullopt);
  EnergyStack counts(d.energies_ev, d.height, d.width, std::move(images));
  if (!flats_u16.empty())
    return LoadedStack{std::move(d), RawStack(std::move(counts), std::move(flats_u16),
                                              std::move(dark), saturation)};
  return LoadedStack{std::move(d),
                     RawStack(std::move(counts), std::move(flats), std::move(dark), saturation)};
}

}  // namespace xanesmap
