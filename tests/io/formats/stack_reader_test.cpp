// Readers on hand-made files: every layout, and each way a file can be wrong.
#include "io/formats/stack_reader.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>

#include "core/base/error.hpp"
#include "core/stack/optical_density.hpp"
#include "io/formats/hdf5_file.hpp"
#include "io/formats/tiff_io.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint16_t> ramp(std::size_t count, std::uint16_t start) {
  std::vector<std::uint16_t> v(count);
  for (std::size_t i = 0; i < count; ++i) v[i] = static_cast<std::uint16_t>(start + i);
  return v;
}

struct FxiSpec {
  std::vector<std::size_t> images{3, 4, 5};
  std::vector<std::size_t> flats{3, 4, 5};
  std::vector<std::size_t> darks{2, 4, 5};
  std::vector<double> energies{6.5, 6.51, 6.52};
  bool with_flats = true;
};

fs::path write_fxi(const test::TempDir& dir, const FxiSpec& spec,
                   const std::string& name = "scan.h5") {
  const auto path = dir / name;
  h5::File file = h5::File::create(path);
  auto count = [](const std::vector<std::size_t>& s) {
    std::size_t n = 1;
    for (auto d : s) n *= d;
    return n;
  };
  const auto images = ramp(count(spec.images), 1000);
  h5::write(file, "/img_xanes", std::span<const std::uint16_t>(images), spec.images);
  if (spec.with_flats) {
    const auto flats = ramp(count(spec.flats), 3000);
    h5::write(file, "/img_bkg", std::span<const std::uint16_t>(flats), spec.flats);
  }
  const std::vector<std::uint16_t> darks(count(spec.darks), 100);
  h5::write(file, "/img_dark", std::span<const std::uint16_t>(darks), spec.darks);
  h5::write(file, "/X_eng", std::span<const double>(spec.energies), {spec.energies.size()});
  return path;
}

StackSource source_for(const fs::path& stack) {
  StackSource s;
  s.stack = stack;
  return s;
}

}  // namespace

TEST_CASE("FXI HDF5: keV energies, per-energy flats, averaged darks", "[reader][fxi]") {
  test::TempDir dir;
  const auto loaded = load_raw_stack(source_for(write_fxi(dir, {})));
  const auto& d = loaded.description;
  CHECK(d.layout == StackLayout::fxi_hdf5);
  CHECK(d.sample_type == SampleType::uint16);
  CHECK(d.energy_unit.unit == EnergyUnit::kev);
  CHECK(loaded.raw.counts().energies_ev() == std::vector<double>{6500.0, 6510.0, 6520.0});
  CHECK(loaded.raw.per_energy_flats());
  CHECK(loaded.raw.flat_count() == 3);
  CHECK(loaded.raw.saturation_counts() == 65535.0);
  CHECK(loaded.raw.counts().frame(1)(0, 0) == 1020.0f);  // 1000 + 1 * 4 * 5
  CHECK(loaded.raw.flat_value(2, 3, 4) == 3000.0f + 59.0f);
  CHECK(loaded.raw.dark()(2, 2) == 100.0f);
  // uint16 flats used per energy stay uint16, every value as written.
  CHECK(loaded.description.flat_sample_type == SampleType::uint16);
  REQUIRE(loaded.raw.flats_are_uint16());
  for (std::size_t e = 0; e < 3; ++e)
    for (std::size_t r = 0; r < 4; ++r)
      for (std::size_t c = 0; c < 5; ++c)
        CHECK(loaded.raw.flat_value(e, r, c) == static_cast<float>(3000 + (e * 4 + r) * 5 + c));
  CHECK(loaded.raw.bytes() ==
        3 * 20 * 4 + 3 * 20 * 2 + 20 * 4);  // float counts, uint16 flats, dark
}

TEST_CASE("FXI HDF5: a different number of flats is averaged, eV energies are kept",
          "[reader][fxi]") {
  test::TempDir dir;
  FxiSpec spec;
  spec.flats = {2, 4, 5};
  spec.energies = {6500.0, 6510.0, 6520.0};
  const auto loaded = load_raw_stack(source_for(write_fxi(dir, spec)));
  CHECK(loaded.description.energy_unit.unit == EnergyUnit::ev);
  CHECK(loaded.raw.flat_count() == 1);
  CHECK_FALSE(loaded.raw.flats_are_uint16());        // an average is not an integer
  CHECK(loaded.raw.flat_value(1, 0, 0) == 3010.0f);  // mean of 3000 and 3020
  CHECK(loaded.raw.flat_value(1, 3, 4) == 3029.0f);  // mean of 3019 and 3039
  StackSource per_energy = source_for(dir / "scan.h5");
  per_energy.flat_mode = FlatMode::per_energy;
  CHECK_THROWS_WITH(load_raw_stack(per_energy), Catch::Contains("one flat per energy needs 3"));
}

TEST_CASE("FXI HDF5: custom dataset paths", "[reader][fxi]") {
  test::TempDir dir;
  const auto path = dir / "other.h5";
  {
    h5::File file = h5::File::create(path);
    const auto images = ramp(2 * 3 * 3, 500);
    h5::write(file, "/exchange/data", std::span<const std::uint16_t>(images), {2, 3, 3});
    const std::vector<float> flat(9, 2000.0f);
    h5::write(file, "/exchange/data_white", std::span<const float>(flat), {1, 3, 3});
    const std::vector<double> e{6539.0, 6540.0};
    h5::write(file, "/exchange/energy", std::span<const double>(e), {2});
  }
  StackSource s = source_for(path);
  s.datasets.images = "/exchange/data";
  s.datasets.flats = "/exchange/data_white";
  s.datasets.energies = "/exchange/energy";
  const auto loaded = load_raw_stack(s);
  CHECK(loaded.raw.counts().frame_count() == 2);
  CHECK_FALSE(loaded.raw.has_dark());
  CHECK_FALSE(loaded.raw.flats_are_uint16());  // a float32 flat stays float32
  CHECK(loaded.raw.flat_value(1, 2, 2) == 2000.0f);
}

TEST_CASE("FXI HDF5: each inconsistency is a clear error naming the file", "[reader][fxi][bad]") {
  test::TempDir dir;
  FxiSpec spec;
  SECTION("missing flats") {
    spec.with_flats = false;
    const auto path = write_fxi(dir, spec);
    CHECK(describe_stack(source_for(path)).flat_frames == 0);
    CHECK_THROWS_WITH(load_raw_stack(source_for(path)),
                      Catch::Contains("scan.h5") && Catch::Contains("/img_bkg"));
  }
  SECTION("flat shape mismatch") {
    spec.flats = {3, 4, 6};
    CHECK_THROWS_WITH(
        load_raw_stack(source_for(write_fxi(dir, spec))),
        Catch::Contains("/img_bkg") && Catch::Contains("4x6 but the stack's are 4x5"));
  }
  SECTION("dark shape mismatch") {
    spec.darks = {2, 5, 5};
    CHECK_THROWS_WITH(load_raw_stack(source_for(write_fxi(dir, spec))),
                      Catch::Contains("/img_dark") && Catch::Contains("5x5"));
  }
  SECTION("energy count mismatch") {
    spec.energies = {6.5, 6.51, 6.52, 6.53};
    CHECK_THROWS_WITH(load_raw_stack(source_for(write_fxi(dir, spec))),
                      Catch::Contains("/X_eng") && Catch::Contains("4 energies but the stack") &&
                          Catch::Contains("has 3 frames"));
  }
  SECTION("non-monotonic energies: described, then refused") {
    spec.energies = {6.5, 6.52, 6.51};
    const auto path = write_fxi(dir, spec);
    CHECK(describe_stack(source_for(path)).problems.empty());
    CHECK_THROWS_WITH(load_raw_stack(source_for(path)),
                      Catch::Contains("/X_eng") && Catch::Contains("not increasing"));
  }
  SECTION("duplicate energies") {
    spec.energies = {6.5, 6.51, 6.51};
    CHECK_THROWS_WITH(load_raw_stack(source_for(write_fxi(dir, spec))),
                      Catch::Contains("duplicates"));
  }
  SECTION("wrong rank") {
    const auto path = dir / "rank.h5";
    {
      h5::File file = h5::File::create(path);
      const auto images = ramp(20, 1);
      h5::write(file, "/img_xanes", std::span<const std::uint16_t>(images), {4, 5});
    }
    CHECK_THROWS_WITH(describe_stack(source_for(path)), Catch::Contains("rank 2, expected 3"));
  }
  SECTION("missing images") {
    const auto path = dir / "empty.h5";
    { h5::File file = h5::File::create(path); }
    CHECK_THROWS_WITH(describe_stack(source_for(path)), Catch::Contains("empty.h5") &&
                                                            Catch::Contains("'/img_xanes'") &&
                                                            Catch::Contains("not found"));
  }
}

TEST_CASE("Files that are missing, empty, foreign or truncated", "[reader][bad]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(describe_stack(source_for(dir / "nope.h5")), Catch::Contains("not found"));
  std::ofstream(dir / "zero.h5").close();
  CHECK_THROWS_WITH(describe_stack(source_for(dir / "zero.h5")), Catch::Contains("is empty"));
  std::ofstream(dir / "notes.h5") << "not data";
  CHECK_THROWS_WITH(describe_stack(source_for(dir / "notes.h5")),
                    Catch::Contains("neither an HDF5 nor a TIFF"));
  // A truncated HDF5 file: either describing or reading must fail cleanly, naming the file.
  FxiSpec big;
  big.images = big.flats = {3, 64, 64};
  big.darks = {2, 64, 64};
  const auto path = write_fxi(dir, big, "cut.h5");
  fs::resize_file(path, fs::file_size(path) / 2);
  CHECK_THROWS_WITH(load_raw_stack(source_for(path)), Catch::Contains("cut.h5"));
}

TEST_CASE("Multi-page TIFF with an energy list, a single flat and dark pages", "[reader][tiff]") {
  test::TempDir dir;
  const std::size_t h = 3, w = 4;
  std::vector<std::vector<std::uint16_t>> frames{ramp(12, 100), ramp(12, 200)};
  std::vector<ImageView<const std::uint16_t>> views;
  for (const auto& f : frames) views.emplace_back(f.data(), h, w);
  write_tiff_pages(dir / "raw.tif", views, {0.03, ""});
  const auto flat = ramp(12, 5000);
  write_tiff(dir / "flat.tif", ImageView<const std::uint16_t>(flat.data(), h, w));
  const std::vector<std::uint16_t> dark_a(12, 10), dark_b(12, 20);
  write_tiff_pages(dir / "dark.tif", {ImageView<const std::uint16_t>(dark_a.data(), h, w),
                                      ImageView<const std::uint16_t>(dark_b.data(), h, w)});
  std::ofstream(dir / "energies.txt") << "# eV\n6540\n6541.5\n";
  StackSource s = source_for(dir / "raw.tif");
  s.energies = dir / "energies.txt";
  s.flat = dir / "flat.tif";
  s.dark = dir / "dark.tif";
  const auto loaded = load_raw_stack(s);
  CHECK(loaded.description.layout == StackLayout::tiff_multipage);
  REQUIRE(loaded.description.pixel_size_nm);
  CHECK_THAT(*loaded.description.pixel_size_nm, Catch::WithinRel(30.0, 1e-6));  // rational tags
  CHECK(loaded.raw.counts().frame(1)(2, 3) == 211.0f);
  CHECK(loaded.raw.flat_count() == 1);
  CHECK(loaded.raw.flats_are_uint16());  // the single flat as recorded
  CHECK(loaded.raw.flat_value(1, 2, 3) == 5011.0f);
  CHECK(loaded.raw.dark()(0, 0) == 15.0f);

  SECTION("energy count mismatch") {
    std::ofstream(dir / "energies.txt") << "6540\n6541\n6542\n";
    CHECK_THROWS_WITH(load_raw_stack(s), Catch::Contains("energies.txt") &&
                                             Catch::Contains("3 energies but the stack") &&
                                             Catch::Contains("raw.tif' has 2 frames"));
  }
  SECTION("no energy list") {
    s.energies.clear();
    CHECK_THROWS_WITH(load_raw_stack(s), Catch::Contains("--energies"));
  }
  SECTION("flat of another size") {
    const std::vector<std::uint16_t> small(6, 1000);
    write_tiff(dir / "flat.tif", ImageView<const std::uint16_t>(small.data(), 2, 3));
    CHECK_THROWS_WITH(load_raw_stack(s),
                      Catch::Contains("flat.tif") && Catch::Contains("2x3 but the stack is 3x4"));
  }
  SECTION("no flat") {
    s.flat.clear();
    CHECK_THROWS_WITH(load_raw_stack(s), Catch::Contains("--flat"));
  }
  SECTION("truncated stack") {
    fs::resize_file(dir / "raw.tif", fs::file_size(dir / "raw.tif") * 2 / 3);
    CHECK_THROWS_WITH(load_raw_stack(s), Catch::Contains("raw.tif"));
  }
}

TEST_CASE("Folder of single-page TIFFs in natural name order", "[reader][tiff]") {
  test::TempDir dir;
  fs::create_directory(dir / "frames");
  const std::size_t h = 2, w = 2;
  // Named so that byte order (1, 10, 2) differs from natural order (1, 2, 10).
  for (const int i : {1, 2, 10}) {
    const std::vector<float> v(4, static_cast<float>(i * 100));
    write_tiff(dir / "frames" / ("img_" + std::to_string(i) + ".tif"),
               ImageView<const float>(v.data(), h, w));
  }
  const std::vector<float> flat(4, 5000.0f);
  write_tiff(dir / "flat.tif", ImageView<const float>(flat.data(), h, w));
  std::ofstream(dir / "e.txt") << "6.540\n6.541\n6.542\n";  // keV: converted by magnitude
  StackSource s = source_for(dir / "frames");
  s.energies = dir / "e.txt";
  s.flat = dir / "flat.tif";
  const auto loaded = load_raw_stack(s);
  CHECK(loaded.description.layout == StackLayout::tiff_folder);
  CHECK_FALSE(loaded.raw.flats_are_uint16());
  CHECK(loaded.description.sample_type == SampleType::float32);
  CHECK_FALSE(loaded.raw.saturation_counts());
  CHECK(loaded.raw.counts().frame(0)(0, 0) == 100.0f);
  CHECK(loaded.raw.counts().frame(1)(0, 0) == 200.0f);
  CHECK(loaded.raw.counts().frame(2)(0, 0) == 1000.0f);
  CHECK_THAT(loaded.raw.counts().energy_ev(2), Catch::WithinAbs(6542.0, 1e-9));

  SECTION("a frame of another size") {
    const std::vector<float> odd(6, 1.0f);
    write_tiff(dir / "frames" / "img_2.tif", ImageView<const float>(odd.data(), 2, 3));
    CHECK_THROWS_WITH(load_raw_stack(s), Catch::Contains("img_2.tif") && Catch::Contains("2x3"));
  }
  SECTION("an empty folder") {
    fs::create_directory(dir / "none");
    CHECK_THROWS_WITH(load_raw_stack(source_for(dir / "none")), Catch::Contains("none"));
  }
}

TEST_CASE("Multi-page uint16 TIFF flats: per energy as uint16, averaged as float",
          "[reader][tiff]") {
  test::TempDir dir;
  const std::size_t h = 3, w = 4;
  std::vector<std::vector<std::uint16_t>> frames{ramp(12, 100), ramp(12, 200)},
      flat_pages{ramp(12, 5000), ramp(12, 6000)};
  const auto views = [&](const std::vector<std::vector<std::uint16_t>>& v) {
    std::vector<ImageView<const std::uint16_t>> out;
    for (const auto& f : v) out.emplace_back(f.data(), h, w);
    return out;
  };
  write_tiff_pages(dir / "raw.tif", views(frames));
  write_tiff_pages(dir / "flat.tif", views(flat_pages));
  std::ofstream(dir / "energies.txt") << "6540\n6541.5\n";
  StackSource s = source_for(dir / "raw.tif");
  s.energies = dir / "energies.txt";
  s.flat = dir / "flat.tif";
  const auto per_energy = load_raw_stack(s);
  REQUIRE(per_energy.raw.flats_are_uint16());
  CHECK(per_energy.raw.flat_count() == 2);
  CHECK(per_energy.raw.flat_value(0, 2, 3) == 5011.0f);
  CHECK(per_energy.raw.flat_value(1, 2, 3) == 6011.0f);
  s.flat_mode = FlatMode::average;
  const auto averaged = load_raw_stack(s);
  CHECK_FALSE(averaged.raw.flats_are_uint16());
  CHECK(averaged.raw.flat_count() == 1);
  CHECK(averaged.raw.flat_value(1, 2, 3) == 5511.0f);  // mean of 5011 and 6011
}

TEST_CASE("All-zero uint16 flats are refused naming the file, as float ones are", "[reader][bad]") {
  test::TempDir dir;
  const std::vector<std::uint16_t> zeros(3 * 4 * 5, 0);
  SECTION("HDF5, per energy") {
    {
      h5::File file = h5::File::create(dir / "zero.h5");
      const auto images = ramp(60, 1000);
      h5::write(file, "/img_xanes", std::span<const std::uint16_t>(images), {3, 4, 5});
      h5::write(file, "/img_bkg", std::span<const std::uint16_t>(zeros), {3, 4, 5});
      const std::vector<double> e{6.5, 6.51, 6.52};
      h5::write(file, "/X_eng", std::span<const double>(e), {3});
    }
    CHECK_THROWS_WITH(load_raw_stack(source_for(dir / "zero.h5")),
                      Catch::Contains("zero.h5") && Catch::Contains("/img_bkg") &&
                          Catch::Contains("cannot be a flat field"));
  }
  SECTION("TIFF, single flat") {
    const auto images = ramp(20, 100);
    write_tiff(dir / "raw.tif", ImageView<const std::uint16_t>(images.data(), 4, 5));
    write_tiff(dir / "flat.tif", ImageView<const std::uint16_t>(zeros.data(), 4, 5));
    std::ofstream(dir / "energies.txt") << "6540\n";
    StackSource s = source_for(dir / "raw.tif");
    s.energies = dir / "energies.txt";
    s.flat = dir / "flat.tif";
    CHECK_THROWS_WITH(load_raw_stack(s), Catch::Contains("flat field '") &&
                                             Catch::Contains("flat.tif") &&
                                             Catch::Contains("holds no positive value"));
  }
}

// Guards the reader's uint16 flats end to end: the OD of a uint16 FXI file equals, bit for bit,
// the OD of the same values with the flats given as float.
TEST_CASE("OD of a uint16 FXI file equals OD with its flats as float", "[reader][fxi][reference]") {
  test::TempDir dir;
  FxiSpec spec;
  spec.images = spec.flats = {3, 5, 13};  // 13: not a multiple of the 8-wide AVX2 block
  spec.darks = {2, 5, 13};
  const auto loaded = load_raw_stack(source_for(write_fxi(dir, spec)));
  REQUIRE(loaded.raw.flats_are_uint16());
  std::vector<Image<float>> flats;
  for (std::size_t e = 0; e < 3; ++e) {
    Image<float> f(5, 13);
    for (std::size_t r = 0; r < 5; ++r)
      for (std::size_t c = 0; c < 13; ++c) f(r, c) = loaded.raw.flat_value(e, r, c);
    flats.push_back(std::move(f));
  }
  const RawStack as_float(loaded.raw.counts(), std::move(flats), loaded.raw.dark(),
                          loaded.raw.saturation_counts());
  const auto a = compute_optical_density(loaded.raw), b = compute_optical_density(as_float);
  // Exact: uint16 -> float is exact and both kernels do the same float operations.
  REQUIRE(a.od.values().size() == b.od.values().size());
  CHECK(std::memcmp(a.od.values().data(), b.od.values().data(),
                    a.od.values().size() * sizeof(float)) == 0);
}
