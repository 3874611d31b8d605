// Small RAII layer over the HDF5 C API: open/create a file, read and write numeric and
// string datasets and scalar attributes.
//
// Contract
// - Paths inside the file are HDF5 paths ("/img_xanes", "/truth/valence"); a missing leading
//   '/' means the same thing (everything is resolved from the root group).
// - Every HDF5 identifier is owned by a move-only handle and closed on every path, including
//   when an exception is thrown.
// - Reading problems throw InputError, writing problems throw OutputError. Every message
//   starts with the quoted file name, names the dataset/attribute and says what is wrong;
//   when HDF5 itself failed, the most specific entries of its error stack are appended:
//     "'/d/scan.h5': dataset '/img_bkg' not found"
//     "'/d/x.h5': cannot read dataset '/img_xanes' (file truncated or corrupt?): <detail>"
// - HDF5's automatic error printing to stderr is switched off at first use (File::open_read
//   or File::create), so a failing call prints nothing.
// - Numeric readers accept integer and floating-point datasets of any size and let HDF5
//   convert to float/double; the uint16 readers accept uint16 datasets only. Sizes are computed in
//   std::size_t; datasets with more than 2^40 elements, contiguous datasets larger than the file
//   itself (corrupt metadata) and allocations that fail are reported as InputError, never as
//   std::bad_alloc.
// - Writers create missing intermediate groups, write contiguous, uncompressed datasets in
//   little-endian types, refuse to overwrite an existing dataset, and flush the file before
//   returning. Attribute writers replace an existing attribute of the same name.
//
// Thread safety: Debian's HDF5 is built without its thread-safety option. Use this module
// (and any other HDF5 code in the process) from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/bulk_buffer.hpp"
#include "core/base/sample_type.hpp"

namespace xanesmap::h5 {

/// An open HDF5 file. Move-only; the file is closed when the last File owning it goes away.
class File {
 public:
  /// Opens an existing file read-only. InputError if missing / not HDF5 / unreadable.
  static File open_read(const std::filesystem::path& file);
  /// Creates (truncating) a file for writing. OutputError if it cannot.
  static File create(const std::filesystem::path& file);

  const std::filesystem::path& path() const { return path_; }

  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

 private:
  friend struct FileAccess;  // the .cpp's way to reach the HDF5 identifier
  File(std::int64_t id, std::filesystem::path path);
  void close() noexcept;

  std::int64_t id_ = -1;  // an hid_t; kept as int64 so this header does not need <hdf5.h>
  std::filesystem::path path_;
};

struct DatasetInfo {
  /// HDF5 dimension order (slowest first), e.g. (n, H, W); empty for a scalar.
  std::vector<std::size_t> shape;
  /// Integer/float class + size + sign mapped to SampleType.
  SampleType sample_type;
};

/// True if `path` names a dataset. False if missing, not a dataset, or not resolvable;
/// never throws, never prints.
bool has_dataset(const File& file, const std::string& path);

/// Shape and sample type. InputError if missing, not a dataset, or of a type SampleType
/// cannot express (compound, string, 64-bit integer, 16-bit float...).
DatasetInfo dataset_info(const File& file, const std::string& path);

/// The whole dataset (any rank) converted by HDF5 to float, in C order.
FloatBuffer read_floats(const File& file, const std::string& path);
/// The whole dataset converted to double; only rank 1 or a scalar is accepted.
std::vector<double> read_doubles(const File& file, const std::string& path);
/// `count` consecutive entries along axis 0 starting at `first` (e.g. frames 5..7 of an
/// (n,H,W) stack), as float. InputError if the rank is 0 or first+count exceeds axis 0.
FloatBuffer read_floats_slab(const File& file, const std::string& path, std::size_t first,
                             std::size_t count);
/// The whole dataset (any rank) as uint16, in C order, without conversion: for raw detector
/// frames kept in the type they were recorded in. InputError if the dataset is not 16-bit
/// unsigned integer (HDF5 would clip other types silently).
BulkVector<std::uint16_t> read_uint16s(const File& file, const std::string& path);
/// `count` entries along axis 0 from `first`, as uint16 (same rules as read_floats_slab and
/// read_uint16s).
BulkVector<std::uint16_t> read_uint16_slab(const File& file, const std::string& path,
                                           std::size_t first, std::size_t count);
/// A scalar (or single-element) string dataset, fixed or variable length; nullopt if missing.
/// InputError if the path exists but is not a single string.
std::optional<std::string> read_string(const File& file, const std::string& path);

/// Writes `values` (C order) as a dataset of the given shape (empty shape = scalar).
/// OutputError if values.size() does not match the shape or HDF5 fails.
void write(File& file, const std::string& path, std::span<const float> values,
           const std::vector<std::size_t>& shape);
void write(File& file, const std::string& path, std::span<const double> values,
           const std::vector<std::size_t>& shape);
void write(File& file, const std::string& path, std::span<const std::uint16_t> values,
           const std::vector<std::size_t>& shape);
void write(File& file, const std::string& path, std::span<const std::uint8_t> values,
           const std::vector<std::size_t>& shape);
void write(File& file, const std::string& path, std::span<const std::int32_t> values,
           const std::vector<std::size_t>& shape);
void write(File& file, const std::string& path, std::span<const std::uint64_t> values,
           const std::vector<std::size_t>& shape);
/// Scalar variable-length UTF-8 string dataset (the text stops at an embedded NUL).
void write_string(File& file, const std::string& path, const std::string& value);
/// One-dimensional dataset of variable-length UTF-8 strings, one per value (possibly none).
void write_strings(File& file, const std::string& path, const std::vector<std::string>& values);

/// Scalar attribute on an existing object ("/" is the root group). Replaces an existing one.
void write_attribute(File& file, const std::string& object_path, const std::string& name,
                     const std::string& value);
void write_attribute(File& file, const std::string& object_path, const std::string& name,
                     double value);
/// nullopt if the object or the attribute is missing; InputError if it is not a single string.
std::optional<std::string> read_string_attribute(const File& file, const std::string& object_path,
                                                 const std::string& name);
/// nullopt if the object or the attribute is missing; InputError if it is not a single number.
std::optional<double> read_double_attribute(const File& file, const std::string& object_path,
                                            const std::string& name);

}  // namespace xanesmap::h5
