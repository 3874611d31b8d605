// Tests of io/formats/tiff_io: round trips through our writer, files written directly with libtiff
// in layouts our writer never produces (tiles, compression, other sample types, big-endian), the
// ImageJ conventions of the output, error messages, and folder listing.
#include "io/formats/tiff_io.hpp"

#include <tiffio.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/base/error.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;
namespace fs = std::filesystem;

namespace {

struct TiffCloser {
  void operator()(TIFF* tif) const noexcept { TIFFClose(tif); }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

TiffPtr open_tiff(const fs::path& file, const char* mode) {
  TiffPtr tif(TIFFOpen(file.c_str(), mode));
  REQUIRE(tif);
  return tif;
}

/// A deterministic pattern, distinct per page, row and column.
template <typename T>
Image<T> pattern(std::size_t height, std::size_t width, double scale, double offset) {
  Image<T> image(height, width);
  for (std::size_t r = 0; r < height; ++r)
    for (std::size_t c = 0; c < width; ++c)
      image(r, c) = static_cast<T>(offset + scale * static_cast<double>(r * width + c));
  return image;
}

/// How write_with_libtiff lays the pixels out.
struct Layout {
  std::uint16_t compression = COMPRESSION_NONE;
  std::uint16_t predictor = PREDICTOR_NONE;
  std::uint32_t tile = 0;            // tile side; 0 = strips
  std::uint32_t rows_per_strip = 0;  // 0 = one strip per page
  bool big_endian = false;
};

template <typename T>
constexpr std::uint16_t sample_format_of() {
  if constexpr (std::is_floating_point_v<T>) return SAMPLEFORMAT_IEEEFP;
  if constexpr (std::is_signed_v<T>) return SAMPLEFORMAT_INT;
  return SAMPLEFORMAT_UINT;
}

template <typename T>
void write_strips(TIFF* tif, const Image<T>& page, std::uint32_t rows_per_strip) {
  const auto height = static_cast<std::uint32_t>(page.height());
  for (std::uint32_t row0 = 0, strip = 0; row0 < height; row0 += rows_per_strip, ++strip) {
    const std::uint32_t rows = std::min(rows_per_strip, height - row0);
    std::vector<T> buffer(page.row(row0), page.row(row0) + std::size_t{rows} * page.width());
    const auto bytes = static_cast<tmsize_t>(buffer.size() * sizeof(T));
    REQUIRE(TIFFWriteEncodedStrip(tif, strip, buffer.data(), bytes) == bytes);
  }
}

template <typename T>
void write_tiles(TIFF* tif, const Image<T>& page, std::uint32_t tile) {
  for (std::uint32_t y = 0; y < page.height(); y += tile) {
    for (std::uint32_t x = 0; x < page.width(); x += tile) {
      std::vector<T> buffer(std::size_t{tile} * tile, T{});  // edge tiles padded with zeros
      for (std::uint32_t r = 0; r < tile && y + r < page.height(); ++r)
        for (std::uint32_t c = 0; c < tile && x + c < page.width(); ++c)
          buffer[std::size_t{r} * tile + c] = page(y + r, x + c);
      const auto bytes = static_cast<tmsize_t>(buffer.size() * sizeof(T));
      REQUIRE(TIFFWriteEncodedTile(tif, TIFFComputeTile(tif, x, y, 0, 0), buffer.data(), bytes) ==
              bytes);
    }
  }
}

/// Writes `pages` with plain libtiff (data first, IFD after: libtiff's default layout).
template <typename T>
void write_with_libtiff(const fs::path& file, const std::vector<Image<T>>& pages,
                        const Layout& layout = {}) {
  TiffPtr tif = open_tiff(file, layout.big_endian ? "wb" : "wl");
  for (const Image<T>& page : pages) {
    const auto height = static_cast<std::uint32_t>(page.height());
    TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(page.width()));
    TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, height);
    TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, static_cast<int>(8 * sizeof(T)));
    TIFFSetField(tif.get(), TIFFTAG_SAMPLEFORMAT, sample_format_of<T>());
    TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tif.get(), TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    REQUIRE(TIFFSetField(tif.get(), TIFFTAG_COMPRESSION, layout.compression));
    if (layout.predictor != PREDICTOR_NONE)
      REQUIRE(TIFFSetField(tif.get(), TIFFTAG_PREDICTOR, layout.predictor));
    if (layout.tile) {
      TIFFSetField(tif.get(), TIFFTAG_TILEWIDTH, layout.tile);
      TIFFSetField(tif.get(), TIFFTAG_TILELENGTH, layout.tile);
      write_tiles(tif.get(), page, layout.tile);
    } else {
      const std::uint32_t rows = layout.rows_per_strip ? layout.rows_per_strip : height;
      TIFFSetField(tif.get(), TIFFTAG_ROWSPERSTRIP, rows);
      write_strips(tif.get(), page, rows);
    }
    REQUIRE(TIFFWriteDirectory(tif.get()));
  }
}

/// Writes a 4x4 uint8 image with the given resolution tags and description.
void write_with_resolution(const fs::path& file, float x_resolution, int unit,
                           const char* description) {
  TiffPtr tif = open_tiff(file, "w");
  TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, 4u);
  TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, 4u);
  TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif.get(), TIFFTAG_XRESOLUTION, static_cast<double>(x_resolution));
  TIFFSetField(tif.get(), TIFFTAG_YRESOLUTION, static_cast<double>(x_resolution));
  if (unit) TIFFSetField(tif.get(), TIFFTAG_RESOLUTIONUNIT, unit);
  if (description) TIFFSetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, description);
  std::vector<std::uint8_t> pixels(16, 7);
  REQUIRE(TIFFWriteEncodedStrip(tif.get(), 0, pixels.data(), 16) == 16);
}

template <typename T>
void require_equal_as_float(const Image<float>& got, const Image<T>& expected) {
  REQUIRE(got.height() == expected.height());
  REQUIRE(got.width() == expected.width());
  for (std::size_t i = 0; i < got.size(); ++i)
    REQUIRE(got.pixels()[i] == static_cast<float>(expected.pixels()[i]));
}

bool same_bits(float a, float b) {
  std::uint32_t ba = 0, bb = 0;
  std::memcpy(&ba, &a, sizeof a);
  std::memcpy(&bb, &b, sizeof b);
  return ba == bb;
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

/// Overwrites the value of a SHORT tag of the first IFD of a little-endian classic TIFF.
void patch_short_tag(const fs::path& file, std::uint16_t tag, std::uint16_t value) {
  std::fstream io(file, std::ios::binary | std::ios::in | std::ios::out);
  const auto read_u16 = [&](std::streamoff at) {
    unsigned char b[2] = {};
    io.seekg(at);
    io.read(reinterpret_cast<char*>(b), 2);
    return static_cast<std::uint16_t>(b[0] | (b[1] << 8));
  };
  unsigned char header[8] = {};
  io.read(reinterpret_cast<char*>(header), 8);
  REQUIRE((header[0] == 'I' && header[1] == 'I'));
  const std::streamoff ifd = header[4] | (header[5] << 8) | (header[6] << 16) | (header[7] << 24);
  const std::uint16_t entries = read_u16(ifd);
  for (std::uint16_t e = 0; e < entries; ++e) {
    const std::streamoff entry = ifd + 2 + 12 * std::streamoff{e};
    if (read_u16(entry) != tag) continue;
    REQUIRE(read_u16(entry + 2) == TIFF_SHORT);
    const unsigned char bytes[2] = {static_cast<unsigned char>(value & 0xFF),
                                    static_cast<unsigned char>(value >> 8)};
    io.seekp(entry + 8);
    io.write(reinterpret_cast<const char*>(bytes), 2);
    return;
  }
  FAIL("tag " << tag << " not found");
}

void truncate_to_half(const fs::path& file) { fs::resize_file(file, fs::file_size(file) / 2); }

/// Runs `action`, requires an InputError, and returns its message.
template <typename Action>
std::string input_error_of(Action&& action) {
  try {
    action();
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("no InputError thrown");
  return "";
}

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

}  // namespace

TEST_CASE("float32 round trip keeps values bit-exact, NaN and the pixel size", "[tiff]") {
  test::TempDir dir;
  const fs::path file = dir / "map.tif";
  Image<float> image = pattern<float>(17, 23, 0.37, -3.1);
  image(0, 0) = std::numeric_limits<float>::quiet_NaN();
  image(5, 7) = -std::numeric_limits<float>::quiet_NaN();
  image(16, 22) = 1e-38f;  // subnormal-adjacent value must survive untouched

  write_tiff(file, image.view(), {.pixel_size_um = 0.03, .extra_description = ""});
  const TiffImages read = read_tiff(file);

  REQUIRE(read.pages.size() == 1);
  CHECK(read.sample_type == SampleType::float32);
  const Image<float>& page = read.pages.front();
  REQUIRE(page.height() == 17);
  REQUIRE(page.width() == 23);
  for (std::size_t i = 0; i < page.size(); ++i)
    REQUIRE(same_bits(page.pixels()[i], image.pixels()[i]));
  CHECK(std::isnan(page(0, 0)));
  CHECK(std::isnan(page(5, 7)));

  // libtiff keeps XResolution as a 32-bit float (TIFFSetField/TIFFGetField use float), so 1/0.03
  // is rounded to float on writing and again on reading: each rounding is at most 2^-24
  // relative. 2^-22 (2.4e-7) covers both with margin. (A 1e-9 bound would need parsing the
  // RATIONAL ourselves; ImageJ's own writer only keeps about 1e-8.)
  REQUIRE(read.pixel_size_um.has_value());
  CHECK(*read.pixel_size_um == Approx(0.03).epsilon(std::ldexp(1.0, -22)));
  CHECK_THAT(read.description, StartsWith("ImageJ="));
  CHECK_THAT(read.description, Contains("\nunit=micron\n"));
}

TEST_CASE("uint16 and uint8 round trip, strided views included", "[tiff]") {
  test::TempDir dir;

  SECTION("uint16 from a strided view") {
    const Image<std::uint16_t> full = pattern<std::uint16_t>(20, 30, 97.0, 5.0);
    // The 12x10 block at (3, 4): stride 30, width 10.
    const ImageView<const std::uint16_t> block(full.row(3) + 4, 12, 10, full.width());
    write_tiff(dir / "u16.tif", block);
    const TiffImages read = read_tiff(dir / "u16.tif");
    CHECK(read.sample_type == SampleType::uint16);
    CHECK_FALSE(read.pixel_size_um.has_value());
    REQUIRE(read.pages.size() == 1);
    require_equal_as_float(read.pages[0], Image<std::uint16_t>(block));
  }
  SECTION("uint8 with the extremes") {
    Image<std::uint8_t> image = pattern<std::uint8_t>(9, 11, 1.0, 0.0);
    image(8, 10) = 255;
    write_tiff(dir / "u8.tif", image.view(), {.pixel_size_um = 1.5, .extra_description = ""});
    const TiffImages read = read_tiff(dir / "u8.tif");
    CHECK(read.sample_type == SampleType::uint8);
    // 1/1.5 goes through float twice (see the float32 test): 2^-22 relative.
    REQUIRE(read.pixel_size_um.has_value());
    CHECK(*read.pixel_size_um == Approx(1.5).epsilon(std::ldexp(1.0, -22)));
    require_equal_as_float(read.pages.at(0), image);
    CHECK_THAT(read.description, !Contains("min="));  // min/max only for float data
  }
}

TEST_CASE("multi-page uint16 and float round trip as an ImageJ stack", "[tiff]") {
  test::TempDir dir;
  const fs::path file = dir / "stack.tif";
  std::size_t bytes_per_page = 0;

  SECTION("uint16") {
    const std::vector<Image<std::uint16_t>> pages = {pattern<std::uint16_t>(6, 5, 3.0, 0.0),
                                                     pattern<std::uint16_t>(6, 5, 5.0, 100.0),
                                                     pattern<std::uint16_t>(6, 5, 7.0, 60000.0)};
    write_tiff_pages(file, {pages[0].view(), pages[1].view(), pages[2].view()});
    const TiffImages read = read_tiff(file);
    CHECK(read.sample_type == SampleType::uint16);
    REQUIRE(read.pages.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) require_equal_as_float(read.pages[k], pages[k]);
    bytes_per_page = 6 * 5 * 2;
  }
  SECTION("float") {
    std::vector<Image<float>> pages = {pattern<float>(6, 5, 0.5, -2.0),
                                       pattern<float>(6, 5, 0.25, 9.0)};
    pages[1](2, 2) = std::numeric_limits<float>::quiet_NaN();
    write_tiff_pages(file, {pages[0].view(), pages[1].view()},
                     {.pixel_size_um = 0.65, .extra_description = "energy_eV=7112.5"});
    const TiffImages read = read_tiff(file);
    CHECK(read.sample_type == SampleType::float32);
    REQUIRE(read.pages.size() == 2);
    for (std::size_t k = 0; k < 2; ++k)
      for (std::size_t i = 0; i < pages[k].size(); ++i)
        REQUIRE(same_bits(read.pages[k].pixels()[i], pages[k].pixels()[i]));
    // min/max over the finite values of all pages; the NaN is skipped.
    CHECK(read.description ==
          "ImageJ=1.11a\nimages=2\nslices=2\nunit=micron\nmin=-2\nmax=16.25\n"
          "energy_eV=7112.5\n");
    bytes_per_page = 6 * 5 * 4;
  }

  // ImageJ reads a stack whose description says images=N as N images back to back from the
  // first strip: each page is one strip and strips are contiguous.
  const TiffInfo info = probe_tiff(file);
  CHECK_THAT(info.description, Contains("images=" + std::to_string(info.pages) + "\nslices="));
  TiffPtr tif = open_tiff(file, "r");
  const std::uint64_t first_offset = TIFFGetStrileOffset(tif.get(), 0);
  for (std::size_t k = 0; k < info.pages; ++k) {
    REQUIRE(TIFFSetDirectory(tif.get(), static_cast<tdir_t>(k)));
    CHECK(TIFFNumberOfStrips(tif.get()) == 1);
    CHECK(TIFFGetStrileByteCount(tif.get(), 0) == bytes_per_page);
    CHECK(TIFFGetStrileOffset(tif.get(), 0) == first_offset + k * bytes_per_page);
    const char* description = nullptr;
    CHECK(TIFFGetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, &description) == (k == 0 ? 1 : 0));
  }
}

TEST_CASE("read_tiff_uint16 keeps uint16 pages as they are and refuses other types", "[tiff]") {
  test::TempDir dir;
  const std::vector<Image<std::uint16_t>> pages = {pattern<std::uint16_t>(37, 53, 11.0, 1.0),
                                                   pattern<std::uint16_t>(37, 53, 31.0, 100.0)};
  SECTION("striped, as written by write_tiff_pages") {
    write_tiff_pages(dir / "u16.tif", {pages[0].view(), pages[1].view()});
    const auto read = read_tiff_uint16(dir / "u16.tif");
    REQUIRE(read.size() == 2);
    for (std::size_t k = 0; k < 2; ++k)
      CHECK(std::ranges::equal(read[k].pixels(), pages[k].pixels()));
  }
  SECTION("tiled with partial edge tiles") {
    write_with_libtiff(dir / "u16.tif", pages, {.tile = 16});
    const auto read = read_tiff_uint16(dir / "u16.tif");
    REQUIRE(read.size() == 2);
    for (std::size_t k = 0; k < 2; ++k)
      CHECK(std::ranges::equal(read[k].pixels(), pages[k].pixels()));
  }
  SECTION("a float file is refused, naming it") {
    const Image<float> page = pattern<float>(4, 4, 0.5, 1.0);
    write_tiff(dir / "f.tif", page.view());
    CHECK_THROWS_WITH(read_tiff_uint16(dir / "f.tif"),
                      Contains("f.tif") && Contains("page 0 is float32, expected uint16"));
  }
}

TEST_CASE("written tags follow ImageJ's TiffEncoder", "[tiff]") {
  test::TempDir dir;
  const fs::path file = dir / "tags.tif";
  const Image<float> image = pattern<float>(4, 3, 1.0, 0.0);

  SECTION("with a pixel size") {
    write_tiff(file, image.view(), {.pixel_size_um = 0.025, .extra_description = "a=1\nb=2"});
    TiffPtr tif = open_tiff(file, "r");
    std::uint16_t bits = 0, format = 0, photometric = 9, compression = 0, samples = 0, unit = 0;
    std::uint32_t rows_per_strip = 0;
    float x_resolution = 0, y_resolution = 0;
    const char* description = nullptr;
    TIFFGetField(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetField(tif.get(), TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetField(tif.get(), TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetField(tif.get(), TIFFTAG_COMPRESSION, &compression);
    TIFFGetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetField(tif.get(), TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
    REQUIRE(TIFFGetField(tif.get(), TIFFTAG_RESOLUTIONUNIT, &unit));
    REQUIRE(TIFFGetField(tif.get(), TIFFTAG_XRESOLUTION, &x_resolution));
    REQUIRE(TIFFGetField(tif.get(), TIFFTAG_YRESOLUTION, &y_resolution));
    REQUIRE(TIFFGetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, &description));
    CHECK(bits == 32);
    CHECK(format == SAMPLEFORMAT_IEEEFP);
    CHECK(photometric == PHOTOMETRIC_MINISBLACK);
    CHECK(compression == COMPRESSION_NONE);
    CHECK(samples == 1);
    CHECK(rows_per_strip == 4);
    CHECK(unit == RESUNIT_NONE);
    // Pixels per micron, stored via float by libtiff: 2^-24 relative on writing, with margin.
    CHECK(x_resolution == Approx(40.0).epsilon(1e-7));
    CHECK(y_resolution == x_resolution);
    CHECK(std::string(description) == "ImageJ=1.11a\nunit=micron\nmin=0\nmax=11\na=1\nb=2\n");
  }
  SECTION("without a pixel size: no resolution tags, no unit") {
    write_tiff(file, image.view());
    TiffPtr tif = open_tiff(file, "r");
    float x_resolution = 0;
    CHECK_FALSE(TIFFGetField(tif.get(), TIFFTAG_XRESOLUTION, &x_resolution));
    CHECK_FALSE(read_tiff(file).pixel_size_um.has_value());
    CHECK(read_tiff(file).description == "ImageJ=1.11a\nmin=0\nmax=11\n");
  }
  SECTION("an all-NaN image has no min/max") {
    const Image<float> nan_image(2, 2, std::numeric_limits<float>::quiet_NaN());
    write_tiff(file, nan_image.view());
    CHECK(read_tiff(file).description == "ImageJ=1.11a\n");
  }
}

TEST_CASE("read_tiff decodes layouts written directly with libtiff", "[tiff]") {
  test::TempDir dir;
  const fs::path file = dir / "other.tif";

  SECTION("tiled uint16 with partial edge tiles, two pages") {
    const std::vector<Image<std::uint16_t>> pages = {pattern<std::uint16_t>(37, 53, 11.0, 1.0),
                                                     pattern<std::uint16_t>(37, 53, 3.0, 7.0)};
    write_with_libtiff(file, pages, {.tile = 16});
    const TiffInfo info = probe_tiff(file);
    CHECK(info.tiled);
    CHECK(info.pages == 2);
    const TiffImages read = read_tiff(file);
    REQUIRE(read.pages.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) require_equal_as_float(read.pages[k], pages[k]);
  }
  SECTION("LZW with predictor, several strips, partial last strip") {
    const std::vector<Image<std::uint16_t>> pages = {pattern<std::uint16_t>(29, 31, 1.0, 40.0)};
    write_with_libtiff(
        file, pages,
        {.compression = COMPRESSION_LZW, .predictor = PREDICTOR_HORIZONTAL, .rows_per_strip = 8});
    CHECK(probe_tiff(file).compression == COMPRESSION_LZW);
    require_equal_as_float(read_tiff(file).pages.at(0), pages[0]);
  }
  SECTION("tiled Deflate float32 with the floating-point predictor") {
    std::vector<Image<float>> pages = {pattern<float>(20, 40, -0.125, 3.0)};
    pages[0](19, 39) = std::numeric_limits<float>::quiet_NaN();
    write_with_libtiff(file, pages,
                       {.compression = COMPRESSION_ADOBE_DEFLATE,
                        .predictor = PREDICTOR_FLOATINGPOINT,
                        .tile = 16});
    const Image<float> read = read_tiff(file).pages.at(0);
    for (std::size_t i = 0; i < read.size(); ++i)
      REQUIRE(same_bits(read.pixels()[i], pages[0].pixels()[i]));
  }
  SECTION("big-endian int16 with negative values") {
    const std::vector<Image<std::int16_t>> pages = {pattern<std::int16_t>(7, 9, 501.0, -16000.0)};
    write_with_libtiff(file, pages, {.rows_per_strip = 2, .big_endian = true});
    const TiffImages read = read_tiff(file);
    CHECK(read.sample_type == SampleType::int16);
    require_equal_as_float(read.pages.at(0), pages[0]);
  }
  SECTION("uint32, including values above 2^24 that float rounds") {
    std::vector<Image<std::uint32_t>> pages = {pattern<std::uint32_t>(5, 6, 1000.0, 0.0)};
    pages[0](0, 0) = 16777217u;    // 2^24 + 1: nearest float is 2^24
    pages[0](4, 5) = 4294967295u;  // 2^32 - 1: nearest float is 2^32
    write_with_libtiff(file, pages);
    const TiffImages read = read_tiff(file);
    CHECK(read.sample_type == SampleType::uint32);
    require_equal_as_float(read.pages.at(0), pages[0]);
    CHECK(read.pages[0](0, 0) == 16777216.0f);
    CHECK(read.pages[0](4, 5) == 4294967296.0f);
  }
  SECTION("int8 and int32") {
    write_with_libtiff(file, std::vector{pattern<std::int8_t>(4, 8, 1.0, -16.0)});
    CHECK(read_tiff(file).sample_type == SampleType::int8);
    CHECK(read_tiff(file).pages.at(0)(0, 0) == -16.0f);
    write_with_libtiff(file, std::vector{pattern<std::int32_t>(4, 8, -70000.0, 5.0)});
    const TiffImages read = read_tiff(file);
    CHECK(read.sample_type == SampleType::int32);
    CHECK(read.pages.at(0)(3, 7) == static_cast<float>(5.0 - 70000.0 * 31));
  }
  SECTION("float64, out-of-float-range values saturate to infinity") {
    std::vector<Image<double>> pages = {pattern<double>(3, 4, 0.5, -1.0)};
    pages[0](0, 1) = 1e300;
    pages[0](0, 2) = -1e300;
    pages[0](0, 3) = std::numeric_limits<double>::quiet_NaN();
    write_with_libtiff(file, pages, {.compression = COMPRESSION_LZW});
    const TiffImages read = read_tiff(file);
    CHECK(read.sample_type == SampleType::float64);
    const Image<float>& page = read.pages.at(0);
    CHECK(page(0, 0) == -1.0f);
    CHECK(page(2, 3) == 4.5f);
    CHECK(page(0, 1) == std::numeric_limits<float>::infinity());
    CHECK(page(0, 2) == -std::numeric_limits<float>::infinity());
    CHECK(std::isnan(page(0, 3)));
  }
}

TEST_CASE("pixel size follows the description unit or ResolutionUnit", "[tiff]") {
  test::TempDir dir;
  const fs::path file = dir / "res.tif";
  // Resolutions below are exact in float (powers of two or small integers), so the results are
  // exact up to the final division: 1e-12 relative is a double-rounding margin only.
  const auto pixel_size = [&] { return read_tiff(file).pixel_size_um; };

  SECTION("ImageJ micron description, ResolutionUnit NONE") {
    write_with_resolution(file, 4.0f, RESUNIT_NONE, "ImageJ=1.53t\nunit=micron\n");
    REQUIRE(pixel_size());
    CHECK(*pixel_size() == Approx(0.25).epsilon(1e-12));
  }
  SECTION("unit=um and the UTF-8 micro sign are also micrometres") {
    write_with_resolution(file, 2.0f, 0, "ImageJ=1.54f\nunit=um\n");
    CHECK(*pixel_size() == Approx(0.5).epsilon(1e-12));
    write_with_resolution(file, 8.0f, RESUNIT_NONE, "ImageJ=1.54f\nunit=\xC2\xB5m\n");
    CHECK(*pixel_size() == Approx(0.125).epsilon(1e-12));
  }
  SECTION("centimetre") {
    write_with_resolution(file, 20000.0f, RESUNIT_CENTIMETER, nullptr);
    CHECK(*pixel_size() == Approx(0.5).epsilon(1e-12));
  }
  SECTION("inch") {
    write_with_resolution(file, 1000.0f, RESUNIT_INCH, nullptr);
    CHECK(*pixel_size() == Approx(25.4).epsilon(1e-12));
  }
  SECTION("ResolutionUnit NONE without a micron description means unknown") {
    write_with_resolution(file, 4.0f, RESUNIT_NONE, "ImageJ=1.53t\nunit=pixel\n");
    CHECK_FALSE(pixel_size().has_value());
  }
  SECTION("'unit=micron' must be a whole line") {
    write_with_resolution(file, 4.0f, RESUNIT_NONE, "comment=unit=microns are great\n");
    CHECK_FALSE(pixel_size().has_value());
  }
}

TEST_CASE("read_tiff errors are InputErrors naming the file and the problem", "[tiff]") {
  test::TempDir dir;
  const fs::path file = dir / "bad.tif";
  const std::string name = "'" + file.string() + "': ";

  SECTION("missing file") {
    const std::string message = input_error_of([&] { read_tiff(file); });
    CHECK(message == name + "file not found");
    CHECK_THROWS_AS(probe_tiff(file), InputError);
  }
  SECTION("a folder") {
    fs::create_directory(file);
    CHECK_THAT(input_error_of([&] { read_tiff(file); }), StartsWith(name) && Contains("folder"));
  }
  SECTION("a text file renamed .tif") {
    write_text(file, "energy,intensity\n7112,0.5\n");
    CHECK_THAT(input_error_of([&] { read_tiff(file); }),
               StartsWith(name) && Contains("not a TIFF"));
  }
  SECTION("an empty file") {
    write_text(file, "");
    CHECK_THAT(input_error_of([&] { read_tiff(file); }),
               StartsWith(name) && Contains("not a TIFF"));
  }
  SECTION("our layout truncated to half: the pixel data is cut") {
    write_tiff(file, pattern<std::uint16_t>(64, 64, 1.0, 0.0).view());
    truncate_to_half(file);
    const std::string message = input_error_of([&] { read_tiff(file); });
    CHECK_THAT(message, StartsWith(name) && Contains("truncated") && Contains("libtiff:"));
  }
  SECTION("libtiff's layout truncated to half: the directory is cut") {
    write_with_libtiff(file, std::vector{pattern<std::uint16_t>(64, 64, 1.0, 0.0)});
    truncate_to_half(file);
    CHECK_THAT(input_error_of([&] { read_tiff(file); }), StartsWith(name) && Contains("truncated"));
  }
  SECTION("a truncated compressed multi-page file") {
    const std::vector<Image<std::uint16_t>> pages(3, pattern<std::uint16_t>(64, 64, 13.0, 0.0));
    write_tiff_pages(file, {pages[0].view(), pages[1].view(), pages[2].view()});
    fs::resize_file(file, fs::file_size(file) - 100);
    CHECK_THAT(input_error_of([&] { read_tiff(file); }),
               StartsWith(name) && Contains("page 2") && Contains("truncated"));
  }
  SECTION("RGB") {
    TiffPtr tif = open_tiff(file, "w");
    TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, 2u);
    TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, 2u);
    TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(tif.get(), TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    std::vector<std::uint8_t> rgb(12, 200);
    REQUIRE(TIFFWriteEncodedStrip(tif.get(), 0, rgb.data(), 12) == 12);
    tif.reset();
    CHECK_THAT(input_error_of([&] { read_tiff(file); }),
               StartsWith(name) && Contains("3 samples per pixel"));
  }
  SECTION("pages of different sizes") {
    write_with_libtiff(file, std::vector{pattern<std::uint16_t>(4, 4, 1.0, 0.0),
                                         pattern<std::uint16_t>(5, 6, 1.0, 0.0)});
    CHECK(input_error_of([&] { read_tiff(file); }) == name + "page 1 is 5x6 but page 0 is 4x4");
  }
  SECTION("pages of different types") {
    TiffPtr tif = open_tiff(file, "w");
    for (int bits : {16, 8}) {
      TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, 2u);
      TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, 2u);
      TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, bits);
      TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, 1);
      TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      std::vector<std::uint8_t> pixels(8, 1);
      const auto bytes = static_cast<tmsize_t>(bits / 2);
      REQUIRE(TIFFWriteEncodedStrip(tif.get(), 0, pixels.data(), bytes) == bytes);
      REQUIRE(TIFFWriteDirectory(tif.get()));
    }
    tif.reset();
    CHECK(input_error_of([&] { read_tiff(file); }) ==
          name + "page 1 is uint8 but page 0 is uint16");
  }
  SECTION("unsupported sample format") {
    TiffPtr tif = open_tiff(file, "w");
    TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, 2u);
    TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, 2u);
    TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, 64);
    TIFFSetField(tif.get(), TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
    TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    std::vector<std::uint64_t> pixels(4, 1);
    REQUIRE(TIFFWriteEncodedStrip(tif.get(), 0, pixels.data(), 32) == 32);
    tif.reset();
    CHECK_THAT(input_error_of([&] { read_tiff(file); }),
               StartsWith(name) && Contains("64-bit unsigned integer"));
  }
  SECTION("a compression scheme libtiff cannot decode") {
    write_tiff(file, pattern<std::uint16_t>(4, 4, 1.0, 0.0).view());
    patch_short_tag(file, TIFFTAG_COMPRESSION, 34712);  // JPEG 2000: not a libtiff codec
    const std::string message = input_error_of([&] { read_tiff(file); });
    CHECK_THAT(message, StartsWith(name) && Contains("34712") && Contains("cannot decode"));
  }
  SECTION("zero-sized image") {
    write_tiff(file, pattern<std::uint16_t>(4, 4, 1.0, 0.0).view());
    patch_short_tag(file, TIFFTAG_IMAGEWIDTH, 0);
    // libtiff itself may reject the directory; either way the message names the file.
    CHECK_THAT(input_error_of([&] { read_tiff(file); }), StartsWith(name));
  }
}

TEST_CASE("libtiff errors stay with the thread that caused them", "[tiff]") {
  test::TempDir dir;
  constexpr std::size_t threads = 4;
  std::vector<fs::path> files;
  for (std::size_t t = 0; t < threads; ++t) {
    // Widths differ, so each truncated strip gives libtiff a distinct "expected N bytes". Kept
    // under 8 KiB: libtiff splits larger single strips when reading.
    files.push_back(dir / ("cut_" + std::to_string(t) + ".tif"));
    write_tiff(files.back(), Image<std::uint8_t>(64, 16 * (t + 1), 1).view());
    truncate_to_half(files.back());
  }
  std::vector<std::string> messages(threads);  // Catch2 assertions are not thread-safe
  {
    std::vector<std::jthread> workers;
    for (std::size_t t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        for (int repeat = 0; repeat < 20; ++repeat) {
          try {
            read_tiff(files[t]);
          } catch (const InputError& e) {
            messages[t] = e.what();
          }
        }
      });
  }
  for (std::size_t t = 0; t < threads; ++t) {
    CHECK_THAT(messages[t], StartsWith("'" + files[t].string() + "'"));
    CHECK_THAT(messages[t], Contains("expected " + std::to_string(64 * 16 * (t + 1))));
  }
}

TEST_CASE("write errors", "[tiff]") {
  test::TempDir dir;
  const Image<float> a(4, 4, 1.0f), b(4, 5, 1.0f);

  SECTION("pages of different sizes: InputError, no file") {
    const fs::path file = dir / "mixed.tif";
    CHECK_THROWS_WITH(write_tiff_pages(file, {a.view(), b.view()}),
                      "'" + file.string() + "': page 1 is 4x5 but page 0 is 4x4");
    CHECK_THROWS_AS(write_tiff_pages(file, {a.view(), b.view()}), InputError);
    CHECK_FALSE(fs::exists(file));
  }
  SECTION("empty image or no page") {
    const Image<std::uint16_t> empty;
    CHECK_THROWS_AS(write_tiff(dir / "e.tif", empty.view()), InputError);
    CHECK_THROWS_AS(write_tiff_pages(dir / "e.tif", std::vector<ImageView<const float>>{}),
                    InputError);
  }
  SECTION("bad pixel size: OptionError") {
    CHECK_THROWS_AS(
        write_tiff(dir / "p.tif", a.view(), {.pixel_size_um = -1.0, .extra_description = ""}),
        OptionError);
    CHECK_THROWS_AS(write_tiff(dir / "p.tif", a.view(),
                               {.pixel_size_um = std::numeric_limits<double>::quiet_NaN(),
                                .extra_description = ""}),
                    OptionError);
  }
  SECTION("unwritable path: OutputError naming the file") {
    const fs::path file = dir / "no_such_folder" / "x.tif";
    try {
      write_tiff(file, a.view());
      FAIL("no OutputError thrown");
    } catch (const OutputError& e) {
      CHECK_THAT(e.what(), StartsWith("'" + file.string() + "'"));
    }
    CHECK_FALSE(fs::exists(file));
  }
  SECTION("a folder in the way is not removed") {
    const fs::path file = dir / "folder.tif";
    fs::create_directory(file);
    CHECK_THROWS_AS(write_tiff(file, a.view()), OutputError);
    CHECK(fs::is_directory(file));
  }
}

TEST_CASE("probe_tiff reports the header without reading pixels", "[tiff]") {
  test::TempDir dir;
  const fs::path file = dir / "probe.tif";
  const std::vector<Image<std::uint16_t>> pages(4, pattern<std::uint16_t>(30, 40, 1.0, 0.0));
  write_tiff_pages(file, {pages[0].view(), pages[1].view(), pages[2].view(), pages[3].view()},
                   {.pixel_size_um = 0.5, .extra_description = ""});
  // Our writer puts every IFD before the pixel data: cutting the file in half leaves the headers
  // intact and the pixels incomplete. probe_tiff still works, read_tiff does not.
  truncate_to_half(file);

  const TiffInfo info = probe_tiff(file);
  CHECK(info.pages == 4);
  CHECK(info.height == 30);
  CHECK(info.width == 40);
  CHECK(info.sample_type == SampleType::uint16);
  CHECK(info.compression == COMPRESSION_NONE);
  CHECK_FALSE(info.tiled);
  REQUIRE(info.pixel_size_um);
  CHECK(*info.pixel_size_um == Approx(0.5).epsilon(1e-12));  // 2 px/um is exact in float
  CHECK_THAT(info.description, StartsWith("ImageJ=1.11a\nimages=4\nslices=4\n"));
  CHECK_THROWS_AS(read_tiff(file), InputError);
}

TEST_CASE("list_tiff_folder lists TIFFs in natural order", "[tiff]") {
  test::TempDir dir;
  const std::string name = "'" + dir.path().string() + "': ";

  SECTION("natural order, case-insensitive extensions, other entries skipped") {
    for (const char* file : {"img_10.tif", "img_2.TIF", "img_1.tiff", "img_02b.tif", "notes.txt",
                             "._img_3.tif", "img_9.tif.bak"})
      write_text(dir / file, "x");
    fs::create_directory(dir / "sub.tif");
    std::vector<std::string> names;
    for (const fs::path& p : list_tiff_folder(dir.path())) {
      CHECK(p.parent_path() == dir.path());
      names.push_back(p.filename().string());
    }
    CHECK(names ==
          std::vector<std::string>{"img_1.tiff", "img_2.TIF", "img_02b.tif", "img_10.tif"});
  }
  SECTION("equal numbers with different zero padding still order deterministically") {
    for (const char* file : {"a_1.tif", "a_01.tif", "a_001.tif"}) write_text(dir / file, "x");
    std::vector<std::string> names;
    for (const fs::path& p : list_tiff_folder(dir.path())) names.push_back(p.filename().string());
    CHECK(names == std::vector<std::string>{"a_001.tif", "a_01.tif", "a_1.tif"});
  }
  SECTION("an empty folder") {
    CHECK_THROWS_WITH(list_tiff_folder(dir.path()), StartsWith(name) && Contains("no .tif"));
  }
  SECTION("a folder without TIFF") {
    write_text(dir / "readme.md", "x");
    CHECK_THROWS_AS(list_tiff_folder(dir.path()), InputError);
  }
  SECTION("a missing folder and a file") {
    CHECK_THROWS_WITH(list_tiff_folder(dir / "missing"),
                      "'" + (dir / "missing").string() + "': folder not found");
    write_text(dir / "plain.tif", "x");
    CHECK_THROWS_WITH(list_tiff_folder(dir / "plain.tif"), Contains("is not a folder"));
  }
}

TEST_CASE("contiguous pages (written raw) and strided pages (written encoded) give the same file",
          "[tiff]") {
  // write_tiff writes a contiguous view straight from memory (TIFFWriteRawStrip) and packs a
  // strided one first (TIFFWriteEncodedStrip): for uncompressed data in the machine's byte
  // order both must produce the same bytes, header and pixels.
  test::TempDir dir;
  auto bytes_of = [](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  Image<float> wide = pattern<float>(17, 46, 0.25, -3.0);
  wide(2, 3) = std::numeric_limits<float>::quiet_NaN();
  const ImageView<const float> strided(wide.row(0) + 3, 17, 40, wide.width());
  const Image<float> packed(strided);
  const TiffWriteOptions options{.pixel_size_um = 0.03, .extra_description = "quantity=test"};
  write_tiff(dir / "strided.tif", strided, options);
  write_tiff(dir / "packed.tif", packed.view(), options);
  CHECK(bytes_of(dir / "strided.tif") == bytes_of(dir / "packed.tif"));
  const ImageView<const float> strided_second(wide.row(0), 17, 40, wide.width());
  const Image<float> packed_second(strided_second);
  write_tiff_pages(dir / "pages_strided.tif", {strided, strided_second}, options);
  write_tiff_pages(dir / "pages_packed.tif", {packed.view(), packed_second.view()}, options);
  CHECK(bytes_of(dir / "pages_strided.tif") == bytes_of(dir / "pages_packed.tif"));
}
