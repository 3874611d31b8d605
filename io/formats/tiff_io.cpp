// TIFF reading and writing with libtiff. The contract is in tiff_io.hpp.
//
// ImageJ conventions followed by the writer, checked against ImageJ's own source
// (ij.io.TiffEncoder, ij.io.FileSaver.getDescriptionString, ij.io.TiffDecoder):
// - FileSaver writes the description "ImageJ=<version>\n", then "images=N\n" and "slices=N\n" for
//   stacks, "unit=<unit>\n", ..., "min=..\nmax=..\n" (display range of 16-bit and float images).
// - TiffEncoder writes XResolution = YResolution = 1/pixelWidth (pixels per calibration unit) and
//   ResolutionUnit 1 (NONE) for every unit other than "inch" (2) and "cm" (3); the unit itself
//   travels in the description. Pixel data: one strip per image, uncompressed.
// - TiffDecoder, on an ImageJ description with images=N (N > 1), stops reading IFDs and reads N
//   images back to back from the first image's offset. Hence the two-pass writer below: all IFDs
//   first (strip arrays deferred), then the pages' pixel data contiguously.
#include "io/formats/tiff_io.hpp"

#include <tiffio.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/base/error.hpp"

namespace xanesmap {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// libtiff diagnostics: captured per thread, never printed.

struct LibtiffMessage {
  std::string module;
  std::string text;
};

thread_local LibtiffMessage last_libtiff_error;

void capture_libtiff_error(const char* module, const char* format, va_list args) {
  std::array<char, 1024> buffer{};
  std::vsnprintf(buffer.data(), buffer.size(), format, args);
  last_libtiff_error = {module ? module : "", buffer.data()};
}

void ignore_libtiff_warning(const char*, const char*, va_list) {}

/// Installs the handlers (once per process) and forgets this thread's previous libtiff error.
void begin_libtiff_call() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    TIFFSetErrorHandler(capture_libtiff_error);
    TIFFSetWarningHandler(ignore_libtiff_warning);
  });
  last_libtiff_error = {};
}

std::string quoted(const fs::path& file) { return "'" + file.string() + "'"; }

/// " (libtiff: ...)" with the last captured error, or "" if libtiff reported none. The module
/// is left out when it is just the file name, which the message already starts with.
std::string libtiff_detail(const fs::path& file) {
  if (last_libtiff_error.text.empty()) return "";
  std::string text = last_libtiff_error.text;
  const std::string& module = last_libtiff_error.module;
  if (!module.empty() && module != file.string()) text = module + ": " + text;
  return " (libtiff: " + text + ")";
}

/// A problem found by our own checks.
[[noreturn]] void fail_input(const fs::path& file, const std::string& what) {
  throw InputError(quoted(file) + ": " + what);
}

/// A problem reported by libtiff: its message is appended.
[[noreturn]] void fail_libtiff_input(const fs::path& file, const std::string& what) {
  throw InputError(quoted(file) + ": " + what + libtiff_detail(file));
}

[[noreturn]] void fail_output(const fs::path& file, const std::string& what) {
  throw OutputError(quoted(file) + ": cannot write TIFF: " + what + libtiff_detail(file));
}

struct TiffCloser {
  void operator()(TIFF* tif) const noexcept { TIFFClose(tif); }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

// ---------------------------------------------------------------------------------------------
// Reading: opening and page headers.

/// Guards against absurd allocations from damaged headers: 2^30 pixels (4 GiB as float) per page.
constexpr std::uint64_t max_pixels_per_page = std::uint64_t{1} << 30;

bool has_tiff_signature(const std::array<unsigned char, 4>& head) {
  const bool little = head[0] == 'I' && head[1] == 'I';
  const bool big = head[0] == 'M' && head[1] == 'M';
  const unsigned version = little ? head[2] | (head[3] << 8u)
                           : big  ? (head[2] << 8u) | head[3]
                                  : 0u;
  return version == 42 || version == 43;  // classic TIFF, BigTIFF
}

/// Clear messages for the common cases before libtiff gets to see the file.
void check_tiff_file(const fs::path& file) {
  std::error_code ec;
  const fs::file_status status = fs::status(file, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    fail_input(file, "cannot be accessed: " + ec.message());
  if (!fs::exists(status)) fail_input(file, "file not found");
  if (fs::is_directory(status)) fail_input(file, "is a folder, not a TIFF file");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail_input(file, "cannot be opened for reading");
  std::array<char, 4> bytes{};
  in.read(bytes.data(), bytes.size());
  std::array<unsigned char, 4> head{};
  std::memcpy(head.data(), bytes.data(), head.size());
  if (in.gcount() < 4 || !has_tiff_signature(head))
    fail_input(file, "not a TIFF file (it does not start with a TIFF header)");
}

TiffPtr open_for_reading(const fs::path& file) {
  check_tiff_file(file);
  // "m": no memory mapping, so a file shrinking under us gives read errors, not SIGBUS.
  TiffPtr tif(TIFFOpen(file.c_str(), "rm"));
  if (!tif)
    fail_libtiff_input(file, "damaged or truncated TIFF: its first directory cannot be read");
  return tif;
}

// Walks the directory chain. TIFFNumberOfDirectories stops quietly at a link that points past
// the end of a truncated file, which would make a cut multi-page TIFF look like a shorter,
// complete one; here a broken link is an error. Leaves the first directory current.
std::size_t count_pages(TIFF* tif, const fs::path& file) {
  std::size_t pages = 1;
  while (!TIFFLastDirectory(tif)) {
    if (!TIFFReadDirectory(tif))
      fail_libtiff_input(file, "truncated or damaged: directory of page " + std::to_string(pages) +
                                   " cannot be read");
    ++pages;
  }
  if (!TIFFSetDirectory(tif, 0)) fail_libtiff_input(file, "cannot return to the first page");
  return pages;
}

std::string sample_kind(std::uint16_t format) {
  switch (format) {
    case SAMPLEFORMAT_UINT:
      return "unsigned integer";
    case SAMPLEFORMAT_INT:
      return "signed integer";
    case SAMPLEFORMAT_IEEEFP:
      return "floating point";
    case SAMPLEFORMAT_COMPLEXINT:
      return "complex integer";
    case SAMPLEFORMAT_COMPLEXIEEEFP:
      return "complex floating point";
    default:
      return "SampleFormat " + std::to_string(format);
  }
}

std::optional<SampleType> sample_type_of(std::uint16_t format, std::uint16_t bits) {
  if (format == SAMPLEFORMAT_UINT) {
    if (bits == 8) return SampleType::uint8;
    if (bits == 16) return SampleType::uint16;
    if (bits == 32) return SampleType::uint32;
  } else if (format == SAMPLEFORMAT_INT) {
    if (bits == 8) return SampleType::int8;
    if (bits == 16) return SampleType::int16;
    if (bits == 32) return SampleType::int32;
  } else if (format == SAMPLEFORMAT_IEEEFP) {
    if (bits == 32) return SampleType::float32;
    if (bits == 64) return SampleType::float64;
  }
  return std::nullopt;
}

std::string compression_name(std::uint16_t scheme) {
  const TIFFCodec* codec = TIFFFindCODEC(scheme);
  const std::string number = std::to_string(scheme);
  return codec ? std::string(codec->name) + " (" + number + ")" : "scheme " + number;
}

/// The properties of the current directory that reading depends on, validated.
struct PageFormat {
  std::uint32_t height = 0;
  std::uint32_t width = 0;
  SampleType type = SampleType::uint8;
  std::uint16_t compression = COMPRESSION_NONE;
  bool tiled = false;
};

PageFormat read_page_format(TIFF* tif, const fs::path& file, std::size_t page) {
  PageFormat f;
  std::uint16_t samples = 1, bits = 1, format = SAMPLEFORMAT_UINT;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &f.width);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &f.height);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &f.compression);
  f.tiled = TIFFIsTiled(tif) != 0;

  const std::string where = "page " + std::to_string(page);
  if (f.width == 0 || f.height == 0)
    fail_input(file, where + " is empty (" + size_text(f.height, f.width) + ")");
  if (std::uint64_t{f.width} * f.height > max_pixels_per_page)
    fail_input(file, where + " is " + size_text(f.height, f.width) + ", more than the " +
                         std::to_string(max_pixels_per_page) + " pixels per page xanesmap reads");
  if (samples != 1)
    fail_input(file, where + " has " + std::to_string(samples) +
                         " samples per pixel (RGB or multi-channel); only single-sample "
                         "grayscale images are supported");
  const std::optional<SampleType> type = sample_type_of(format, bits);
  if (!type)
    fail_input(file, where + " has an unsupported sample format: " + std::to_string(bits) +
                         "-bit " + sample_kind(format) +
                         " (supported: 8/16/32-bit unsigned or signed integer, 32/64-bit float)");
  f.type = *type;
  if (!TIFFIsCODECConfigured(f.compression))
    fail_input(file, where + " uses compression " + compression_name(f.compression) +
                         ", which this libtiff build cannot decode");
  return f;
}

void check_same_layout(const fs::path& file, std::size_t page, const PageFormat& f,
                       const PageFormat& first) {
  const std::string where = "page " + std::to_string(page);
  if (f.height != first.height || f.width != first.width)
    fail_input(file, where + " is " + size_text(f.height, f.width) + " but page 0 is " +
                         size_text(first.height, first.width));
  if (f.type != first.type)
    fail_input(file,
               where + " is " + to_string(f.type) + " but page 0 is " + to_string(first.type));
}

std::string read_description(TIFF* tif) {
  const char* text = nullptr;
  if (TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &text) && text) return text;
  return "";
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\0'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

/// True if a line of the description declares the unit micrometre (ImageJ's "unit=" key).
bool description_unit_is_micron(std::string_view description) {
  static constexpr std::array<std::string_view, 7> micron_lines = {
      "unit=micron",    "unit=microns", "unit=um",
      "unit=\xC2\xB5m",  // U+00B5 MICRO SIGN, UTF-8
      "unit=\xB5m",      // the same in Latin-1 (older ImageJ wrote the platform charset)
      "unit=\xCE\xBCm",  // U+03BC GREEK SMALL LETTER MU, UTF-8
      "unit=\\u00B5m",   // Java properties escape, as tifffile writes it
  };
  while (!description.empty()) {
    const std::size_t end = std::min(description.find('\n'), description.size());
    const std::string_view line = trim(description.substr(0, end));
    if (std::find(micron_lines.begin(), micron_lines.end(), line) != micron_lines.end())
      return true;
    description.remove_prefix(std::min(end + 1, description.size()));
  }
  return false;
}

std::optional<double> read_pixel_size_um(TIFF* tif, std::string_view description) {
  float x_resolution = 0.0f;  // libtiff keeps this RATIONAL tag as a float
  if (!TIFFGetField(tif, TIFFTAG_XRESOLUTION, &x_resolution)) return std::nullopt;
  const double per_unit = x_resolution;
  if (!(per_unit > 0.0) || !std::isfinite(per_unit)) return std::nullopt;
  if (description_unit_is_micron(description)) return 1.0 / per_unit;
  std::uint16_t unit = RESUNIT_INCH;  // the TIFF default when the tag is absent
  TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
  if (unit == RESUNIT_CENTIMETER) return 1e4 / per_unit;
  if (unit == RESUNIT_INCH) return 25400.0 / per_unit;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Reading: pixels.

template <typename T>
float to_float(T value) {
  if constexpr (std::is_same_v<T, double>) {
    // Out-of-range double -> float conversion is undefined behaviour in C++: saturate to +-inf.
    constexpr double largest = std::numeric_limits<float>::max();
    if (value > largest) return std::numeric_limits<float>::infinity();
    if (value < -largest) return -std::numeric_limits<float>::infinity();
  }
  return static_cast<float>(value);
}

/// Copies rows x cols samples of a decoded strip or tile (row length `chunk_width`) into `out`
/// at (row0, col0): converted to float for an Image<float>, as they are when `out` has the file's
/// own type (T = Out).
template <typename T, typename Out>
void copy_chunk(const std::vector<T>& chunk, std::size_t chunk_width, std::size_t rows,
                std::size_t cols, Image<Out>& out, std::size_t row0, std::size_t col0) {
  static_assert(std::is_same_v<Out, float> || std::is_same_v<Out, T>);
  for (std::size_t r = 0; r < rows; ++r) {
    const T* src = chunk.data() + r * chunk_width;
    Out* dst = out.row(row0 + r) + col0;
    if constexpr (std::is_same_v<Out, T>)
      std::copy(src, src + cols, dst);
    else
      for (std::size_t c = 0; c < cols; ++c) dst[c] = to_float(src[c]);
  }
}

std::string page_damaged(std::size_t page, const char* chunk_kind, std::uint32_t index,
                         std::uint32_t count) {
  return "truncated or damaged: page " + std::to_string(page) + ", " + chunk_kind + " " +
         std::to_string(index) + " of " + std::to_string(count) + " cannot be read";
}

template <typename T, typename Out>
void read_strips(TIFF* tif, const fs::path& file, std::size_t page, Image<Out>& out) {
  const std::uint32_t height = static_cast<std::uint32_t>(out.height());
  const std::size_t width = out.width();
  std::uint32_t rows_per_strip = height;
  TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
  rows_per_strip = std::clamp<std::uint32_t>(rows_per_strip, 1, height);
  const std::uint32_t strips = TIFFNumberOfStrips(tif);
  if (std::uint64_t{strips} * rows_per_strip < height)
    fail_input(file, "damaged: page " + std::to_string(page) + " has too few strips (" +
                         std::to_string(strips) + ") for its " + std::to_string(height) + " rows");

  std::vector<T> chunk(std::size_t{rows_per_strip} * width);
  for (std::uint32_t strip = 0; std::uint64_t{strip} * rows_per_strip < height; ++strip) {
    const std::uint32_t row0 = strip * rows_per_strip;
    const std::uint32_t rows = std::min(rows_per_strip, height - row0);
    const auto bytes = static_cast<tmsize_t>(std::size_t{rows} * width * sizeof(T));
    if (TIFFReadEncodedStrip(tif, strip, chunk.data(), bytes) != bytes)
      fail_libtiff_input(file, page_damaged(page, "strip", strip, strips));
    copy_chunk(chunk, width, rows, width, out, row0, 0);
  }
}

template <typename T, typename Out>
void read_tiles(TIFF* tif, const fs::path& file, std::size_t page, Image<Out>& out) {
  std::uint32_t tile_width = 0, tile_height = 0;
  TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_width);
  TIFFGetField(tif, TIFFTAG_TILELENGTH, &tile_height);
  if (tile_width == 0 || tile_height == 0 ||
      std::uint64_t{tile_width} * tile_height > max_pixels_per_page)
    fail_input(file, "damaged: page " + std::to_string(page) + " has tiles of " +
                         size_text(tile_height, tile_width));
  const std::uint32_t height = static_cast<std::uint32_t>(out.height());
  const std::uint32_t width = static_cast<std::uint32_t>(out.width());
  const std::uint32_t tiles = TIFFNumberOfTiles(tif);

  std::vector<T> chunk(std::size_t{tile_width} * tile_height);
  const auto bytes = static_cast<tmsize_t>(chunk.size() * sizeof(T));
  for (std::uint32_t y = 0; y < height; y += std::min(tile_height, height - y)) {
    for (std::uint32_t x = 0; x < width; x += std::min(tile_width, width - x)) {
      const std::uint32_t tile = TIFFComputeTile(tif, x, y, 0, 0);
      if (TIFFReadEncodedTile(tif, tile, chunk.data(), bytes) != bytes)
        fail_libtiff_input(file, page_damaged(page, "tile", tile, tiles));
      copy_chunk(chunk, tile_width, std::min(tile_height, height - y),
                 std::min(tile_width, width - x), out, y, x);
    }
  }
}

/// Page pixels stored as T, returned as Out (float, or T itself).
template <typename T, typename Out = float>
Image<Out> read_pixels_as(TIFF* tif, const PageFormat& f, const fs::path& file, std::size_t page) {
  Image<Out> out(f.height, f.width);
  if (f.tiled)
    read_tiles<T>(tif, file, page, out);
  else
    read_strips<T>(tif, file, page, out);
  return out;
}

Image<float> read_pixels(TIFF* tif, const PageFormat& f, const fs::path& file, std::size_t page) {
  switch (f.type) {
    case SampleType::uint8:
      return read_pixels_as<std::uint8_t>(tif, f, file, page);
    case SampleType::uint16:
      return read_pixels_as<std::uint16_t>(tif, f, file, page);
    case SampleType::uint32:
      return read_pixels_as<std::uint32_t>(tif, f, file, page);
    case SampleType::int8:
      return read_pixels_as<std::int8_t>(tif, f, file, page);
    case SampleType::int16:
      return read_pixels_as<std::int16_t>(tif, f, file, page);
    case SampleType::int32:
      return read_pixels_as<std::int32_t>(tif, f, file, page);
    case SampleType::float32:
      return read_pixels_as<float>(tif, f, file, page);
    case SampleType::float64:
      return read_pixels_as<double>(tif, f, file, page);
  }
  fail_input(file, "internal error: unhandled sample type");
}

// ---------------------------------------------------------------------------------------------
// Writing.

template <typename T>
struct TiffSampleTraits;
template <>
struct TiffSampleTraits<std::uint8_t> {
  static constexpr std::uint16_t bits = 8, format = SAMPLEFORMAT_UINT;
};
template <>
struct TiffSampleTraits<std::uint16_t> {
  static constexpr std::uint16_t bits = 16, format = SAMPLEFORMAT_UINT;
};
template <>
struct TiffSampleTraits<float> {
  static constexpr std::uint16_t bits = 32, format = SAMPLEFORMAT_IEEEFP;
};

template <typename T>
void check_pages(const fs::path& file, std::span<const ImageView<const T>> pages) {
  if (pages.empty()) fail_input(file, "no page to write");
  const ImageView<const T>& first = pages.front();
  if (first.height() == 0 || first.width() == 0)
    fail_input(file,
               "cannot write an empty image (" + size_text(first.height(), first.width()) + ")");
  constexpr std::size_t max_side = std::numeric_limits<std::uint32_t>::max();
  if (first.height() > max_side || first.width() > max_side)
    fail_input(file, "image too large for TIFF (" + size_text(first.height(), first.width()) + ")");
  for (std::size_t k = 1; k < pages.size(); ++k) {
    if (pages[k].height() != first.height() || pages[k].width() != first.width())
      fail_input(file, "page " + std::to_string(k) + " is " +
                           size_text(pages[k].height(), pages[k].width()) + " but page 0 is " +
                           size_text(first.height(), first.width()));
  }
}

/// Shortest text that reads back as the same value ("0.5", "1e-05").
template <typename Number>
std::string format_number(Number value) {
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

void check_options(const TiffWriteOptions& options) {
  if (!std::isfinite(options.pixel_size_um) || options.pixel_size_um < 0.0)
    throw OptionError("pixel-size-um", "must be a positive number of micrometres or 0, got " +
                                           format_number(options.pixel_size_um));
  if (options.extra_description.find('\0') != std::string::npos)
    throw OptionError("extra-description", "must not contain a NUL character");
}

/// Smallest and largest finite value over all pages; nullopt if there is none.
std::optional<std::pair<float, float>> finite_range(std::span<const ImageView<const float>> pages) {
  float low = std::numeric_limits<float>::infinity();
  float high = -std::numeric_limits<float>::infinity();
  for (const ImageView<const float>& page : pages)
    for (std::size_t r = 0; r < page.height(); ++r)
      for (const float v : std::span(page.row(r), page.width()))
        if (std::isfinite(v)) {
          low = std::min(low, v);
          high = std::max(high, v);
        }
  if (low > high) return std::nullopt;
  return std::pair{low, high};
}

template <typename T>
std::string imagej_description(std::span<const ImageView<const T>> pages,
                               const TiffWriteOptions& options) {
  std::string text = "ImageJ=1.11a\n";
  if (pages.size() > 1) {
    const std::string n = std::to_string(pages.size());
    text += "images=" + n + "\nslices=" + n + "\n";
  }
  if (options.pixel_size_um > 0.0) text += "unit=micron\n";
  if constexpr (std::is_same_v<T, float>) {
    if (const auto range = finite_range(pages))
      text += "min=" + format_number(range->first) + "\nmax=" + format_number(range->second) + "\n";
  }
  if (!options.extra_description.empty()) {
    text += options.extra_description;
    if (text.back() != '\n') text += '\n';
  }
  return text;
}

/// Once armed, removes the file on destruction unless released: no partial TIFF is left behind.
class PartialFileGuard {
 public:
  explicit PartialFileGuard(fs::path file) : file_(std::move(file)) {}
  ~PartialFileGuard() {
    if (armed_) {
      std::error_code ignored;
      fs::remove(file_, ignored);
    }
  }
  PartialFileGuard(const PartialFileGuard&) = delete;
  PartialFileGuard& operator=(const PartialFileGuard&) = delete;
  void arm() { armed_ = true; }
  void release() { armed_ = false; }

 private:
  fs::path file_;
  bool armed_ = false;
};

template <typename T>
bool set_page_tags(TIFF* tif, std::uint32_t height, std::uint32_t width,
                   const std::string* description, double pixel_size_um) {
  bool ok = TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, width) &&
            TIFFSetField(tif, TIFFTAG_IMAGELENGTH, height) &&
            TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, TiffSampleTraits<T>::bits) &&
            TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, TiffSampleTraits<T>::format) &&
            TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1) &&
            TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK) &&
            TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE) &&
            TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
            TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, height);  // one strip per page, as ImageJ
  if (ok && description) ok = TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, description->c_str());
  if (ok && pixel_size_um > 0.0) {
    const double pixels_per_micron = 1.0 / pixel_size_um;
    ok = TIFFSetField(tif, TIFFTAG_XRESOLUTION, pixels_per_micron) &&
         TIFFSetField(tif, TIFFTAG_YRESOLUTION, pixels_per_micron) &&
         TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_NONE);
  }
  return ok;
}

/// Pass 1: every page's IFD, with the strip offset/byte count entries left as placeholders.
template <typename T>
void write_directories(TIFF* tif, const fs::path& file, std::span<const ImageView<const T>> pages,
                       const std::string& description, double pixel_size_um) {
  const auto height = static_cast<std::uint32_t>(pages.front().height());
  const auto width = static_cast<std::uint32_t>(pages.front().width());
  for (std::size_t k = 0; k < pages.size(); ++k) {
    const bool ok =
        set_page_tags<T>(tif, height, width, k == 0 ? &description : nullptr, pixel_size_um) &&
        TIFFDeferStrileArrayWriting(tif) && TIFFWriteCheck(tif, 0, "write_tiff") &&
        TIFFWriteDirectory(tif);
    if (!ok) fail_output(file, "header of page " + std::to_string(k));
  }
}

/// Pass 2 (file reopened for update): each page's pixels, appended in page order, so the pixel
/// data of consecutive pages are contiguous; then its strip entries are filled in.
template <typename T>
void write_pixel_data(TIFF* tif, const fs::path& file, std::span<const ImageView<const T>> pages) {
  std::vector<T> strip;
  for (std::size_t k = 0; k < pages.size(); ++k) {
    const ImageView<const T>& page = pages[k];
    const auto bytes = static_cast<tmsize_t>(page.height() * page.width() * sizeof(T));
    if (!TIFFSetDirectory(tif, static_cast<tdir_t>(k)))
      fail_output(file, "pixel data of page " + std::to_string(k));
    bool ok = false;
    if (!TIFFIsByteSwapped(tif) && (page.stride() == page.width() || page.height() <= 1)) {
      // Uncompressed, in the machine's byte order: the raw strip is the pixels as they are in
      // memory, written straight from the view (TIFFWriteRawStrip only reads its input; the
      // encoded path would copy the strip twice, through libtiff's buffer, for the same bytes).
      ok = TIFFWriteRawStrip(tif, 0, const_cast<T*>(page.row(0)), bytes) == bytes;
    } else {
      strip.clear();  // packed copy: the view is strided, or libtiff swaps the bytes in place
      for (std::size_t r = 0; r < page.height(); ++r)
        strip.insert(strip.end(), page.row(r), page.row(r) + page.width());
      ok = TIFFWriteEncodedStrip(tif, 0, strip.data(), bytes) == bytes;
    }
    ok = ok && TIFFForceStrileArrayWriting(tif);
    if (!ok) fail_output(file, "pixel data of page " + std::to_string(k));
  }
  if (!TIFFFlush(tif)) fail_output(file, "flushing to disk");
}

template <typename T>
void write_pages(const fs::path& file, std::span<const ImageView<const T>> pages,
                 const TiffWriteOptions& options) {
  begin_libtiff_call();
  check_pages(file, pages);
  check_options(options);
  const std::string description = imagej_description(pages, options);

  PartialFileGuard guard(file);  // declared first: the TIFF is closed before the file is removed
  TiffPtr tif(TIFFOpen(file.c_str(), "w"));
  if (!tif) fail_output(file, "the file cannot be created");
  guard.arm();  // only now is the file ours to remove
  write_directories<T>(tif.get(), file, pages, description, options.pixel_size_um);
  tif.reset();

  tif.reset(TIFFOpen(file.c_str(), "r+"));
  if (!tif) fail_output(file, "the file cannot be reopened to write the pixel data");
  write_pixel_data<T>(tif.get(), file, pages);
  tif.reset();
  guard.release();
}

// ---------------------------------------------------------------------------------------------
// Folders.

/// <0, 0, >0 like strcmp; runs of digits compare by numeric value, everything else byte-wise.
int compare_natural(std::string_view a, std::string_view b) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t i_end = i, j_end = j;
      while (i_end < a.size() && digit(a[i_end])) ++i_end;
      while (j_end < b.size() && digit(b[j_end])) ++j_end;
      while (i + 1 < i_end && a[i] == '0') ++i;  // leading zeros do not change the value
      while (j + 1 < j_end && b[j] == '0') ++j;
      if (i_end - i != j_end - j) return i_end - i < j_end - j ? -1 : 1;
      if (const int c = a.substr(i, i_end - i).compare(b.substr(j, j_end - j)); c != 0) return c;
      i = i_end;
      j = j_end;
    } else {
      const auto ca = static_cast<unsigned char>(a[i]), cb = static_cast<unsigned char>(b[j]);
      if (ca != cb) return ca < cb ? -1 : 1;
      ++i;
      ++j;
    }
  }
  if (i == a.size() && j == b.size()) return 0;
  return i == a.size() ? -1 : 1;
}

/// Natural order, made total by a byte-wise tie-break ("img_01" vs "img_1").
bool natural_less(const fs::path& a, const fs::path& b) {
  const std::string na = a.filename().string(), nb = b.filename().string();
  const int c = compare_natural(na, nb);
  return c != 0 ? c < 0 : na < nb;
}

bool has_tiff_extension(const fs::path& file) {
  std::string extension = file.extension().string();
  for (char& c : extension)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return extension == ".tif" || extension == ".tiff";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public functions.

TiffInfo probe_tiff(const fs::path& file) {
  begin_libtiff_call();
  const TiffPtr tif = open_for_reading(file);
  TiffInfo info;
  info.pages = count_pages(tif.get(), file);
  const PageFormat f = read_page_format(tif.get(), file, 0);
  info.height = f.height;
  info.width = f.width;
  info.sample_type = f.type;
  info.compression = f.compression;
  info.tiled = f.tiled;
  info.description = read_description(tif.get());
  info.pixel_size_um = read_pixel_size_um(tif.get(), info.description);
  return info;
}

namespace {
/// Calls `read(format, page)` for every page of the open `tif`, positioned on page 0 whose format
/// is `first`, after checking that each page has page 0's size and type.
template <typename Read>
void for_each_page(TIFF* tif, const fs::path& file, std::size_t pages, const PageFormat& first,
                   Read&& read) {
  read(first, 0);
  for (std::size_t k = 1; k < pages; ++k) {
    if (!TIFFReadDirectory(tif))
      fail_libtiff_input(
          file, "truncated or damaged: directory of page " + std::to_string(k) + " cannot be read");
    const PageFormat f = read_page_format(tif, file, k);
    check_same_layout(file, k, f, first);
    read(f, k);
  }
}
}  // namespace

TiffImages read_tiff(const fs::path& file) {
  begin_libtiff_call();
  const TiffPtr tif = open_for_reading(file);
  const std::size_t pages = count_pages(tif.get(), file);
  TiffImages result;
  const PageFormat first = read_page_format(tif.get(), file, 0);
  result.sample_type = first.type;
  result.description = read_description(tif.get());
  result.pixel_size_um = read_pixel_size_um(tif.get(), result.description);
  result.pages.reserve(pages);
  for_each_page(tif.get(), file, pages, first, [&](const PageFormat& f, std::size_t k) {
    result.pages.push_back(read_pixels(tif.get(), f, file, k));
  });
  return result;
}

std::vector<Image<std::uint16_t>> read_tiff_uint16(const fs::path& file) {
  begin_libtiff_call();
  const TiffPtr tif = open_for_reading(file);
  const std::size_t pages = count_pages(tif.get(), file);
  const PageFormat first = read_page_format(tif.get(), file, 0);
  if (first.type != SampleType::uint16)
    fail_input(file, "page 0 is " + to_string(first.type) + ", expected uint16");
  std::vector<Image<std::uint16_t>> result;
  result.reserve(pages);
  for_each_page(tif.get(), file, pages, first, [&](const PageFormat& f, std::size_t k) {
    result.push_back(read_pixels_as<std::uint16_t, std::uint16_t>(tif.get(), f, file, k));
  });
  return result;
}

void write_tiff(const fs::path& file, ImageView<const float> image,
                const TiffWriteOptions& options) {
  write_pages<float>(file, std::span(&image, 1), options);
}

void write_tiff(const fs::path& file, ImageView<const std::uint8_t> image,
                const TiffWriteOptions& options) {
  write_pages<std::uint8_t>(file, std::span(&image, 1), options);
}

void write_tiff(const fs::path& file, ImageView<const std::uint16_t> image,
                const TiffWriteOptions& options) {
  write_pages<std::uint16_t>(file, std::span(&image, 1), options);
}

void write_tiff_pages(const fs::path& file,
                      const std::vector<ImageView<const std::uint16_t>>& pages,
                      const TiffWriteOptions& options) {
  write_pages<std::uint16_t>(file, pages, options);
}

void write_tiff_pages(const fs::path& file, const std::vector<ImageView<const float>>& pages,
                      const TiffWriteOptions& options) {
  write_pages<float>(file, pages, options);
}

std::vector<fs::path> list_tiff_folder(const fs::path& folder) {
  std::error_code ec;
  const fs::file_status status = fs::status(folder, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw InputError(quoted(folder) + ": cannot be accessed: " + ec.message());
  if (!fs::exists(status)) throw InputError(quoted(folder) + ": folder not found");
  if (!fs::is_directory(status)) throw InputError(quoted(folder) + ": is not a folder");

  std::vector<fs::path> files;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    std::error_code type_ec;
    if (name.empty() || name.front() == '.' || !has_tiff_extension(path) ||
        !it->is_regular_file(type_ec))
      continue;
    files.push_back(path);
  }
  if (ec) throw InputError(quoted(folder) + ": cannot list the folder: " + ec.message());
  if (files.empty()) throw InputError(quoted(folder) + ": folder holds no .tif or .tiff file");
  std::sort(files.begin(), files.end(), natural_less);
  return files;
}

}  // namespace xanesmap
