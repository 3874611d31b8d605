// The bad-input catalogue (docs/bad-input.md) cases that need files the CLI test cannot make
// without tools: float stacks with NaN and Inf, zero-sized datasets, TIFF pages xanesmap cannot
// decode, and the text inputs the fuzzer (tests/fuzz) found mishandled. Whole-file problems are
// InputErrors naming the file; per-pixel problems are flags in the status maps and counts in the
// summary, never errors.
#include <tiffio.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>

#include "core/base/error.hpp"
#include "core/particles/particle_analysis.hpp"
#include "core/pipeline.hpp"
#include "io/formats/hdf5_file.hpp"
#include "io/formats/reference_manifest.hpp"
#include "io/formats/stack_reader.hpp"
#include "io/formats/text_tables.hpp"
#include "io/formats/tiff_io.hpp"
#include "io/outputs/map_outputs.hpp"
#include "support/simulation_support.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// A small simulated scan without drift (so that flagged pixels stay where they were put) as
// float arrays, written in the FXI layout with float32 images and flats.
struct FloatScan {
  std::vector<double> energies_ev;
  std::size_t h = 0, w = 0;
  std::vector<float> images, flats, darks;
  std::size_t dark_frames = 0;
  float& image(std::size_t frame, std::size_t r, std::size_t c) {
    return images[(frame * h + r) * w + c];
  }
  float& flat(std::size_t frame, std::size_t r, std::size_t c) {
    return flats[(frame * h + r) * w + c];
  }
};

FloatScan simulated_float_scan() {
  sim::SimulationOptions o;  // the default "mixed" scene and energy grid
  o.height = o.width = 64;   // holds one Mn particle: small and fast
  o.drift_px = 0.0;
  const auto scan = sim::simulate(o, test::simulation_references()).scan;
  FloatScan f;
  f.energies_ev = scan.energies_ev;
  f.h = scan.height, f.w = scan.width;
  f.images.assign(scan.sample_counts.begin(), scan.sample_counts.end());
  f.flats.assign(scan.flat_counts.begin(), scan.flat_counts.end());
  f.darks.assign(scan.dark_counts.begin(), scan.dark_counts.end());
  f.dark_frames = scan.dark_frame_count;
  return f;
}

fs::path write_fxi(const fs::path& path, const FloatScan& f) {
  h5::File file = h5::File::create(path);
  const std::size_t n = f.energies_ev.size();
  h5::write(file, "/img_xanes", std::span<const float>(f.images), {n, f.h, f.w});
  h5::write(file, "/img_bkg", std::span<const float>(f.flats), {n, f.h, f.w});
  h5::write(file, "/img_dark", std::span<const float>(f.darks), {f.dark_frames, f.h, f.w});
  h5::write(file, "/X_eng", std::span<const double>(f.energies_ev), {n});  // eV: by magnitude
  return path;
}

StackSource source_for(const fs::path& stack) {
  StackSource s;
  s.stack = stack;
  return s;
}

MapPipelineOptions not_aligned() {
  MapPipelineOptions o;
  o.alignment = AlignmentMode::none;  // registration would spread a flag to the neighbours
  return o;
}

std::size_t flag_index(OdFlag flag) {
  for (std::size_t i = 0; i < kAllOdFlags.size(); ++i)
    if (kAllOdFlags[i] == flag) return i;
  FAIL("unknown flag");
  return 0;
}

std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("no InputError");
  return {};
}

fs::path write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// One 4x4 page written with libtiff as given (tags, then `bytes` as the raw, undecoded strip).
void write_raw_tiff(const fs::path& path, int bits, int sample_format, int compression,
                    const std::vector<std::uint8_t>& bytes) {
  TIFF* tif = TIFFOpen(path.c_str(), "w");
  REQUIRE(tif);
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 4u);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 4u);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, sample_format);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 4u);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif, TIFFTAG_COMPRESSION, compression);
  REQUIRE(TIFFWriteRawStrip(tif, 0, const_cast<std::uint8_t*>(bytes.data()),
                            static_cast<tmsize_t>(bytes.size())) ==
          static_cast<tmsize_t>(bytes.size()));
  TIFFClose(tif);
}

}  // namespace

TEST_CASE("NaN and Inf pixels of a float stack are flagged and counted, not errors",
          "[bad][per-pixel]") {
  test::TempDir dir;
  FloatScan f = simulated_float_scan();
  // Three pixels, each bad at one energy only: NaN and +Inf in the images, -Inf in a flat.
  f.image(5, 10, 10) = kNaN;
  f.image(60, 20, 30) = kInf;
  f.flat(90, 40, 40) = -kInf;
  const auto loaded = load_raw_stack(source_for(write_fxi(dir / "nan.h5", f)));
  const auto result = run_map_pipeline(loaded.raw, test::map_references(), not_aligned());
  const auto invalid = static_cast<std::uint8_t>(PixelStatus::invalid_od);
  CHECK(result.maps.status(10, 10) == invalid);
  CHECK(result.maps.status(20, 30) == invalid);
  CHECK(result.maps.status(40, 40) == invalid);
  CHECK(std::isnan(result.maps.valence(10, 10)));
  // Exactly these three: the simulated counts themselves are all valid (20000 flat counts,
  // far from 0 and from the uint16 limit).
  CHECK(result.optical_density.pixels_by_flag[flag_index(od_not_finite)] == 3);
  CHECK(result.optical_density.invalid_pixels == 3);
  CHECK(result.maps.status_counts[static_cast<std::size_t>(PixelStatus::invalid_od)] == 3);
  // The summary carries the counts (summary.json "optical_density" and "pixels.by_status").
  MapRunInfo info;
  const auto particles = analyze_particles(result.maps, 30.0, {});
  const auto summary = map_summary(info, result, particles);
  CHECK(summary["optical_density"]["invalid_pixels"] == 3);
  CHECK(summary["optical_density"]["pixels_by_flag"]["not_finite"] == 3);
  CHECK(summary["pixels"]["by_status"]["invalid_od"] == 3);
  CHECK(result.maps.statistics.pixels > 0);  // the rest of the particle is still measured

  SECTION("registered, the flags survive (and may spread to neighbours by interpolation)") {
    MapPipelineOptions options;
    const auto registered = run_map_pipeline(loaded.raw, test::map_references(), options);
    CHECK(registered.maps.status(10, 10) != static_cast<std::uint8_t>(PixelStatus::ok));
    CHECK(registered.optical_density.pixels_by_flag[flag_index(od_not_finite)] >= 3);
  }
}

TEST_CASE("Float stacks that are NaN everywhere, or in a whole frame, are refused", "[bad]") {
  test::TempDir dir;
  FloatScan f = simulated_float_scan();
  SECTION("every image value NaN: the reader names the dataset") {
    std::fill(f.images.begin(), f.images.end(), kNaN);
    const auto path = write_fxi(dir / "all_nan.h5", f);
    CHECK_THAT(input_error_of([&] { load_raw_stack(source_for(path)); }),
               Contains("all_nan.h5") && Contains("/img_xanes") && Contains("no usable value"));
  }
  SECTION("one frame NaN: every pixel is invalid somewhere, so nothing can be mapped") {
    std::fill(f.images.begin() + 7 * f.h * f.w, f.images.begin() + 8 * f.h * f.w, kNaN);
    const auto loaded = load_raw_stack(source_for(write_fxi(dir / "frame_nan.h5", f)));
    CHECK_THAT(input_error_of(
                   [&] { run_map_pipeline(loaded.raw, test::map_references(), not_aligned()); }),
               Contains("every pixel") &&
                   Contains("frames 7 (1 of 110)") &&  // the default grid: 110 energies
                   Contains("not_finite"));
    // `align`'s stages register the frames: the empty frame cannot be, and is named; left out
    // (UnregisteredFrames::exclude), the other frames are aligned and its flags cleared.
    MapPipelineOptions options;
    CHECK_THAT(input_error_of([&] { aligned_optical_density(loaded.raw, options); }),
               Contains("frame 7 (") && Contains("frames 7 (1 of 110) hold no valid value"));
    options.unregistered = UnregisteredFrames::exclude;
    const AlignedOpticalDensity aligned = aligned_optical_density(loaded.raw, options);
    CHECK(aligned.od.frame_count() == 109);
    CHECK(aligned.summary.pixels_by_flag[3] == 0);  // kAllOdFlags[3] = od_not_finite
  }
  SECTION("a stack whose optical density is undefined everywhere fails in align too") {
    // Flats equal to the dark: F - D = 0 everywhere (each file has usable values on its own).
    for (std::size_t e = 0; e < f.energies_ev.size(); ++e)
      std::fill(f.flats.begin() + e * f.h * f.w, f.flats.begin() + (e + 1) * f.h * f.w, 100.0f);
    std::fill(f.darks.begin(), f.darks.end(), 100.0f);
    const auto loaded = load_raw_stack(source_for(write_fxi(dir / "flat_is_dark.h5", f)));
    MapPipelineOptions options;
    CHECK_THAT(input_error_of([&] { aligned_optical_density(loaded.raw, options); }),
               Contains("undefined at every pixel and energy") && Contains("flat_not_above_dark"));
  }
}

TEST_CASE("Zero flats: a few pixels are flagged, an all-zero flat is refused", "[bad]") {
  test::TempDir dir;
  FloatScan f = simulated_float_scan();
  SECTION("dead flat-field pixels") {
    f.flat(3, 0, 0) = 0.0f;
    f.flat(3, 63, 63) = 0.0f;
    const auto loaded = load_raw_stack(source_for(write_fxi(dir / "dead.h5", f)));
    const auto result = run_map_pipeline(loaded.raw, test::map_references(), not_aligned());
    CHECK(result.optical_density.pixels_by_flag[flag_index(od_flat_not_above_dark)] == 2);
    CHECK(result.maps.status(63, 63) == static_cast<std::uint8_t>(PixelStatus::invalid_od));
  }
  SECTION("all-zero flats name the dataset") {
    std::fill(f.flats.begin(), f.flats.end(), 0.0f);
    const auto path = write_fxi(dir / "zero_flat.h5", f);
    CHECK_THAT(
        input_error_of([&] { load_raw_stack(source_for(path)); }),
        Contains("zero_flat.h5") && Contains("/img_bkg") && Contains("cannot be a flat field"));
  }
}

TEST_CASE("Zero-sized HDF5 images are refused naming the dataset", "[bad]") {
  test::TempDir dir;
  const std::vector<std::vector<std::size_t>> shapes{{0, 4, 5}, {3, 0, 5}, {3, 4, 0}};
  for (const auto& shape : shapes) {
    const auto path = dir / ("empty_" + std::to_string(shape[0]) + std::to_string(shape[1]) +
                             std::to_string(shape[2]) + ".h5");
    {
      h5::File file = h5::File::create(path);
      h5::write(file, "/img_xanes", std::span<const float>(), shape);
    }
    CHECK_THAT(input_error_of([&] { describe_stack(source_for(path)); }),
               Contains(path.filename().string()) && Contains("'/img_xanes' is empty"));
  }
}

TEST_CASE("TIFF pages xanesmap cannot decode are refused by the stack reader, naming the file",
          "[bad][tiff]") {
  test::TempDir dir;
  const std::vector<float> flat(16, 1000.0f);
  write_tiff(dir / "flat.tif", ImageView<const float>(flat.data(), 4, 4));
  std::ofstream(dir / "e.txt") << "6540\n";
  StackSource s = source_for(dir / "odd.tif");
  s.energies = dir / "e.txt";
  s.flat = dir / "flat.tif";
  SECTION("1-bit bilevel") {
    write_raw_tiff(s.stack, 1, SAMPLEFORMAT_UINT, COMPRESSION_NONE,
                   std::vector<std::uint8_t>(4, 0xA5));
    CHECK_THAT(input_error_of([&] { load_raw_stack(s); }),
               Contains("odd.tif") && Contains("1-bit unsigned integer"));
  }
  SECTION("complex integers") {
    write_raw_tiff(s.stack, 32, SAMPLEFORMAT_COMPLEXINT, COMPRESSION_NONE,
                   std::vector<std::uint8_t>(64, 1));
    CHECK_THAT(input_error_of([&] { load_raw_stack(s); }),
               Contains("odd.tif") && Contains("complex integer"));
  }
  SECTION("12-bit samples") {
    write_raw_tiff(s.stack, 12, SAMPLEFORMAT_UINT, COMPRESSION_NONE,
                   std::vector<std::uint8_t>(24, 7));
    CHECK_THAT(input_error_of([&] { load_raw_stack(s); }),
               Contains("odd.tif") && Contains("12-bit"));
  }
  SECTION("a JPEG-compressed page whose data is not JPEG") {
    // libtiff has a JPEG codec, so the tag passes; decoding the strip fails.
    write_raw_tiff(s.stack, 8, SAMPLEFORMAT_UINT, COMPRESSION_JPEG,
                   std::vector<std::uint8_t>(16, 0x42));
    CHECK_THAT(input_error_of([&] { load_raw_stack(s); }), Contains("odd.tif"));
  }
}

TEST_CASE("Text inputs the fuzzer found mishandled are parsed or refused cleanly", "[bad][text]") {
  // Each of these once escaped as a std::exception (exit code 2) or read freed memory.
  test::TempDir dir;
  SECTION("a comment line of only '#' (was std::out_of_range from substr)") {
    const auto s =
        read_reference_spectrum(write_text(dir / "hash.txt", "#\n##\n6500 1\n6501 2\n"), "r");
    CHECK(s.energy_ev == std::vector<double>{6500, 6501});
  }
  SECTION("a commented-out data line before the data (was a use-after-free)") {
    const auto table =
        read_column_table(write_text(dir / "commented.txt", "# 6499 0.5\n6500 1\n6501 2\n"));
    CHECK(table.names.empty());
    const auto named =
        read_column_table(write_text(dir / "named.txt", "# energy mu\n6500 1\n6501 2\n"));
    CHECK(named.names == std::vector<std::string>{"energy", "mu"});
  }
  SECTION("an XDI column index of 1e18 (was std::length_error / out of memory)") {
    const auto path = write_text(dir / "x.xdi",
                                 "# XDI/1.0\n# Column.1e18: energy\n# Column.1: energy\n"
                                 "# Column.2: mu\n6500 1\n6501 2\n");
    CHECK(read_reference_spectrum(path, "x").mu == std::vector<double>{1, 2});
  }
  SECTION("a line of only separators (read column 0 of an empty table)") {
    const auto s =
        read_reference_spectrum(write_text(dir / "commas.txt", ",,,\n6500,1\n6501,2\n"), "c");
    CHECK(s.energy_ev.size() == 2);
  }
  SECTION("NaN energies are refused before sorting, naming the row") {
    CHECK_THAT(input_error_of([&] {
                 read_reference_spectrum(write_text(dir / "nan.txt", "6500 1\nnan 2\n6501 3\n"),
                                         "n");
               }),
               Contains("nan.txt") && Contains("data row 2") && Contains("energy"));
  }
  SECTION("an energy shift that rounds the reference's energies together") {
    write_text(dir / "a.txt", "6500 1\n6501 2\n");
    const auto manifest = read_reference_manifest(write_text(
        dir / "refs.toml",
        "[[reference]]\nname = \"A\"\nfile = \"a.txt\"\nvalence = 2\nenergy_shift_ev = 1e300\n"));
    CHECK_THAT(input_error_of([&] { load_references(manifest); }),
               Contains("refs.toml") && Contains("'A'"));
  }
}
