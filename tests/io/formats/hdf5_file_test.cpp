// Tests of io/formats/hdf5_file: round trips, conversions, slabs and error reporting.
#include "io/formats/hdf5_file.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include "core/base/error.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace xanesmap;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

template <typename T>
std::vector<T> as_vector(const BulkVector<T>& values) {
  return {values.begin(), values.end()};
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

/// Sends file descriptor 2 to a file while alive; `text()` returns what was written.
class StderrCapture {
 public:
  explicit StderrCapture(fs::path file) : file_(std::move(file)) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    std::FILE* sink = std::fopen(file_.c_str(), "w");
    REQUIRE(sink != nullptr);
    ::dup2(::fileno(sink), 2);
    std::fclose(sink);
  }
  ~StderrCapture() { restore(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string text() {
    restore();
    std::ifstream in(file_);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  fs::path file_;
  int saved_ = -1;
};

/// How many HDF5 files, groups, datasets, committed types and attributes are open in the
/// process (HDF5 1.10 offers no public count of dataspaces or property lists).
ssize_t open_hdf5_objects() { return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); }

template <typename T>
std::vector<T> iota_values(std::size_t count, T start) {
  std::vector<T> values(count);
  std::iota(values.begin(), values.end(), start);
  return values;
}

/// A file with a compound dataset "/records" and a fixed-length string "/fixed", written with
/// the raw C API (the module itself never writes either).
void write_foreign_types(const fs::path& path) {
  struct Record {
    int a;
    double b;
  };
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t compound = H5Tcreate(H5T_COMPOUND, sizeof(Record));
  H5Tinsert(compound, "a", HOFFSET(Record, a), H5T_NATIVE_INT);
  H5Tinsert(compound, "b", HOFFSET(Record, b), H5T_NATIVE_DOUBLE);
  const hsize_t dims[1] = {2};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t records =
      H5Dcreate2(file, "/records", compound, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const Record data[2] = {{1, 2.0}, {3, 4.0}};
  CHECK(H5Dwrite(records, compound, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);

  const hid_t fixed_type = H5Tcopy(H5T_C_S1);
  H5Tset_size(fixed_type, 16);
  H5Tset_strpad(fixed_type, H5T_STR_NULLPAD);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  const hid_t fixed =
      H5Dcreate2(file, "/fixed", fixed_type, scalar, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  char text[16] = "FXI beamline";
  CHECK(H5Dwrite(fixed, fixed_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) >= 0);

  H5Dclose(fixed);
  H5Sclose(scalar);
  H5Tclose(fixed_type);
  H5Dclose(records);
  H5Sclose(space);
  H5Tclose(compound);
  H5Fclose(file);
}

/// Datasets whose shapes claim far more data than the file holds, never written:
/// "/huge" (2^21 x 2^20, chunked) and "/bigger_than_file" (2^20 x 2^10 floats, contiguous).
void write_absurd_shapes(const fs::path& path) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hsize_t huge_dims[2] = {hsize_t{1} << 21, hsize_t{1} << 20};
  const hsize_t chunk[2] = {64, 64};
  const hid_t huge_space = H5Screate_simple(2, huge_dims, nullptr);
  const hid_t chunked = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(chunked, 2, chunk);
  const hid_t huge =
      H5Dcreate2(file, "/huge", H5T_IEEE_F32LE, huge_space, H5P_DEFAULT, chunked, H5P_DEFAULT);
  CHECK(huge >= 0);
  const hsize_t big_dims[2] = {hsize_t{1} << 20, hsize_t{1} << 10};
  const hid_t big_space = H5Screate_simple(2, big_dims, nullptr);
  const hid_t big = H5Dcreate2(file, "/bigger_than_file", H5T_IEEE_F32LE, big_space, H5P_DEFAULT,
                               H5P_DEFAULT, H5P_DEFAULT);
  CHECK(big >= 0);
  H5Dclose(big);
  H5Sclose(big_space);
  H5Dclose(huge);
  H5Pclose(chunked);
  H5Sclose(huge_space);
  H5Fclose(file);
}

}  // namespace

TEST_CASE("hdf5: every write overload round-trips with its shape and sample type", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "round.h5";
  const auto floats = std::vector<float>{0.5f, -1.25f, 3.0e6f, 1.0e-7f, 0.0f, 42.0f};
  const auto doubles = std::vector<double>{0.1, -2.5e-300, 1.0e300, 7.0};
  const auto u16 = iota_values<std::uint16_t>(60, 65476);  // wraps up to 65535 and then 0..
  const auto u8 = std::vector<std::uint8_t>{0, 1, 127, 128, 255, 9};
  const auto i32 = std::vector<std::int32_t>{-2147483647 - 1, -1, 0, 1, 2147483647};
  {
    auto file = h5::File::create(path);
    CHECK(file.path() == path);
    h5::write(file, "/floats", floats, {2, 3});
    h5::write(file, "/doubles", doubles, {4});
    h5::write(file, "/u16", u16, {3, 4, 5});
    h5::write(file, "/u8", u8, {6});
    h5::write(file, "/i32", i32, {5});
  }
  const auto file = h5::File::open_read(path);

  const auto check_info = [&](const std::string& name, std::vector<std::size_t> shape,
                              SampleType type) {
    INFO(name);
    const h5::DatasetInfo info = h5::dataset_info(file, name);
    CHECK(info.shape == shape);
    CHECK(to_string(info.sample_type) == to_string(type));
  };
  check_info("/floats", {2, 3}, SampleType::float32);
  check_info("/doubles", {4}, SampleType::float64);
  check_info("/u16", {3, 4, 5}, SampleType::uint16);
  check_info("/u8", {6}, SampleType::uint8);
  check_info("/i32", {5}, SampleType::int32);

  CHECK(as_vector(h5::read_floats(file, "/floats")) == floats);
  CHECK(h5::read_doubles(file, "/doubles") == doubles);
  CHECK(h5::read_doubles(file, "/i32") == std::vector<double>(i32.begin(), i32.end()));
  CHECK(h5::read_doubles(file, "/u8") == std::vector<double>(u8.begin(), u8.end()));
  CHECK(as_vector(h5::read_floats(file, "/u16")) == std::vector<float>(u16.begin(), u16.end()));
}

TEST_CASE("hdf5: scalar and empty datasets", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "scalar.h5";
  {
    auto file = h5::File::create(path);
    const double energy = 8.333;
    h5::write(file, "/energy", std::span<const double>(&energy, 1), {});
    h5::write(file, "/empty", std::span<const float>(), {0, 3});
    h5::write(file, "/empty_wide", std::span<const float>(), {std::size_t{1} << 40, 1 << 20, 0});
  }
  const auto file = h5::File::open_read(path);
  CHECK(h5::dataset_info(file, "/energy").shape.empty());
  CHECK(h5::read_doubles(file, "/energy") == std::vector<double>{8.333});
  CHECK(as_vector(h5::read_floats(file, "/energy")) == std::vector<float>{8.333f});
  CHECK(h5::dataset_info(file, "/empty").shape == std::vector<std::size_t>{0, 3});
  CHECK(h5::read_floats(file, "/empty").empty());
  CHECK(h5::read_floats(file, "/empty_wide").empty());
}

TEST_CASE("hdf5: writers create intermediate groups", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "nested.h5";
  {
    auto file = h5::File::create(path);
    h5::write(file, "/truth/valence", std::vector<float>{1.0f, 2.0f}, {2});
    h5::write(file, "/truth/fraction", std::vector<float>{0.25f}, {1});  // group exists now
    h5::write(file, "a/b/c/deep", std::vector<std::uint8_t>{7}, {1});    // no leading '/'
    h5::write_string(file, "/meta/note", "hello");
  }
  const auto file = h5::File::open_read(path);
  CHECK(as_vector(h5::read_floats(file, "/truth/valence")) == std::vector<float>{1.0f, 2.0f});
  CHECK(as_vector(h5::read_floats(file, "/truth/fraction")) == std::vector<float>{0.25f});
  CHECK(as_vector(h5::read_floats(file, "/a/b/c/deep")) == std::vector<float>{7.0f});
  CHECK(h5::read_string(file, "/meta/note") == "hello");

  CHECK(h5::has_dataset(file, "/truth/valence"));
  CHECK(h5::has_dataset(file, "truth/valence"));
  CHECK_FALSE(h5::has_dataset(file, "/truth"));  // a group
  CHECK_FALSE(h5::has_dataset(file, "/truth/missing"));
  CHECK_FALSE(h5::has_dataset(file, "/nowhere/missing"));       // missing parent
  CHECK_FALSE(h5::has_dataset(file, "/truth/valence/inside"));  // parent is a dataset
  CHECK_FALSE(h5::has_dataset(file, "/"));
  CHECK_FALSE(h5::has_dataset(file, ""));
}

TEST_CASE("hdf5: string datasets and attributes round-trip", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "strings.h5";
  const std::string note = "Fe K-edge, 7.1 keV \xc3\xa9\xc3\xa0 (UTF-8)";
  {
    auto file = h5::File::create(path);
    h5::write_string(file, "/note", note);
    h5::write_string(file, "/empty_note", "");
    h5::write(file, "/img", std::vector<float>{1.0f}, {1});
    h5::write_attribute(file, "/", "facility", "NSLS-II");
    h5::write_attribute(file, "/", "version", 3.0);
    h5::write_attribute(file, "/img", "units", "counts");
    h5::write_attribute(file, "/img", "exposure_s", 0.05);
    h5::write_attribute(file, "/img", "units", "optical density");  // replaces
    h5::write_attribute(file, "/img", "exposure_s", 0.1);
  }
  const auto file = h5::File::open_read(path);
  CHECK(h5::read_string(file, "/note") == note);
  CHECK(h5::read_string(file, "/empty_note") == "");
  CHECK_FALSE(h5::read_string(file, "/missing").has_value());
  CHECK(h5::read_string_attribute(file, "/", "facility") == "NSLS-II");
  CHECK(h5::read_double_attribute(file, "/", "version") == 3.0);
  CHECK(h5::read_string_attribute(file, "/img", "units") == "optical density");
  CHECK(h5::read_double_attribute(file, "/img", "exposure_s") == 0.1);
  CHECK_FALSE(h5::read_string_attribute(file, "/img", "missing").has_value());
  CHECK_FALSE(h5::read_double_attribute(file, "/img", "missing").has_value());
  CHECK_FALSE(h5::read_string_attribute(file, "/no_such_object", "units").has_value());

  CHECK_THROWS_AS(h5::read_double_attribute(file, "/img", "units"), InputError);
  CHECK_THROWS_AS(h5::read_string_attribute(file, "/img", "exposure_s"), InputError);
  CHECK_THROWS_WITH(h5::read_string(file, "/img"),
                    Contains("dataset '/img'") && Contains("expected a string"));
}

TEST_CASE("hdf5: fixed-length strings and foreign types", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "foreign.h5";
  write_foreign_types(path);
  const auto file = h5::File::open_read(path);
  CHECK(h5::read_string(file, "/fixed") == "FXI beamline");
  CHECK_THROWS_AS(h5::dataset_info(file, "/records"), InputError);
  CHECK_THROWS_WITH(h5::read_floats(file, "/records"),
                    quoted(path) + ": dataset '/records' has unsupported type (compound)");
  CHECK_THROWS_WITH(h5::dataset_info(file, "/fixed"), Contains("unsupported type (string)"));
}

TEST_CASE("hdf5: read_floats converts integer and double datasets", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "convert.h5";
  {
    auto file = h5::File::create(path);
    h5::write(file, "/u16", std::vector<std::uint16_t>{0, 1, 4095, 65535}, {2, 2});
    h5::write(file, "/f64", std::vector<double>{0.5, -3.25, 1.0e10}, {3});
  }
  const auto file = h5::File::open_read(path);
  CHECK(as_vector(h5::read_floats(file, "/u16")) ==
        std::vector<float>{0.0f, 1.0f, 4095.0f, 65535.0f});
  CHECK(as_vector(h5::read_floats(file, "/f64")) == std::vector<float>{0.5f, -3.25f, 1.0e10f});
}

TEST_CASE("hdf5: read_floats_slab reads frames along axis 0", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "slab.h5";
  const auto stack = iota_values<std::uint16_t>(4 * 2 * 3, 100);  // frame k: 100+6k .. 105+6k
  {
    auto file = h5::File::create(path);
    h5::write(file, "/stack", stack, {4, 2, 3});
    const double scalar = 1.0;
    h5::write(file, "/scalar", std::span<const double>(&scalar, 1), {});
  }
  const auto file = h5::File::open_read(path);
  const auto frames = [&](std::size_t first, std::size_t count) {
    return std::vector<float>(stack.begin() + static_cast<std::ptrdiff_t>(first * 6),
                              stack.begin() + static_cast<std::ptrdiff_t>((first + count) * 6));
  };
  CHECK(as_vector(h5::read_floats_slab(file, "/stack", 0, 4)) == frames(0, 4));
  CHECK(as_vector(h5::read_floats_slab(file, "/stack", 1, 2)) == frames(1, 2));
  CHECK(as_vector(h5::read_floats_slab(file, "/stack", 3, 1)) == frames(3, 1));
  CHECK(h5::read_floats_slab(file, "/stack", 4, 0).empty());

  CHECK_THROWS_WITH(h5::read_floats_slab(file, "/stack", 3, 2),
                    StartsWith(quoted(path) + ": dataset '/stack' has 4 entries along axis 0"));
  CHECK_THROWS_AS(h5::read_floats_slab(file, "/stack", 5, 0), InputError);
  CHECK_THROWS_AS(h5::read_floats_slab(file, "/stack", 1, static_cast<std::size_t>(-1)),
                  InputError);
  CHECK_THROWS_WITH(h5::read_floats_slab(file, "/scalar", 0, 1), Contains("has rank 0"));
  CHECK_THROWS_AS(h5::read_floats_slab(file, "/missing", 0, 1), InputError);
}

TEST_CASE("hdf5: the uint16 readers read uint16 datasets as they are, and only those", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "u16.h5";
  const auto stack = iota_values<std::uint16_t>(4 * 2 * 3, 65512);  // 65512 .. 65535
  {
    auto file = h5::File::create(path);
    h5::write(file, "/stack", stack, {4, 2, 3});
    const std::vector<float> f(6, 1.0f);
    h5::write(file, "/float", std::span<const float>(f), {1, 2, 3});
    const std::vector<std::int32_t> i(6, 1);
    h5::write(file, "/int32", std::span<const std::int32_t>(i), {6});
  }
  const auto file = h5::File::open_read(path);
  const auto frames = [&](std::size_t first, std::size_t count) {
    return std::vector<std::uint16_t>(
        stack.begin() + static_cast<std::ptrdiff_t>(first * 6),
        stack.begin() + static_cast<std::ptrdiff_t>((first + count) * 6));
  };
  CHECK(as_vector(h5::read_uint16s(file, "/stack")) == stack);
  CHECK(as_vector(h5::read_uint16_slab(file, "/stack", 0, 4)) == frames(0, 4));
  CHECK(as_vector(h5::read_uint16_slab(file, "/stack", 3, 1)) == frames(3, 1));
  CHECK(h5::read_uint16_slab(file, "/stack", 4, 0).empty());
  CHECK_THROWS_WITH(h5::read_uint16_slab(file, "/stack", 3, 2),
                    StartsWith(quoted(path) + ": dataset '/stack' has 4 entries along axis 0"));
  CHECK_THROWS_WITH(
      h5::read_uint16s(file, "/float"),
      StartsWith(quoted(path) + ": dataset '/float' holds 32-bit float values, expected "
                                "16-bit unsigned integer"));
  CHECK_THROWS_WITH(h5::read_uint16_slab(file, "/int32", 0, 1), Contains("32-bit signed integer"));
  CHECK_THROWS_AS(h5::read_uint16s(file, "/missing"), InputError);
}

TEST_CASE("hdf5: write errors are OutputErrors naming the dataset", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "w.h5";
  {
    auto file = h5::File::create(path);
    CHECK_THROWS_WITH(
        h5::write(file, "/bad", std::vector<float>{1, 2, 3}, {2, 2}),
        quoted(path) + ": cannot write dataset '/bad': 3 values do not fill shape (2,2)");
    CHECK_THROWS_AS(h5::write(file, "/huge", std::vector<float>{1}, {1u << 30, 1u << 30, 1u << 30}),
                    OutputError);
    h5::write(file, "/x", std::vector<float>{1}, {1});
    CHECK_THROWS_WITH(h5::write(file, "/x", std::vector<float>{2}, {1}),
                      Contains("dataset '/x'") && Contains("already exists"));
    CHECK_THROWS_WITH(h5::write_attribute(file, "/nothing", "units", "counts"),
                      StartsWith(quoted(path)) && Contains("'/nothing' not found"));
    CHECK_FALSE(h5::has_dataset(file, "/bad"));
  }
  {
    auto read_only = h5::File::open_read(path);
    CHECK_THROWS_WITH(h5::write(read_only, "/y", std::vector<float>{1}, {1}),
                      StartsWith(quoted(path) + ": cannot write dataset '/y'"));
    CHECK_THROWS_AS(h5::write_attribute(read_only, "/x", "units", "counts"), OutputError);
    CHECK_THROWS_AS(h5::write_string(read_only, "/s", "text"), OutputError);
  }
  CHECK(open_hdf5_objects() == 0);  // failed writes left nothing open
  CHECK_THROWS_WITH(
      h5::File::create(dir / "no_such_folder" / "out.h5"),
      StartsWith(quoted(dir / "no_such_folder" / "out.h5") + ": cannot create HDF5 file"));
}

TEST_CASE("hdf5: File is move-only and stays usable after a move", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "move.h5";
  {
    auto created = h5::File::create(path);
    h5::File moved = std::move(created);
    h5::write(moved, "/v", std::vector<float>{5.0f}, {1});
  }
  auto first = h5::File::open_read(path);
  auto second = h5::File::open_read(path);
  second = std::move(first);
  CHECK(second.path() == path);
  CHECK(as_vector(h5::read_floats(second, "/v")) == std::vector<float>{5.0f});
  static_assert(!std::is_copy_constructible_v<h5::File>);
  static_assert(!std::is_copy_assignable_v<h5::File>);
}

TEST_CASE("hdf5: reading errors name the file and the problem, silently", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "scan.h5";
  {
    auto file = h5::File::create(path);
    h5::write(file, "/X_eng", std::vector<double>{1, 2, 3, 4}, {2, 2});
    h5::write(file, "/group/inside", std::vector<float>{1}, {1});
  }
  const fs::path text = dir / "notes.txt";
  std::ofstream(text) << "not hdf5 at all\n";

  REQUIRE(open_hdf5_objects() == 0);
  StderrCapture capture(dir / "stderr.txt");
  CHECK_THROWS_WITH(h5::File::open_read(dir / "missing.h5"),
                    quoted(dir / "missing.h5") + ": file not found");
  CHECK_THROWS_AS(h5::File::open_read(dir / "missing.h5"), InputError);
  CHECK_THROWS_WITH(h5::File::open_read(text), quoted(text) + " is not an HDF5 file");
  CHECK_THROWS_AS(h5::File::open_read(text), InputError);
  CHECK_THROWS_AS(h5::File::open_read(dir.path()), InputError);

  const auto file = h5::File::open_read(path);
  CHECK_THROWS_WITH(h5::read_floats(file, "/img_bkg"),
                    quoted(path) + ": dataset '/img_bkg' not found");
  CHECK_THROWS_AS(h5::dataset_info(file, "/img_bkg"), InputError);
  CHECK_THROWS_AS(h5::read_floats(file, "/nowhere/img"), InputError);
  CHECK_THROWS_WITH(h5::read_doubles(file, "/X_eng"),
                    quoted(path) + ": dataset '/X_eng' has rank 2, expected 1");
  CHECK_THROWS_AS(h5::read_doubles(file, "/X_eng"), InputError);
  CHECK_THROWS_WITH(h5::read_floats(file, "/group"),
                    quoted(path) + ": '/group' is a group, not a dataset");
  CHECK_THROWS_AS(h5::read_string(file, "/group"), InputError);
  CHECK_THROWS_AS(h5::dataset_info(file, "/group"), InputError);
  CHECK_FALSE(h5::has_dataset(file, "/group"));
  CHECK(capture.text().empty());
  CHECK(open_hdf5_objects() == 1);  // just `file`: no dataset, group or attribute left open
}

TEST_CASE("hdf5: truncated files raise InputError naming the file, never crash", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path original = dir / "full.h5";
  {
    auto file = h5::File::create(original);
    const auto big = iota_values<float>(256 * 1024, 0.0f);  // 1 MiB of data
    h5::write(file, "/img_xanes", big, {4, 256, 256});
    h5::write_attribute(file, "/img_xanes", "units", "counts");
  }
  const auto full_size = fs::file_size(original);
  REQUIRE(full_size > 1024 * 1024);

  StderrCapture capture(dir / "stderr.txt");
  for (const std::uintmax_t size :
       {full_size / 2, full_size - 1, std::uintmax_t{4096}, std::uintmax_t{1000},
        std::uintmax_t{100}, std::uintmax_t{8}, std::uintmax_t{0}}) {
    INFO("truncated to " << size << " bytes");
    const fs::path path = dir / ("cut-" + std::to_string(size) + ".h5");
    fs::copy_file(original, path);
    fs::resize_file(path, size);
    try {
      const auto file = h5::File::open_read(path);
      (void)h5::read_floats(file, "/img_xanes");
      (void)h5::read_floats_slab(file, "/img_xanes", 3, 1);
      FAIL("reading a truncated file did not throw");
    } catch (const InputError& e) {
      CHECK_THAT(e.what(), StartsWith(quoted(path)));
    }
  }
  CHECK(capture.text().empty());
  CHECK(open_hdf5_objects() == 0);
}

TEST_CASE("hdf5: absurd dataset sizes are refused before allocating", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "absurd.h5";
  write_absurd_shapes(path);
  const auto file = h5::File::open_read(path);
  CHECK(h5::dataset_info(file, "/huge").shape ==
        std::vector<std::size_t>{std::size_t{1} << 21, std::size_t{1} << 20});
  CHECK_THROWS_WITH(h5::read_floats(file, "/huge"),
                    StartsWith(quoted(path) + ": dataset '/huge' is too large"));
  CHECK_THROWS_AS(h5::read_floats_slab(file, "/huge", 0, 1), InputError);
  CHECK_THROWS_WITH(h5::read_floats(file, "/bigger_than_file"),
                    Contains("dataset '/bigger_than_file'") && Contains("does not fit"));
}

TEST_CASE("hdf5: uint16 and uint8 stacks read as float slab by slab, every value exact", "[hdf5]") {
  test::TempDir dir("hdf5-test");
  const fs::path path = dir / "slabs.h5";
  // 1500 x 1500 uint16 entries are 4.5 MB: the 16 MB slabs hold 3 entries, so 11 entries make
  // 4 slabs (the last one short) and both buffers are reused while the other is widened.
  const std::size_t n = 11, h = 1500, w = 1500;
  std::vector<std::uint16_t> u16(n * h * w);
  for (std::size_t i = 0; i < u16.size(); ++i)
    u16[i] = static_cast<std::uint16_t>((i * 2654435761u) >> 7);
  std::vector<std::uint8_t> u8(3 * 7 * 5);
  for (std::size_t i = 0; i < u8.size(); ++i) u8[i] = static_cast<std::uint8_t>(i * 37);
  {
    h5::File file = h5::File::create(path);
    h5::write(file, "/u16", std::span<const std::uint16_t>(u16), {n, h, w});
    h5::write(file, "/u8", std::span<const std::uint8_t>(u8), {3, 7, 5});
  }
  const h5::File file = h5::File::open_read(path);
  const FloatBuffer wide = h5::read_floats(file, "/u16");
  REQUIRE(wide.size() == u16.size());
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < u16.size(); ++i) wrong += wide[i] != static_cast<float>(u16[i]);
  CHECK(wrong == 0);  // exact: every uint16 is a float
  const FloatBuffer small = h5::read_floats(file, "/u8");
  REQUIRE(small.size() == u8.size());
  for (std::size_t i = 0; i < u8.size(); ++i) CHECK(small[i] == static_cast<float>(u8[i]));
}
