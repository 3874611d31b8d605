// TIFF reading and writing (libtiff), with ImageJ-compatible output.
//
// Reading (probe_tiff, read_tiff)
// - Accepts single-sample grayscale pages (SamplesPerPixel 1, PlanarConfig contiguous): 8/16/32-bit
//   unsigned or signed integers (SampleFormat 1 or 2; 1 when absent), 32/64-bit IEEE floats
//   (SampleFormat 3). Striped and tiled layouts, either byte order, and every compression scheme
//   this build of libtiff can decode.
// - Every page is converted to float32 (read_tiff_uint16: uint16 files only, kept as uint16).
// Precision: uint32/int32 values above 2^24 in magnitude are
//   rounded to the nearest float (they lose their low bits); float64 values are rounded to float32,
//   and those beyond the float32 range become +-infinity. NaN stays NaN.
// - Pixel size (pixel_size_um): if the ImageDescription has a line "unit=micron", "unit=um" or
//   "unit=\u00B5m" (UTF-8; also accepted: "microns", the micro sign in Latin-1, Greek mu, and the
//   literal Java escape "\\u00B5m") and XResolution > 0, it is 1/XResolution (ImageJ's convention:
//   XResolution in pixels per micrometre, ResolutionUnit NONE). Otherwise, with XResolution > 0,
//   ResolutionUnit CENTIMETER gives 1e4/XResolution and INCH (also the TIFF default when the tag
//   is absent) gives 25400/XResolution. In every other case: nullopt.
//   libtiff keeps XResolution as a 32-bit float, so a pixel size read back is only accurate to
//   about 1e-7 relative (ImageJ itself stores it to about 1e-8).
// - Every failure throws InputError whose message starts with the quoted file name and says what
//   is wrong (missing, not a TIFF, truncated, unsupported format, inconsistent pages...), followed
//   by libtiff's own last error text when there is one.
//
// Writing (write_tiff, write_tiff_pages)
// - Uncompressed, one strip per page, MINISBLACK, one sample per pixel, native byte order.
//   float32 pages: SampleFormat IEEEFP; uint8/uint16 pages: SampleFormat UINT. NaN is written
//   as-is.
// - Laid out the way ImageJ writes its own TIFFs, so Fiji/ImageJ opens them with the right
//   calibration: page 0 carries the ImageDescription
//       ImageJ=1.11a\n [images=N\nslices=N\n] [unit=micron\n] [min=..\nmax=..\n] [extra lines]
//   (images/slices for more than one page, unit when pixel_size_um > 0, min/max of the finite
//   values for float data); every page carries XResolution = YResolution = 1/pixel_size_um
//   (pixels per micrometre) and ResolutionUnit NONE when pixel_size_um > 0. All IFDs come first,
//   then the pixel data of the pages back to back, because ImageJ reads a stack whose description
//   says images=N as N contiguous images starting at page 0's data.
// - The file is written at the given path; on failure the partial file is removed and OutputError
//   (naming the file) is thrown. Bad arguments: InputError (empty image, pages of different
//   sizes), OptionError (pixel size negative or not finite, NUL in extra_description).
//
// libtiff's messages: the first call of any function here installs process-wide libtiff error and
// warning handlers (thread-safely, once). Errors are captured per thread and reported in the
// exceptions thrown here; warnings are discarded. Nothing is printed to stderr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/image.hpp"
#include "core/base/sample_type.hpp"

namespace xanesmap {

/// What the header of a TIFF says; no pixel data is read.
struct TiffInfo {
  std::size_t pages = 0;                        ///< number of directories (IFDs)
  std::size_t height = 0, width = 0;            ///< of the first page
  SampleType sample_type = SampleType::uint16;  ///< of the first page
  std::uint16_t compression = 1;  ///< TIFF Compression tag of the first page (1 = none)
  bool tiled = false;
  std::optional<double> pixel_size_um;  ///< see the pixel-size rule above
  std::string description;              ///< ImageDescription of page 0, "" if none
};

/// Reads the directory structure and page 0's header. Throws InputError if the file is missing,
/// not a TIFF, or if page 0 is a format read_tiff would refuse (its pixels are not read, so a
/// truncated pixel area is only detected by read_tiff).
TiffInfo probe_tiff(const std::filesystem::path& file);

struct TiffImages {
  std::vector<Image<float>> pages;              ///< every page converted to float32
  SampleType sample_type = SampleType::uint16;  ///< the file's type (all pages share it)
  std::optional<double> pixel_size_um;
  std::string description;  ///< ImageDescription of page 0, "" if none
};

/// Reads every page. All pages must have the size and sample type of page 0.
TiffImages read_tiff(const std::filesystem::path& file);
/// Reads every page of a uint16 file as uint16, without conversion (for raw detector frames kept
/// in the type they were recorded in). The same checks as read_tiff, and InputError when the
/// file is not uint16.
std::vector<Image<std::uint16_t>> read_tiff_uint16(const std::filesystem::path& file);

struct TiffWriteOptions {
  double pixel_size_um = 0.0;     ///< physical pixel size in micrometres; 0 = write no resolution
  std::string extra_description;  ///< extra "key=value" lines appended to the ImageJ description
};

void write_tiff(const std::filesystem::path& file, ImageView<const float> image,
                const TiffWriteOptions& options = {});
void write_tiff(const std::filesystem::path& file, ImageView<const std::uint8_t> image,
                const TiffWriteOptions& options = {});
void write_tiff(const std::filesystem::path& file, ImageView<const std::uint16_t> image,
                const TiffWriteOptions& options = {});

/// Multi-page (ImageJ stack). Every page must have the size of page 0, else InputError.
void write_tiff_pages(const std::filesystem::path& file,
                      const std::vector<ImageView<const std::uint16_t>>& pages,
                      const TiffWriteOptions& options = {});
void write_tiff_pages(const std::filesystem::path& file,
                      const std::vector<ImageView<const float>>& pages,
                      const TiffWriteOptions& options = {});

/// The .tif/.tiff files (case-insensitive extension) directly inside `folder`, in natural name
/// order (digit runs compared by numeric value: img_2.tif before img_10.tif; otherwise
/// byte-wise). Hidden files (name starting with '.', e.g. macOS "._img_1.tif") and folders are
/// skipped. Throws InputError naming the folder if it does not exist, is not a folder, or holds
/// no TIFF.
std::vector<std::filesystem::path> list_tiff_folder(const std::filesystem::path& folder);

}  // namespace xanesmap
