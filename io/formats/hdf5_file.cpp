// HDF5 access through the C API. See hdf5_file.hpp for the contract.
//
// Layout of this file: handles and error-stack helpers, path resolution, type mapping,
// then the File class, the readers and the writers. Not thread-safe (see header).
#include "io/formats/hdf5_file.hpp"

#include <hdf5.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <new>
#include <system_error>
#include <type_traits>
#include <utility>

#include "core/base/error.hpp"

namespace xanesmap::h5 {

static_assert(std::is_same_v<hid_t, std::int64_t>, "File stores an hid_t as std::int64_t");
static_assert(sizeof(hsize_t) == sizeof(std::size_t), "hsize_t and std::size_t must match");

/// Lets the code below reach File's identifier without exposing it in the header.
struct FileAccess {
  static hid_t id(const File& file) { return file.id_; }
  static File make(hid_t id, const std::filesystem::path& path) { return File(id, path); }
};

namespace {

namespace fs = std::filesystem;

/// Datasets with more elements than this are refused rather than allocated.
constexpr std::size_t kMaxElements = std::size_t{1} << 40;

// ---------------------------------------------------------------------------------------
// Library set-up, handles, error stack

/// Opens the library and silences its automatic stderr error printing, once.
void ensure_initialised() {
  static const bool initialised = [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)initialised;
}

using Closer = herr_t (*)(hid_t);

/// Owns one HDF5 identifier and closes it with the matching H5?close. Move-only.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept
      : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  void reset() noexcept {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

struct ErrorWalk {
  std::vector<std::string> entries;
};

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* error, void* client_data) {
  auto& walk = *static_cast<ErrorWalk*>(client_data);
  if (walk.entries.size() >= 2) return 0;  // the two most specific entries are enough
  std::string text = (error->desc != nullptr) ? error->desc : "";
  if (text.empty()) {
    char minor[256] = {};
    if (H5Eget_msg(error->min_num, nullptr, minor, sizeof minor) > 0) text = minor;
  }
  if (!text.empty() && (walk.entries.empty() || walk.entries.back() != text))
    walk.entries.push_back(std::move(text));
  return 0;
}

/// The most specific description(s) on HDF5's error stack, innermost first; clears the stack.
/// Call right after the failing HDF5 call, before any other HDF5 call resets the stack.
std::string hdf5_detail() {
  ErrorWalk walk;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &walk);
  H5Eclear2(H5E_DEFAULT);
  if (walk.entries.empty()) return "no detail from HDF5";
  std::string text = walk.entries.front();
  for (std::size_t i = 1; i < walk.entries.size(); ++i) text += "; " + walk.entries[i];
  return text;
}

// ---------------------------------------------------------------------------------------
// Message pieces

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }
std::string prefix(const File& file) { return quoted(file.path()) + ": "; }
std::string dataset_name(const std::string& path) { return "dataset '" + path + "'"; }
std::string attribute_name(const std::string& object_path, const std::string& name) {
  return "attribute '" + name + "' of '" + object_path + "'";
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string text = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? "," : "") + std::to_string(dims[i]);
  return text + ")";
}

/// The product of `dims`, or nullopt if it exceeds kMaxElements (a zero extent wins).
template <typename Dim>
std::optional<std::size_t> element_count(const std::vector<Dim>& dims) {
  if (std::find(dims.begin(), dims.end(), Dim{0}) != dims.end()) return 0;
  std::size_t count = 1;
  for (const Dim dim : dims) {
    if (count > kMaxElements / dim) return std::nullopt;
    count *= dim;
  }
  return count;
}

[[noreturn]] void throw_corrupt(const File& file, const std::string& what) {
  throw InputError(prefix(file) + "cannot read " + what +
                   " (file truncated or corrupt?): " + hdf5_detail());
}

[[noreturn]] void throw_write_failure(const File& file, const std::string& what) {
  throw OutputError(prefix(file) + "cannot write " + what + ": " + hdf5_detail());
}

// ---------------------------------------------------------------------------------------
// Path resolution

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

enum class Lookup { found, missing, failed };

struct Resolved {
  Lookup status = Lookup::missing;
  Handle object;       // valid when found
  std::string detail;  // HDF5 detail when failed
};

Resolved failed_lookup() { return {Lookup::failed, Handle{}, hdf5_detail()}; }

/// Follows `path` link by link from the root, so that a missing or non-group intermediate
/// component reads as "missing" rather than as an HDF5 error.
Resolved resolve(const File& file, const std::string& path) {
  const hid_t fid = FileAccess::id(file);
  const std::vector<std::string> parts = split_path(path);
  std::string prefix_path;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    prefix_path += "/" + parts[i];
    const htri_t exists = H5Lexists(fid, prefix_path.c_str(), H5P_DEFAULT);
    if (exists < 0) return failed_lookup();
    if (exists == 0) return {};
    if (i + 1 == parts.size()) break;
    Handle step(H5Oopen(fid, prefix_path.c_str(), H5P_DEFAULT), H5Oclose);
    if (!step.valid()) return failed_lookup();
    if (H5Iget_type(step.get()) != H5I_GROUP) return {};
  }
  const std::string full = prefix_path.empty() ? "/" : prefix_path;
  Handle object(H5Oopen(fid, full.c_str(), H5P_DEFAULT), H5Oclose);
  if (!object.valid()) return failed_lookup();
  return {Lookup::found, std::move(object), {}};
}

std::string object_kind(hid_t object) {
  switch (H5Iget_type(object)) {
    case H5I_GROUP:
      return "a group";
    case H5I_DATATYPE:
      return "a named datatype";
    case H5I_DATASET:
      return "a dataset";
    default:
      return "not a dataset";
  }
}

/// The opened dataset; InputError if it is missing, unreadable, or not a dataset.
Handle open_dataset(const File& file, const std::string& path, Resolved resolved) {
  if (resolved.status == Lookup::missing)
    throw InputError(prefix(file) + dataset_name(path) + " not found");
  if (resolved.status == Lookup::failed)
    throw InputError(prefix(file) + "cannot open " + dataset_name(path) +
                     " (file truncated or corrupt?): " + resolved.detail);
  if (H5Iget_type(resolved.object.get()) != H5I_DATASET)
    throw InputError(prefix(file) + "'" + path + "' is " + object_kind(resolved.object.get()) +
                     ", not a dataset");
  return std::move(resolved.object);
}

Handle open_dataset(const File& file, const std::string& path) {
  return open_dataset(file, path, resolve(file, path));
}

// ---------------------------------------------------------------------------------------
// Types

std::string class_name(H5T_class_t type_class) {
  switch (type_class) {
    case H5T_INTEGER:
      return "integer";
    case H5T_FLOAT:
      return "float";
    case H5T_TIME:
      return "time";
    case H5T_STRING:
      return "string";
    case H5T_BITFIELD:
      return "bitfield";
    case H5T_OPAQUE:
      return "opaque";
    case H5T_COMPOUND:
      return "compound";
    case H5T_REFERENCE:
      return "reference";
    case H5T_ENUM:
      return "enum";
    case H5T_VLEN:
      return "variable-length";
    case H5T_ARRAY:
      return "array";
    default:
      return "unknown";
  }
}

/// "compound", "64-bit unsigned integer", "16-bit float"...
std::string type_description(hid_t type) {
  const H5T_class_t type_class = H5Tget_class(type);
  if (type_class == H5T_INTEGER || type_class == H5T_FLOAT) {
    std::string text = std::to_string(8 * H5Tget_size(type)) + "-bit ";
    if (type_class == H5T_INTEGER)
      text += (H5Tget_sign(type) == H5T_SGN_NONE) ? "unsigned " : "signed ";
    return text + class_name(type_class);
  }
  return class_name(type_class);
}

std::optional<SampleType> sample_type_of(hid_t type) {
  const H5T_class_t type_class = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (type_class == H5T_FLOAT) {
    if (size == 4) return SampleType::float32;
    if (size == 8) return SampleType::float64;
    return std::nullopt;
  }
  if (type_class != H5T_INTEGER) return std::nullopt;
  const H5T_sign_t sign = H5Tget_sign(type);
  if (sign == H5T_SGN_NONE) {
    if (size == 1) return SampleType::uint8;
    if (size == 2) return SampleType::uint16;
    if (size == 4) return SampleType::uint32;
  } else if (sign == H5T_SGN_2) {
    if (size == 1) return SampleType::int8;
    if (size == 2) return SampleType::int16;
    if (size == 4) return SampleType::int32;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Dataset reading

/// An opened dataset with its type, dataspace and extent.
struct DatasetView {
  Handle dataset;
  Handle type;
  Handle space;
  std::vector<hsize_t> dims;
  bool null_space = false;  // H5S_NULL: no elements at all
};

std::size_t checked_element_count(const File& file, const std::string& what,
                                  const std::vector<hsize_t>& dims) {
  const std::optional<std::size_t> count = element_count(dims);
  if (!count)
    throw InputError(prefix(file) + what + " is too large (shape " + shape_text(dims) +
                     ", more than 2^40 elements)");
  return *count;
}

/// A contiguous dataset kept in this file cannot hold more bytes than the file has; a shape
/// that claims otherwise comes from corrupt metadata (and would make us allocate for nothing).
void check_plausible_size(const File& file, const std::string& path, const DatasetView& view,
                          std::size_t elements) {
  Handle create_props(H5Dget_create_plist(view.dataset.get()), H5Pclose);
  if (!create_props.valid()) throw_corrupt(file, dataset_name(path));
  if (H5Pget_layout(create_props.get()) != H5D_CONTIGUOUS ||
      H5Pget_external_count(create_props.get()) != 0)
    return;
  std::error_code ec;
  const std::uintmax_t file_bytes = fs::file_size(file.path(), ec);
  const std::size_t value_bytes = std::max<std::size_t>(H5Tget_size(view.type.get()), 1);
  if (!ec && elements > file_bytes / value_bytes)
    throw InputError(prefix(file) + dataset_name(path) + " of shape " + shape_text(view.dims) +
                     " with " + std::to_string(value_bytes) + "-byte values does not fit in the " +
                     std::to_string(file_bytes) + "-byte file (file truncated or corrupt?)");
}

DatasetView view_dataset(const File& file, const std::string& path) {
  DatasetView view;
  view.dataset = open_dataset(file, path);
  view.type = Handle(H5Dget_type(view.dataset.get()), H5Tclose);
  if (!view.type.valid()) throw_corrupt(file, dataset_name(path));
  view.space = Handle(H5Dget_space(view.dataset.get()), H5Sclose);
  if (!view.space.valid()) throw_corrupt(file, dataset_name(path));
  const H5S_class_t space_class = H5Sget_simple_extent_type(view.space.get());
  if (space_class == H5S_NO_CLASS) throw_corrupt(file, dataset_name(path));
  const int rank = H5Sget_simple_extent_ndims(view.space.get());
  if (rank < 0) throw_corrupt(file, dataset_name(path));
  view.dims.resize(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(view.space.get(), view.dims.data(), nullptr) < 0)
    throw_corrupt(file, dataset_name(path));
  view.null_space = (space_class == H5S_NULL);
  return view;
}

/// The number of elements, after refusing sizes that cannot be read (see header).
std::size_t readable_elements(const File& file, const std::string& path, const DatasetView& view) {
  if (view.null_space) return 0;
  const std::size_t elements = checked_element_count(file, dataset_name(path), view.dims);
  check_plausible_size(file, path, view, elements);
  return elements;
}

/// `count` default values, or InputError (not bad_alloc) if memory runs out.
template <typename T, typename Container = std::vector<T>>
Container allocate(const File& file, const std::string& path, std::size_t count) {
  try {
    return Container(count);
  } catch (const std::bad_alloc&) {
    throw InputError(prefix(file) + dataset_name(path) + ": not enough memory to read " +
                     std::to_string(count) + " values");
  }
}

void require_numeric(const File& file, const std::string& path, const DatasetView& view) {
  const H5T_class_t type_class = H5Tget_class(view.type.get());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT)
    throw InputError(prefix(file) + dataset_name(path) + " has unsupported type (" +
                     type_description(view.type.get()) + ")");
}

/// The uint16 readers take uint16 datasets only: HDF5 would clip other types without a word.
void require_uint16(const File& file, const std::string& path, const DatasetView& view) {
  require_numeric(file, path, view);
  if (sample_type_of(view.type.get()) != SampleType::uint16)
    throw InputError(prefix(file) + dataset_name(path) + " holds " +
                     type_description(view.type.get()) +
                     " values, expected 16-bit unsigned integer");
}

/// Reads the whole dataset converted by HDF5 to `mem_type` (whose C++ type is T).
template <typename T, typename Container = std::vector<T>>
Container read_all(const File& file, const std::string& path, const DatasetView& view,
                   hid_t mem_type) {
  Container values = allocate<T, Container>(file, path, readable_elements(file, path, view));
  if (values.empty()) return values;
  if constexpr (!std::is_same_v<Container, std::vector<T>>) first_touch(values);
  if (H5Dread(view.dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    throw_corrupt(file, dataset_name(path));
  return values;
}

/// A uint8 or uint16 dataset of rank >= 1 as float, read in its own type a slab of entries along
/// axis 0 at a time and widened here (exact: every such integer is a float). HDF5's own
/// integer-to-float conversion runs at about 0.2 GB/s of output on one core (a 2048 x 2048 x 100
/// uint16 stack took 8.5 CPU s); a read without conversion is a copy from the page cache. Two
/// slab buffers alternate: one is widened by the TBB workers while the next slab is read.
template <typename Int>
FloatBuffer read_widened(const File& file, const std::string& path, const DatasetView& view,
                         hid_t mem_type) {
  FloatBuffer values =
      allocate<float, FloatBuffer>(file, path, readable_elements(file, path, view));
  if (values.empty()) return values;
  const std::size_t length = view.dims[0], per_entry = values.size() / length;
  constexpr std::size_t kSlabBytes = std::size_t{16} << 20;
  const std::size_t entries = std::max<std::size_t>(1, kSlabBytes / sizeof(Int) / per_entry);
  std::array<std::vector<Int>, 2> buffers{
      allocate<Int>(file, path, std::min(entries, length) * per_entry),
      allocate<Int>(file, path, std::min(entries, length) * per_entry)};
  const std::string what = dataset_name(path);
  tbb::task_group widening;
  auto fail = [&]() [[noreturn]] {
    widening.wait();  // no task may outlive the buffers
    throw_corrupt(file, what);
  };
  for (std::size_t first = 0, slab = 0; first < length; first += entries, slab ^= 1) {
    const std::size_t count = std::min(entries, length - first);
    std::vector<hsize_t> start(view.dims.size(), 0), block = view.dims;
    start[0] = first, block[0] = count;
    if (H5Sselect_hyperslab(view.space.get(), H5S_SELECT_SET, start.data(), nullptr, block.data(),
                            nullptr) < 0)
      fail();
    Handle memory(H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr),
                  H5Sclose);
    if (!memory.valid()) fail();
    Int* buffer = buffers[slab].data();
    // This buffer was widened two slabs ago: that task must be done before it is read into.
    if (first >= 2 * entries) widening.wait();
    if (H5Dread(view.dataset.get(), mem_type, memory.get(), view.space.get(), H5P_DEFAULT, buffer) <
        0)
      fail();
    float* out = values.data() + first * per_entry;
    const std::size_t n = count * per_entry;
    widening.run([buffer, out, n] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, std::size_t{1} << 16),
                        [&](const auto& r) {
                          for (std::size_t i = r.begin(); i != r.end(); ++i)
                            out[i] = static_cast<float>(buffer[i]);
                        });
    });
  }
  widening.wait();
  return values;
}

void require_axis0(const File& file, const std::string& path, const DatasetView& view) {
  if (view.dims.empty())
    throw InputError(prefix(file) + dataset_name(path) +
                     " has rank 0, expected at least 1 to read entries along axis 0");
}

/// `count` entries along axis 0 from `first`, converted by HDF5 to `mem_type` (C++ type T), from
/// a dataset of rank >= 1 whose type the caller has checked.
template <typename T>
BulkVector<T> read_slab(const File& file, const std::string& path, const DatasetView& view,
                        std::size_t first, std::size_t count, hid_t mem_type) {
  const std::size_t length = view.dims[0];
  if (first > length || count > length - first)
    throw InputError(prefix(file) + dataset_name(path) + " has " + std::to_string(length) +
                     " entries along axis 0; cannot read " + std::to_string(count) +
                     " from index " + std::to_string(first));

  std::vector<hsize_t> start(view.dims.size(), 0);
  std::vector<hsize_t> block = view.dims;
  start[0] = first;
  block[0] = count;
  const std::size_t elements = readable_elements(file, path, view);
  const std::size_t slab_elements = (length == 0) ? 0 : elements / length * count;
  BulkVector<T> values = allocate<T, BulkVector<T>>(file, path, slab_elements);
  if (values.empty()) return values;

  const std::string what = dataset_name(path);
  if (H5Sselect_hyperslab(view.space.get(), H5S_SELECT_SET, start.data(), nullptr, block.data(),
                          nullptr) < 0)
    throw_corrupt(file, what);
  Handle memory(H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr), H5Sclose);
  if (!memory.valid()) throw_corrupt(file, what);
  if (H5Dread(view.dataset.get(), mem_type, memory.get(), view.space.get(), H5P_DEFAULT,
              values.data()) < 0)
    throw_corrupt(file, what);
  return values;
}

// ---------------------------------------------------------------------------------------
// Strings (datasets and attributes)

/// Reads one string of HDF5 type `file_type` from a one-element `space` with
/// `read(mem_type, buffer)` (an H5Dread or H5Aread); returns a negative value on failure.
template <typename Reader>
std::string read_one_string(const File& file, const std::string& what, hid_t file_type, hid_t space,
                            Reader&& read) {
  const htri_t variable = H5Tis_variable_str(file_type);
  if (variable < 0) throw_corrupt(file, what);
  Handle mem_type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (!mem_type.valid()) throw_corrupt(file, what);
  H5Tset_cset(mem_type.get(), H5Tget_cset(file_type));

  if (variable > 0) {
    H5Tset_size(mem_type.get(), H5T_VARIABLE);
    char* text = nullptr;
    if (read(mem_type.get(), static_cast<void*>(&text)) < 0) throw_corrupt(file, what);
    struct Reclaim {  // frees HDF5's buffer even if building the std::string throws
      hid_t type, space;
      char** text;
      ~Reclaim() {
        if (*text != nullptr) H5Dvlen_reclaim(type, space, H5P_DEFAULT, text);
      }
    } reclaim{mem_type.get(), space, &text};
    return text != nullptr ? std::string(text) : std::string();
  }

  const std::size_t size = H5Tget_size(file_type);
  if (size == 0) throw_corrupt(file, what);
  if (size > kMaxElements)
    throw InputError(prefix(file) + what + " is too large (" + std::to_string(size) + " bytes)");
  H5Tset_size(mem_type.get(), size);
  H5Tset_strpad(mem_type.get(), H5T_STR_NULLPAD);
  std::vector<char> buffer(size, '\0');
  if (read(mem_type.get(), static_cast<void*>(buffer.data())) < 0) throw_corrupt(file, what);
  std::string text(buffer.data(), strnlen(buffer.data(), size));
  if (H5Tget_strpad(file_type) == H5T_STR_SPACEPAD) {
    const std::size_t end = text.find_last_not_of(' ');
    text.erase(end == std::string::npos ? 0 : end + 1);
  }
  return text;
}

/// InputError unless `type`/`space` hold exactly one string (or one number).
void require_single(const File& file, const std::string& what, hid_t type, hid_t space,
                    bool want_string) {
  const H5T_class_t type_class = H5Tget_class(type);
  const bool ok = want_string ? type_class == H5T_STRING
                              : (type_class == H5T_INTEGER || type_class == H5T_FLOAT);
  if (!ok)
    throw InputError(prefix(file) + what + " holds " + type_description(type) + " data, expected " +
                     (want_string ? "a string" : "a number"));
  const hssize_t points = H5Sget_simple_extent_npoints(space);
  if (points < 0) throw_corrupt(file, what);
  if (points != 1)
    throw InputError(prefix(file) + what + " holds " + std::to_string(points) +
                     " values, expected one");
}

// ---------------------------------------------------------------------------------------
// Attributes

/// The attribute `name` of `object_path`, or an invalid handle if the object or the
/// attribute does not exist. InputError if HDF5 cannot tell.
Handle open_attribute(const File& file, const std::string& object_path, const std::string& name) {
  const std::string what = attribute_name(object_path, name);
  Resolved object = resolve(file, object_path);
  if (object.status == Lookup::missing) return {};
  if (object.status == Lookup::failed)
    throw InputError(prefix(file) + "cannot read " + what +
                     " (file truncated or corrupt?): " + object.detail);
  const htri_t exists = H5Aexists(object.object.get(), name.c_str());
  if (exists < 0) throw_corrupt(file, what);
  if (exists == 0) return {};
  Handle attribute(H5Aopen(object.object.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  if (!attribute.valid()) throw_corrupt(file, what);
  return attribute;
}

// ---------------------------------------------------------------------------------------
// Writing

Handle make_dataspace(const std::vector<std::size_t>& shape) {
  if (shape.empty()) return Handle(H5Screate(H5S_SCALAR), H5Sclose);
  const std::vector<hsize_t> dims(shape.begin(), shape.end());
  return Handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
}

/// OutputError unless `shape` is valid and holds exactly `count` values.
void check_shape(const File& file, const std::string& path, std::size_t count,
                 const std::vector<std::size_t>& shape) {
  const std::string what = prefix(file) + "cannot write " + dataset_name(path) + ": ";
  if (shape.size() > H5S_MAX_RANK)
    throw OutputError(what + "rank " + std::to_string(shape.size()) + " exceeds HDF5's limit of " +
                      std::to_string(H5S_MAX_RANK));
  const std::optional<std::size_t> expected = element_count(shape);
  const std::vector<hsize_t> dims(shape.begin(), shape.end());
  if (expected != count)
    throw OutputError(what + std::to_string(count) + " values do not fill shape " +
                      shape_text(dims));
}

void flush(File& file, const std::string& what) {
  if (H5Fflush(FileAccess::id(file), H5F_SCOPE_LOCAL) < 0) throw_write_failure(file, what);
}

/// Creates `path` (and missing parent groups) as a contiguous dataset of `file_type`.
Handle create_dataset(File& file, const std::string& path, hid_t file_type, hid_t space) {
  const std::string what = dataset_name(path);
  if (resolve(file, path).status == Lookup::found)
    throw OutputError(prefix(file) + "cannot write " + what + ": it already exists");
  Handle link_props(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  Handle create_props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (!link_props.valid() || !create_props.valid() ||
      H5Pset_create_intermediate_group(link_props.get(), 1) < 0 ||
      H5Pset_layout(create_props.get(), H5D_CONTIGUOUS) < 0)
    throw_write_failure(file, what);
  Handle dataset(H5Dcreate2(FileAccess::id(file), path.c_str(), file_type, space, link_props.get(),
                            create_props.get(), H5P_DEFAULT),
                 H5Dclose);
  if (!dataset.valid()) throw_write_failure(file, what);
  return dataset;
}

void write_numeric(File& file, const std::string& path, const void* data, std::size_t count,
                   const std::vector<std::size_t>& shape, hid_t file_type, hid_t mem_type) {
  check_shape(file, path, count, shape);
  const std::string what = dataset_name(path);
  Handle space = make_dataspace(shape);
  if (!space.valid()) throw_write_failure(file, what);
  Handle dataset = create_dataset(file, path, file_type, space.get());
  if (count > 0 && H5Dwrite(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw_write_failure(file, what);
  flush(file, what);
}

/// A variable-length UTF-8 string type.
Handle utf8_string_type() {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (type.valid() &&
      (H5Tset_size(type.get(), H5T_VARIABLE) < 0 || H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0))
    return {};
  return type;
}

/// Creates (replacing) a scalar attribute and writes `data` of `mem_type` into it.
void write_scalar_attribute(File& file, const std::string& object_path, const std::string& name,
                            hid_t file_type, hid_t mem_type, const void* data) {
  const std::string what = attribute_name(object_path, name);
  Resolved object = resolve(file, object_path);
  if (object.status == Lookup::missing)
    throw OutputError(prefix(file) + "cannot write " + what + ": '" + object_path + "' not found");
  if (object.status == Lookup::failed)
    throw OutputError(prefix(file) + "cannot write " + what + ": " + object.detail);
  const hid_t target = object.object.get();
  const htri_t exists = H5Aexists(target, name.c_str());
  if (exists < 0 || (exists > 0 && H5Adelete(target, name.c_str()) < 0))
    throw_write_failure(file, what);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (!space.valid()) throw_write_failure(file, what);
  Handle attribute(
      H5Acreate2(target, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attribute.valid() || H5Awrite(attribute.get(), mem_type, data) < 0)
    throw_write_failure(file, what);
  flush(file, what);
}

}  // namespace

// =======================================================================================
// File

File::File(std::int64_t id, std::filesystem::path path) : id_(id), path_(std::move(path)) {}

File::File(File&& other) noexcept
    : id_(std::exchange(other.id_, H5I_INVALID_HID)), path_(std::move(other.path_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    close();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    path_ = std::move(other.path_);
  }
  return *this;
}

File::~File() { close(); }

void File::close() noexcept {
  if (id_ >= 0) H5Fclose(id_);
  id_ = H5I_INVALID_HID;
}

File File::open_read(const std::filesystem::path& file) {
  ensure_initialised();
  std::error_code ec;
  const fs::file_status status = fs::status(file, ec);
  if (status.type() == fs::file_type::not_found)
    throw InputError(quoted(file) + ": file not found");
  if (ec) throw InputError(quoted(file) + ": cannot access file: " + ec.message());
  if (fs::is_directory(status)) throw InputError(quoted(file) + " is a folder, not an HDF5 file");

  const htri_t is_hdf5 = H5Fis_hdf5(file.c_str());
  if (is_hdf5 < 0) throw InputError(quoted(file) + ": cannot read file: " + hdf5_detail());
  if (is_hdf5 == 0) throw InputError(quoted(file) + " is not an HDF5 file");
  const hid_t id = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0)
    throw InputError(quoted(file) +
                     ": cannot open HDF5 file (file truncated or corrupt?): " + hdf5_detail());
  return FileAccess::make(id, file);
}

File File::create(const std::filesystem::path& file) {
  ensure_initialised();
  const hid_t id = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) throw OutputError(quoted(file) + ": cannot create HDF5 file: " + hdf5_detail());
  return FileAccess::make(id, file);
}

// =======================================================================================
// Readers

bool has_dataset(const File& file, const std::string& path) {
  const Resolved resolved = resolve(file, path);  // a failed lookup has cleared HDF5's stack
  return resolved.status == Lookup::found && H5Iget_type(resolved.object.get()) == H5I_DATASET;
}

DatasetInfo dataset_info(const File& file, const std::string& path) {
  const DatasetView view = view_dataset(file, path);
  const std::optional<SampleType> type = sample_type_of(view.type.get());
  if (!type)
    throw InputError(prefix(file) + dataset_name(path) + " has unsupported type (" +
                     type_description(view.type.get()) + ")");
  return {std::vector<std::size_t>(view.dims.begin(), view.dims.end()), *type};
}

FloatBuffer read_floats(const File& file, const std::string& path) {
  const DatasetView view = view_dataset(file, path);
  require_numeric(file, path, view);
  if (!view.null_space && !view.dims.empty() && view.dims[0] > 0) {
    const std::optional<SampleType> type = sample_type_of(view.type.get());
    if (type == SampleType::uint16)
      return read_widened<std::uint16_t>(file, path, view, H5T_NATIVE_UINT16);
    if (type == SampleType::uint8)
      return read_widened<std::uint8_t>(file, path, view, H5T_NATIVE_UINT8);
  }
  return read_all<float, FloatBuffer>(file, path, view, H5T_NATIVE_FLOAT);
}

std::vector<double> read_doubles(const File& file, const std::string& path) {
  const DatasetView view = view_dataset(file, path);
  if (view.dims.size() > 1)
    throw InputError(prefix(file) + dataset_name(path) + " has rank " +
                     std::to_string(view.dims.size()) + ", expected 1");
  require_numeric(file, path, view);
  return read_all<double>(file, path, view, H5T_NATIVE_DOUBLE);
}

BulkVector<std::uint16_t> read_uint16s(const File& file, const std::string& path) {
  const DatasetView view = view_dataset(file, path);
  require_uint16(file, path, view);
  return read_all<std::uint16_t, BulkVector<std::uint16_t>>(file, path, view, H5T_NATIVE_UINT16);
}

FloatBuffer read_floats_slab(const File& file, const std::string& path, std::size_t first,
                             std::size_t count) {
  const DatasetView view = view_dataset(file, path);
  require_axis0(file, path, view);
  require_numeric(file, path, view);
  return read_slab<float>(file, path, view, first, count, H5T_NATIVE_FLOAT);
}

BulkVector<std::uint16_t> read_uint16_slab(const File& file, const std::string& path,
                                           std::size_t first, std::size_t count) {
  const DatasetView view = view_dataset(file, path);
  require_axis0(file, path, view);
  require_uint16(file, path, view);
  return read_slab<std::uint16_t>(file, path, view, first, count, H5T_NATIVE_UINT16);
}

std::optional<std::string> read_string(const File& file, const std::string& path) {
  Resolved resolved = resolve(file, path);
  if (resolved.status == Lookup::missing) return std::nullopt;
  const Handle dataset = open_dataset(file, path, std::move(resolved));
  const std::string what = dataset_name(path);
  const Handle type(H5Dget_type(dataset.get()), H5Tclose);
  const Handle space(H5Dget_space(dataset.get()), H5Sclose);
  if (!type.valid() || !space.valid()) throw_corrupt(file, what);
  require_single(file, what, type.get(), space.get(), /*want_string=*/true);
  return read_one_string(file, what, type.get(), space.get(), [&](hid_t mem_type, void* buffer) {
    return H5Dread(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
  });
}

std::optional<std::string> read_string_attribute(const File& file, const std::string& object_path,
                                                 const std::string& name) {
  const Handle attribute = open_attribute(file, object_path, name);
  if (!attribute.valid()) return std::nullopt;
  const std::string what = attribute_name(object_path, name);
  const Handle type(H5Aget_type(attribute.get()), H5Tclose);
  const Handle space(H5Aget_space(attribute.get()), H5Sclose);
  if (!type.valid() || !space.valid()) throw_corrupt(file, what);
  require_single(file, what, type.get(), space.get(), /*want_string=*/true);
  return read_one_string(file, what, type.get(), space.get(), [&](hid_t mem_type, void* buffer) {
    return H5Aread(attribute.get(), mem_type, buffer);
  });
}

std::optional<double> read_double_attribute(const File& file, const std::string& object_path,
                                            const std::string& name) {
  const Handle attribute = open_attribute(file, object_path, name);
  if (!attribute.valid()) return std::nullopt;
  const std::string what = attribute_name(object_path, name);
  const Handle type(H5Aget_type(attribute.get()), H5Tclose);
  const Handle space(H5Aget_space(attribute.get()), H5Sclose);
  if (!type.valid() || !space.valid()) throw_corrupt(file, what);
  require_single(file, what, type.get(), space.get(), /*want_string=*/false);
  double value = 0.0;
  if (H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value) < 0) throw_corrupt(file, what);
  return value;
}

// =======================================================================================
// Writers

void write(File& file, const std::string& path, std::span<const float> values,
           const std::vector<std::size_t>& shape) {
  write_numeric(file, path, values.data(), values.size(), shape, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT);
}

void write(File& file, const std::string& path, std::span<const double> values,
           const std::vector<std::size_t>& shape) {
  write_numeric(file, path, values.data(), values.size(), shape, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
}

void write(File& file, const std::string& path, std::span<const std::uint16_t> values,
           const std::vector<std::size_t>& shape) {
  write_numeric(file, path, values.data(), values.size(), shape, H5T_STD_U16LE, H5T_NATIVE_UINT16);
}

void write(File& file, const std::string& path, std::span<const std::uint8_t> values,
           const std::vector<std::size_t>& shape) {
  write_numeric(file, path, values.data(), values.size(), shape, H5T_STD_U8LE, H5T_NATIVE_UINT8);
}

void write(File& file, const std::string& path, std::span<const std::int32_t> values,
           const std::vector<std::size_t>& shape) {
  write_numeric(file, path, values.data(), values.size(), shape, H5T_STD_I32LE, H5T_NATIVE_INT32);
}

void write(File& file, const std::string& path, std::span<const std::uint64_t> values,
           const std::vector<std::size_t>& shape) {
  write_numeric(file, path, values.data(), values.size(), shape, H5T_STD_U64LE, H5T_NATIVE_UINT64);
}

void write_strings(File& file, const std::string& path, const std::vector<std::string>& values) {
  const std::string what = dataset_name(path);
  const Handle type = utf8_string_type();
  const Handle space = make_dataspace({values.size()});
  if (!type.valid() || !space.valid()) throw_write_failure(file, what);
  const Handle dataset = create_dataset(file, path, type.get(), space.get());
  std::vector<const char*> texts;
  for (const auto& v : values) texts.push_back(v.c_str());
  if (!texts.empty() &&
      H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, texts.data()) < 0)
    throw_write_failure(file, what);
  flush(file, what);
}

void write_string(File& file, const std::string& path, const std::string& value) {
  const std::string what = dataset_name(path);
  const Handle type = utf8_string_type();
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (!type.valid() || !space.valid()) throw_write_failure(file, what);
  const Handle dataset = create_dataset(file, path, type.get(), space.get());
  const char* text = value.c_str();
  if (H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0)
    throw_write_failure(file, what);
  flush(file, what);
}

void write_attribute(File& file, const std::string& object_path, const std::string& name,
                     const std::string& value) {
  const Handle type = utf8_string_type();
  if (!type.valid()) throw_write_failure(file, attribute_name(object_path, name));
  const char* text = value.c_str();
  write_scalar_attribute(file, object_path, name, type.get(), type.get(), &text);
}

void write_attribute(File& file, const std::string& object_path, const std::string& name,
                     double value) {
  write_scalar_attribute(file, object_path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

}  // namespace xanesmap::h5
