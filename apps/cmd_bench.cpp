// `xanesmap bench`: times every stage of the map pipeline (docs/performance.md explains the
// figures and how to reproduce them), either on a simulated stack held in memory (the default)
// or as `xanesmap map` runs on a file (`--file STACK`), reading and writing included.
//
// The stages are timed by a StageObserver (core/base/progress.hpp) that the pipeline calls at
// the begin and end of each stage: the bench runs the same code as `xanesmap map`, with a clock
// attached, and never replays the chain. What is reported per stage: wall seconds, process CPU
// seconds, spectra per second (pixels / s), GB/s and the ratio of that rate to the memory
// bandwidth measured in the same run (a STREAM-like triad). The bytes charged to a stage are the
// float32 data it must stream at the least:
//   reading              the bytes of the files read (--file), or none (in memory)
//   optical_density      2 x stack + the flats as stored (counts and a flat per energy read,
//                        OD written)
//   beam_normalization   2 1/3 x stack (the upper third averaged, every frame read and written)
//   registration         1 x stack (every frame read)
//   shift_apply          2 x stack (read and written)
//   valence_model        none (references, calibration, noise model; the offset scan's masked
//                        mean spectrum with --align-refs)
//   pixel_fits           1 x stack (every spectrum read once)
//   valence_summary      none
//   segmentation         the edge-jump map; particle_statistics: the maps it reads
//   writing              the bytes of the files written.
// With --file the bench also measures, in the same run, the two limits of reading: the page
// cache's read rate (the input files read through 16 MiB buffers) and the rate at which the
// machine hands out fresh memory (a 256 MiB bulk block touched first from every thread): the
// stack and the flats must land in fresh memory, and on a virtual machine that can cost more
// than the read itself.
// Peak memory is the kernel's VmHWM (/proc/self/status), reset (clear_refs 5) once the simulated
// raw stack is in memory, or before the file is read: it covers the whole run after that.
#include <fcntl.h>
#include <sys/resource.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "apps/cli_common.hpp"
#include "apps/cmd_map.hpp"
#include "core/base/background_release.hpp"
#include "core/base/bulk_buffer.hpp"
#include "core/base/defaults.hpp"
#include "core/base/error.hpp"
#include "core/pipeline.hpp"
#include "core/registration/detail/fft.hpp"
#include "core/simulation/simulator.hpp"
#include "io/formats/reference_manifest.hpp"
#include "io/formats/stack_reader.hpp"
#include "io/outputs/map_outputs.hpp"

namespace xanesmap::cli {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

struct BenchArgs {
  std::size_t size = 2048;       // px, image side
  std::size_t energies = 100;    // number of energies
  std::string json;              // --json FILE
  bool scaling = false;          // --scaling
  bool compare_threads = false;  // --compare-threads
  int repeats = 2;               // repetitions of the thread comparison
  std::uint64_t seed = 1;
  std::string refs = XANESMAP_DEFAULT_REFS;
  std::string work_dir;  // where the writing stage writes (default: system temp)
  StackArgs file;        // --file STACK (and its --flat, --dark, --energies...): time `map` on it
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// CPU seconds (user + system) of the whole process so far: with the wall time, it shows how
/// many cores a stage kept busy, and it is less disturbed by other programs than wall time.
double process_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

/// The worker threads TBB may use (the --threads limit, or all cores).
int threads_in_use() {
  return static_cast<int>(std::min<std::size_t>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism),
      static_cast<std::size_t>(tbb::this_task_arena::max_concurrency())));
}

// ---- Memory.

/// A field of /proc/self/status in bytes (VmHWM, VmRSS), 0 when unavailable.
std::size_t proc_status_bytes(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream fields(line.substr(key.size() + 1));
      std::size_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  return 0;
}

/// Resets VmHWM to the current RSS (Linux >= 4.0); false when the kernel refuses.
bool reset_peak_rss() {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "5", 1) == 1;
  ::close(fd);
  return ok;
}

// ---- Memory bandwidth: STREAM triad a[i] = b[i] + s c[i] (J. D. McCalpin, "Memory bandwidth
// and machine balance in current high performance computers", IEEE TCCA Newsletter, Dec 1995),
// on doubles, counting 3 x 8 bytes per element as STREAM does, with the threads in use; the best
// of several repetitions. 3 x 128 MiB, far above any cache.
double triad_gb_s() {
  const std::size_t n = std::size_t{16} << 20;
  std::vector<double> a(n), b(n), c(n);
  const tbb::blocked_range<std::size_t> all(0, n, 1 << 16);
  // First touch in parallel (pages land near the threads that use them).
  tbb::parallel_for(all, [&](const auto& r) {
    for (std::size_t i = r.begin(); i != r.end(); ++i) a[i] = 0.0, b[i] = 1.0, c[i] = 2.0;
  });
  double best = 1e300;
  for (int repeat = 0; repeat < 7; ++repeat) {
    const double s = 3.0 + repeat;
    const auto t0 = Clock::now();
    tbb::parallel_for(all, [&](const auto& r) {
      double* pa = a.data();
      const double* pb = b.data();
      const double* pc = c.data();
      for (std::size_t i = r.begin(); i != r.end(); ++i) pa[i] = pb[i] + s * pc[i];
    });
    best = std::min(best, seconds_since(t0));
  }
  if (!(a[n / 2] == 1.0 + 9.0 * 2.0))
    throw std::runtime_error("triad: wrong result");  // last s = 9
  return 3.0 * 8.0 * static_cast<double>(n) / best / 1e9;
}

// ---- The limits of reading a file: the page cache and fresh memory.

/// GB/s at which `files` come from the page cache (read twice; the second pass is timed).
double page_cache_gb_s(const std::vector<std::filesystem::path>& files) {
  std::vector<char> buffer(std::size_t{16} << 20);
  double bytes = 0.0, best = 0.0;
  for (int pass = 0; pass < 2; ++pass) {
    bytes = 0.0;
    const auto t0 = Clock::now();
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
        bytes += static_cast<double>(in.gcount());
    }
    best = seconds_since(t0);
  }
  return best > 0 ? bytes / best / 1e9 : 0.0;
}

/// GB/s at which fresh memory can be touched first (page faults and the kernel's zeroing), with
/// the threads in use and bulk storage (core/base/bulk_buffer.hpp): 1 GiB in four 256 MiB blocks
/// held together (a block freed and allocated again would get the same, already mapped pages).
double fresh_memory_gb_s() {
  const std::size_t n = std::size_t{64} << 20;  // floats per block
  std::vector<FloatBuffer> blocks(4);
  const auto t0 = Clock::now();
  for (FloatBuffer& block : blocks) {
    block = FloatBuffer(n);
    first_touch(block);
  }
  const double seconds = seconds_since(t0);
  return static_cast<double>(blocks.size() * n * sizeof(float)) / seconds / 1e9;
}

// ---- Stages, timed from the pipeline's events.

struct Stage {
  std::string name;
  double seconds = 0.0;
  double cpu_s = 0.0;    // process CPU seconds during the stage
  double bytes = 0.0;    // bytes charged (see the top of this file)
  double spectra = 0.0;  // pixels processed
  std::string note;
};

/// A StageObserver that reads the wall clock and the process's CPU time at each event and keeps
/// one Stage per name, in the order the stages began.
class StageClock {
 public:
  void operator()(const StageEvent& event) {
    if (event.phase == StagePhase::begin) {
      started_ = Clock::now(), cpu_started_ = process_cpu_s();
      Stage stage;
      stage.name = std::string(event.stage);
      stages_.push_back(std::move(stage));
      return;
    }
    if (stages_.empty() || stages_.back().name != event.stage)
      throw std::logic_error("bench: stage '" + std::string(event.stage) +
                             "' ended without beginning");
    stages_.back().seconds = seconds_since(started_);
    stages_.back().cpu_s = process_cpu_s() - cpu_started_;
  }
  StageObserver observer() {
    return [this](const StageEvent& e) { (*this)(e); };
  }
  std::vector<Stage>& stages() { return stages_; }

 private:
  Clock::time_point started_;
  double cpu_started_ = 0.0;
  std::vector<Stage> stages_;
};

struct BenchRun {
  std::string input;  // "simulated in memory" or the file
  std::size_t size = 0, height = 0, width = 0, energies = 0;
  int threads = 0;
  double triad_gb_s = 0.0;
  double page_cache_gb_s = 0.0;    // --file: the input files read from the page cache
  double fresh_memory_gb_s = 0.0;  // --file: first touch of fresh memory
  double fresh_bytes = 0.0;        // --file: the float32 stack and the flats as stored
  double simulate_s = 0.0;
  double total_s = 0.0;    // raw stack in memory (or the file) -> all maps written
  double compute_s = 0.0;  // the same without reading and writing
  std::size_t stack_bytes = 0, raw_input_bytes = 0, peak_rss_bytes = 0;
  std::size_t masked_pixels = 0;  // pixels in the Mn mask (edge energy and LCF run on these)
  bool peak_reset = false;
  // FFT plans made during the timed stages (core/registration/detail/fft.hpp): measured now
  // (their time is inside registration's) or taken from plans kept by an earlier run.
  int fft_plans_measured = 0, fft_plans_from_wisdom = 0;
  double fft_planning_s = 0.0;
  std::vector<Stage> stages;
};

double bench_pixel_size_nm(std::size_t size) {
  return kDefaultPixelSizeNm * 512.0 / static_cast<double>(size);
}

sim::SimulationOptions simulation_options(std::size_t size, std::size_t energies,
                                          std::uint64_t seed) {
  sim::SimulationOptions o;
  o.height = o.width = size;
  o.energies_ev = sim::energy_grid_of_size(energies);
  o.supersampling = 1;  // area integration changes nothing to the cost of the pipeline
  // The same scene at every size: the default pixels at 512 px, finer pixels for larger images
  // (the same 15 um field), so that particles cover the same share of it (about 15 % is Mn)
  // and the per-pixel stages see as many Mn pixels as a field full of particles gives.
  o.pixel_size_nm = bench_pixel_size_nm(size);
  o.seed = seed;
  o.validate();
  return o;
}

std::vector<ReferenceSpectrum> map_references(const ReferenceManifest& manifest) {
  std::vector<ReferenceSpectrum> out;
  for (auto& loaded : load_references(manifest))
    out.push_back({loaded.entry.name, loaded.entry.valence, std::move(loaded.spectrum)});
  return out;
}

std::vector<sim::SimulationReference> simulation_references(const ReferenceManifest& manifest) {
  std::vector<sim::SimulationReference> out;
  for (auto& loaded : load_references(manifest))
    out.push_back({loaded.entry.name, loaded.entry.valence, std::move(loaded.spectrum)});
  return out;
}

RawStack simulated_raw_stack(std::size_t size, std::size_t energies, std::uint64_t seed,
                             const ReferenceManifest& manifest, const ProgressSink& progress) {
  sim::Simulation simulation = sim::simulate(simulation_options(size, energies, seed),
                                             simulation_references(manifest), progress);
  simulation.truth = {};
  return sim::to_raw_stack(std::move(simulation.scan));
}

std::uintmax_t folder_bytes(const std::filesystem::path& folder) {
  std::uintmax_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) total += entry.file_size();
  return total;
}

std::filesystem::path scratch_folder(const BenchArgs& a) {
  const std::filesystem::path base = a.work_dir.empty() ? std::filesystem::temp_directory_path()
                                                        : std::filesystem::path(a.work_dir);
  return base / ("xanesmap-bench-" + std::to_string(::getpid()));
}

/// Bytes, spectra and notes of each stage (see the top of this file), once the run is known.
void charge_stages(BenchRun& run, double flat_bytes, double read_bytes, double written_bytes) {
  const double stack = static_cast<double>(run.stack_bytes);
  const double px = static_cast<double>(run.height * run.width);
  for (Stage& s : run.stages) {
    s.spectra = px;
    if (s.name == "reading") s.bytes = read_bytes, s.note = "files read (page cache if warm)";
    if (s.name == "optical_density") s.bytes = 2.0 * stack + flat_bytes;
    if (s.name == "beam_normalization")
      s.bytes = 2.0 * stack + stack / 3.0, s.note = "post-edge mean, per-frame fits, subtraction";
    if (s.name == "registration") s.bytes = stack, s.note = "estimate: template, direct and chain";
    if (s.name == "shift_apply") s.bytes = 2.0 * stack, s.note = "includes flagging";
    if (s.name == "valence_model") s.note = "references on the grid, calibration, noise model";
    if (s.name == "pixel_fits")
      s.bytes = stack, s.note = "normalization, mask, LCF, edge energy, uncertainty; " +
                                std::to_string(run.masked_pixels) + " masked pixels";
    if (s.name == "valence_summary") s.note = "counts, statistics, mean spectrum";
    if (s.name == "segmentation") s.bytes = px * sizeof(float);
    if (s.name == "particle_statistics") s.bytes = px * (2 + 4 + 4 + 4 + 4 + 1);
    if (s.name == "writing") s.bytes = written_bytes, s.note = "TIFF, HDF5, PNG (page cache)";
  }
}

void record_fft_plans(BenchRun& run, const fft::PlanningStats& before) {
  const fft::PlanningStats after = fft::planning_stats();
  run.fft_plans_measured = after.measured - before.measured;
  run.fft_plans_from_wisdom = after.from_wisdom - before.from_wisdom;
  run.fft_planning_s = after.measure_s - before.measure_s;
}

/// compute_s: the pipeline's stages only (not reading or writing).
void sum_compute_time(BenchRun& run) {
  run.compute_s = 0.0;
  for (const Stage& s : run.stages)
    if (s.name != "reading" && s.name != "writing") run.compute_s += s.seconds;
}

// ---- In memory: a simulated raw stack, the pipeline, and what `map` writes.

BenchRun run_in_memory(const BenchArgs& a, std::size_t size, std::size_t energies,
                       const ReferenceManifest& manifest, const ProgressSink& progress) {
  BenchRun run;
  run.input = "simulated in memory";
  run.size = run.height = run.width = size, run.energies = energies, run.threads = threads_in_use();
  run.triad_gb_s = triad_gb_s();
  const std::vector<ReferenceSpectrum> references = map_references(manifest);
  auto t = Clock::now();
  RawStack raw = simulated_raw_stack(size, energies, a.seed, manifest, progress);
  run.simulate_s = seconds_since(t);
  run.stack_bytes = raw.counts().frame_count() * size * size * sizeof(float);
  run.raw_input_bytes = raw.bytes();
  const auto flat_bytes = static_cast<double>(raw.flat_bytes());
  run.peak_reset = reset_peak_rss();

  MapPipelineOptions options;
  options.pixel_size_nm = bench_pixel_size_nm(size);
  StageClock clock;
  const fft::PlanningStats plans_before = fft::planning_stats();
  const auto start = Clock::now();
  BackgroundRelease stack_release;  // as `xanesmap map` does
  const MapPipelineResult result = run_map_pipeline(std::move(raw), references, options,
                                                    {progress, clock.observer(), &stack_release});
  stack_release.wait();  // the stack is gone before writing starts

  // Writing: what `xanesmap map` writes, into a temporary folder removed afterwards.
  const std::filesystem::path folder = scratch_folder(a);
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  MapRunInfo info;
  info.version = XANESMAP_VERSION;
  info.command_line = "xanesmap bench";
  info.stack.frames = result.energies_ev.size(), info.stack.height = size, info.stack.width = size;
  info.stack.energies_ev = result.energies_ev;
  info.pixel_size_nm = options.pixel_size_nm;
  info.pixel_size_source = "simulated";
  info.manifest = a.refs;
  info.references = manifest.references;
  for (const auto& r : info.references) info.reference_files.push_back(describe_input_file(r.file));
  info.options = options;
  info.particle_options = options.particles;
  clock({"writing", StagePhase::begin});
  write_map_outputs(folder, info, result, result.particles);
  clock({"writing", StagePhase::end});
  run.total_s = seconds_since(start);
  const auto written = static_cast<double>(folder_bytes(folder));
  std::filesystem::remove_all(folder);

  run.peak_rss_bytes = proc_status_bytes("VmHWM");
  std::size_t masked = 0;
  for (const auto m : result.maps.mask.pixels()) masked += m;
  run.masked_pixels = masked;
  run.stages = std::move(clock.stages());
  charge_stages(run, flat_bytes, 0.0, written);
  sum_compute_time(run);
  record_fft_plans(run, plans_before);
  return run;
}

// ---- From a file: `xanesmap map` itself, with the clock attached.

std::uintmax_t input_bytes(const StackDescription& d, const StackSource& source) {
  std::uintmax_t total = 0;
  std::error_code ec;
  for (const auto& f : d.image_files) total += std::filesystem::file_size(f, ec);
  for (const auto& extra : {source.flat, source.dark})
    if (!extra.empty()) total += std::filesystem::file_size(extra, ec);
  return total;
}

BenchRun run_on_file(const BenchArgs& a, const GlobalOptions& global) {
  BenchRun run;
  run.input = a.file.stack;
  run.threads = threads_in_use();
  run.triad_gb_s = triad_gb_s();
  const StackSource source = to_stack_source(a.file);
  const StackDescription d = describe_stack(source);
  run.height = d.height, run.width = d.width, run.size = std::max(d.height, d.width),
  run.energies = d.frames;
  run.stack_bytes = d.frames * d.height * d.width * sizeof(float);
  const bool flats_per_energy = d.flats_per_energy;
  const double flat_bytes =
      static_cast<double>((flats_per_energy ? d.frames : 1) * d.height * d.width) *
      (d.flat_sample_type == SampleType::uint16 ? 2.0 : 4.0);
  run.raw_input_bytes = input_bytes(d, source);
  std::vector<std::filesystem::path> files = d.image_files;
  for (const auto& extra : {source.flat, source.dark})
    if (!extra.empty()) files.push_back(extra);
  run.page_cache_gb_s = page_cache_gb_s(files);
  run.fresh_memory_gb_s = fresh_memory_gb_s();
  run.fresh_bytes = static_cast<double>(run.stack_bytes) + flat_bytes;

  MapArgs map;
  map.stack = a.file;
  map.refs = a.refs;
  const std::filesystem::path folder = scratch_folder(a);
  std::filesystem::remove_all(folder);
  map.out = folder.string();
  GlobalOptions quiet = global;
  run.peak_reset = reset_peak_rss();
  StageClock clock;
  const fft::PlanningStats plans_before = fft::planning_stats();
  const auto start = Clock::now();
  run_map(map, quiet, clock.observer());
  run.total_s = seconds_since(start);
  run.peak_rss_bytes = proc_status_bytes("VmHWM");
  const auto written = static_cast<double>(folder_bytes(folder));
  {
    // The mask's size, from the run's own summary (the maps are written, not returned).
    std::ifstream summary(folder / "summary.json");
    const auto j = nlohmann::json::parse(summary, nullptr, false);
    if (!j.is_discarded() && j.contains("pixels") && j["pixels"].contains("in_mask"))
      run.masked_pixels = j["pixels"]["in_mask"].get<std::size_t>();
  }
  std::filesystem::remove_all(folder);
  run.stages = std::move(clock.stages());
  charge_stages(run, flat_bytes, static_cast<double>(run.raw_input_bytes), written);
  sum_compute_time(run);
  record_fft_plans(run, plans_before);
  return run;
}

// ---- Threads: the whole pipeline with 1 thread and with all threads in use, alternately, within
// one process and on the same data (a machine's second core may be a hyper-thread whose
// throughput varies: compare in one run, several times).
struct ThreadTimes {
  std::vector<std::string> names;         // the stages, in order
  std::vector<std::vector<double>> best;  // [thread setting][stage], seconds, best of the repeats
};

ThreadTimes compare_threads(const BenchArgs& a, const ReferenceManifest& manifest,
                            int threads_max) {
  const std::vector<ReferenceSpectrum> references = map_references(manifest);
  const RawStack raw = simulated_raw_stack(a.size, a.energies, a.seed, manifest, {});
  MapPipelineOptions options;
  options.pixel_size_nm = bench_pixel_size_nm(a.size);
  ThreadTimes times;
  times.best.assign(2, {});
  for (int repeat = 0; repeat < a.repeats; ++repeat)
    for (std::size_t setting = 0; setting < 2; ++setting) {
      const int threads = setting == 0 ? 1 : threads_max;
      const tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                                      static_cast<std::size_t>(threads));
      // OD and the shifts work in place: on a copy made outside the clock.
      RawStack copy = raw;
      StageClock clock;
      run_map_pipeline(std::move(copy), references, options, {{}, clock.observer(), nullptr});
      const auto& stages = clock.stages();
      if (times.names.empty())
        for (const Stage& s : stages) times.names.push_back(s.name);
      auto& best = times.best[setting];
      best.resize(times.names.size(), 1e300);
      for (std::size_t i = 0; i < stages.size() && i < best.size(); ++i)
        best[i] = std::min(best[i], stages[i].seconds);
    }
  return times;
}

// ---- Output.

/// The least time reading can take here: the files from the page cache, the stack and the flats
/// into fresh memory (the two can overlap; their sum is the floor of doing them in turn).
double reading_floor_s(const BenchRun& r) {
  if (r.page_cache_gb_s <= 0 || r.fresh_memory_gb_s <= 0) return 0.0;
  return static_cast<double>(r.raw_input_bytes) / 1e9 / r.page_cache_gb_s +
         r.fresh_bytes / 1e9 / r.fresh_memory_gb_s;
}

Json stage_json(const Stage& s, double triad) {
  Json j;
  const double sec = s.seconds;
  j["seconds"] = sec;
  j["cpu_s"] = s.cpu_s;
  j["spectra_per_s"] = sec > 0 ? s.spectra / sec : 0.0;
  j["gb_s"] = sec > 0 ? s.bytes / sec / 1e9 : 0.0;
  j["ratio_to_triad"] = sec > 0 ? s.bytes / sec / 1e9 / triad : 0.0;
  j["bytes"] = s.bytes;
  j["note"] = s.note;
  return j;
}

Json run_json(const BenchRun& r) {
  Json j;
  j["input"] = r.input;
  j["size"] = r.size;
  j["height"] = r.height;
  j["width"] = r.width;
  j["energies"] = r.energies;
  j["threads"] = r.threads;
  j["triad_gb_s"] = r.triad_gb_s;
  j["triad_convention"] = "a[i] = b[i] + s*c[i] on doubles, 3 x 8 bytes per element, best of 7";
  if (r.page_cache_gb_s > 0) {
    j["page_cache_gb_s"] = r.page_cache_gb_s;
    j["fresh_memory_gb_s"] = r.fresh_memory_gb_s;
    j["fresh_bytes"] = r.fresh_bytes;
    j["reading_floor_s"] = reading_floor_s(r);
  }
  j["total_s"] = r.total_s;
  j["compute_s"] = r.compute_s;
  j["simulate_s"] = r.simulate_s;
  j["stack_bytes"] = r.stack_bytes;
  j["raw_input_bytes"] = r.raw_input_bytes;
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  j["peak_rss_over_stack"] =
      static_cast<double>(r.peak_rss_bytes) / static_cast<double>(r.stack_bytes);
  j["peak_rss_reset_at_start"] = r.peak_reset;
  j["masked_pixels"] = r.masked_pixels;
  j["fft_plans"] = {{"measured", r.fft_plans_measured},
                    {"measure_s", r.fft_planning_s},
                    {"from_wisdom", r.fft_plans_from_wisdom}};
  Json stages = Json::object();
  for (const auto& s : r.stages) stages[s.name] = stage_json(s, r.triad_gb_s);
  j["stages"] = stages;
  return j;
}

void print_run(const BenchRun& r) {
  std::printf(
      "bench %s: %zu x %zu x %zu energies, %d threads; triad %.2f GB/s; stack %.2f GB (float32), "
      "raw input %.2f GB\n",
      r.input.c_str(), r.height, r.width, r.energies, r.threads, r.triad_gb_s,
      static_cast<double>(r.stack_bytes) / 1e9, static_cast<double>(r.raw_input_bytes) / 1e9);
  std::printf("%-20s %9s %14s %8s %8s %8s\n", "stage", "seconds", "spectra/s", "GB/s", "/triad",
              "cpu s");
  for (const auto& s : r.stages) {
    const double sec = s.seconds;
    const double gbs = sec > 0 && s.bytes > 0 ? s.bytes / sec / 1e9 : 0.0;
    std::printf("%-20s %9.3f %14.4g %8.2f %8.2f %8.2f\n", s.name.c_str(), sec,
                sec > 0 ? s.spectra / sec : 0.0, gbs, gbs / r.triad_gb_s, s.cpu_s);
  }
  const bool file = r.input != "simulated in memory";
  if (r.page_cache_gb_s > 0) {
    double reading = 0.0;
    for (const Stage& stage : r.stages)
      if (stage.name == "reading") reading = stage.seconds;
    std::printf(
        "reading's limits here: page cache %.2f GB/s, fresh memory %.2f GB/s (%.2f GB of stack "
        "and flats): floor %.2f s, reading took %.2f x that\n",
        r.page_cache_gb_s, r.fresh_memory_gb_s, r.fresh_bytes / 1e9, reading_floor_s(r),
        reading_floor_s(r) > 0 ? reading / reading_floor_s(r) : 0.0);
  }
  std::printf(
      "total (%s -> maps written): %.2f s wall (stages without reading and writing: %.2f s)\n",
      file ? "file read" : "raw stack in memory", r.total_s, r.compute_s);
  std::printf(
      "Mn mask: %zu pixels (%.1f %%): edge energy and LCF run on these\n", r.masked_pixels,
      100.0 * static_cast<double>(r.masked_pixels) / static_cast<double>(r.height * r.width));
  std::printf("peak resident memory: %.2f GB = %.2f x the float32 stack%s\n",
              static_cast<double>(r.peak_rss_bytes) / 1e9,
              static_cast<double>(r.peak_rss_bytes) / static_cast<double>(r.stack_bytes),
              r.peak_reset
                  ? (file ? " (peak reset before reading)" : " (peak reset after the simulation)")
                  : " (includes what came before: the kernel refused the reset)");
  std::printf(
      "FFT plans: %d measured (%.2f s, inside registration), %d from plans kept by an earlier "
      "run\n",
      r.fft_plans_measured, r.fft_planning_s, r.fft_plans_from_wisdom);
}

void print_thread_comparison(const ThreadTimes& t, int threads_max, int repeats, Json& out) {
  std::printf("\nthreads: 1 against %d, best of %d alternating repetitions\n", threads_max,
              repeats);
  std::printf("%-20s %10s %10s %8s\n", "stage", "1 thread", "all", "speed-up");
  Json tj = Json::object();
  for (std::size_t i = 0; i < t.names.size(); ++i) {
    const double one = t.best[0][i], all = t.best[1][i];
    std::printf("%-20s %10.3f %10.3f %8.2f\n", t.names[i].c_str(), one, all,
                all > 0 ? one / all : 0.0);
    tj[t.names[i]] = {{"seconds_1_thread", one},
                      {"seconds_all_threads", all},
                      {"speedup", all > 0 ? one / all : 0.0}};
  }
  out["thread_comparison"] = {{"threads", threads_max}, {"repeats", repeats}, {"stages", tj}};
}

void print_scaling(const std::vector<BenchRun>& runs, Json& out) {
  std::printf("\nscaling: seconds per stage; last column: total / (pixels x energies) in ns\n");
  std::printf("%6s %5s", "size", "E");
  for (const auto& s : runs.front().stages) std::printf(" %9.9s", s.name.c_str());
  std::printf(" %9s %9s\n", "total", "ns/value");
  Json sj = Json::array();
  for (const auto& r : runs) {
    std::printf("%6zu %5zu", r.size, r.energies);
    for (const auto& s : r.stages) std::printf(" %9.3f", s.seconds);
    const double values = static_cast<double>(r.size * r.size * r.energies);
    std::printf(" %9.3f %9.3f\n", r.total_s, 1e9 * r.total_s / values);
    sj.push_back(run_json(r));
  }
  out["scaling"] = sj;
}

int run_bench(const BenchArgs& a, const GlobalOptions& global, bool file_mode) {
  if (a.size < 32) throw OptionError("--size", "must be at least 32 px");
  if (a.repeats < 1) throw OptionError("--repeats", "must be at least 1");
  if (file_mode && (a.scaling || a.compare_threads))
    throw OptionError(a.scaling ? "--scaling" : "--compare-threads",
                      "runs on simulated stacks only; it cannot be combined with --file");
  if (!file_mode) sim::energy_grid_of_size(a.energies);  // refuses too few energies before any work
  const ReferenceManifest manifest = read_reference_manifest(a.refs);
  const ProgressSink progress = make_progress_sink(global);
  Json out;
  out["program"] = {{"name", "xanesmap bench"},
                    {"version", XANESMAP_VERSION},
                    {"command_line", global.command_line}};

  const BenchRun main_run =
      file_mode ? run_on_file(a, global) : run_in_memory(a, a.size, a.energies, manifest, progress);
  print_run(main_run);
  const Json main_json = run_json(main_run);
  for (auto it = main_json.begin(); it != main_json.end(); ++it) out[it.key()] = it.value();

  if (a.compare_threads) {
    const int threads_max = threads_in_use();
    print_thread_comparison(compare_threads(a, manifest, threads_max), threads_max, a.repeats, out);
  }
  if (a.scaling) {
    // Pixels at the chosen number of energies; energies at 1024 x 1024 (or the chosen size if
    // smaller), which keeps the 200-energy run within memory and minutes.
    std::vector<BenchRun> runs;
    for (const std::size_t s : {512, 1024, 2048})
      runs.push_back(run_in_memory(a, s, a.energies, manifest, progress));
    const std::size_t energy_size = std::min<std::size_t>(a.size, 1024);
    for (const std::size_t e : {50, 100, 200})
      runs.push_back(run_in_memory(a, energy_size, e, manifest, progress));
    print_scaling(runs, out);
  }
  if (!a.json.empty()) {
    std::ofstream f(a.json);
    f << out.dump(2) << "\n";
    if (!f) throw OutputError("cannot write '" + a.json + "'");
  }
  return 0;
}

}  // namespace

void register_bench(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* sub =
      app.add_subcommand("bench", "Time every stage, on a simulated stack in memory or on a file");
  sub->add_option("--size", a->size, "Image side in px (simulated stack)")->capture_default_str();
  sub->add_option("--energies", a->energies, "Number of energies, 16 or more (simulated stack)")
      ->capture_default_str();
  sub->add_option(
         "--file", a->file.stack,
         "Time `xanesmap map` on this stack instead, reading and writing included (with --flat, "
         "--dark, --energies... as for map)")
      ->type_name("STACK");
  // The stack options of `map` (--energies is the simulated stack's count here: --energy-list).
  sub->add_option("--flat", a->file.flat, "With --file: flat-field TIFF")->type_name("PATH");
  sub->add_option("--dark", a->file.dark, "With --file: dark-field TIFF")->type_name("PATH");
  sub->add_option("--energy-list", a->file.energies, "With --file: energy list of a TIFF stack")
      ->type_name("PATH");
  sub->add_option("--json", a->json, "Also write the figures to this JSON file");
  sub->add_flag(
      "--scaling", a->scaling,
      "Also run 512, 1024, 2048 px (at --energies) and 50, 100, 200 energies (at 1024 px)");
  sub->add_flag("--compare-threads", a->compare_threads,
                "Also run the pipeline with 1 thread and with all threads, alternately");
  sub->add_option("--repeats", a->repeats, "Repetitions of the thread comparison")
      ->capture_default_str();
  sub->add_option("--seed", a->seed, "Simulation seed")->capture_default_str();
  sub->add_option("--refs", a->refs, "Reference manifest (TOML)")->capture_default_str();
  sub->add_option("--work-dir", a->work_dir,
                  "Folder for the writing stage's temporary output (default: system temp)");
  sub->footer(examples_footer({"xanesmap bench", "xanesmap bench --threads 1 --json one.json",
                               "xanesmap bench --size 512 --energies 50 --scaling -q",
                               "xanesmap bench --file scan.h5 --json file.json"}));
  sub->callback([&action, &global, a, sub] {
    const bool file_mode = sub->count("--file") > 0;
    for (const char* option : {"--flat", "--dark", "--energy-list"})
      if (sub->count(option) && !file_mode) {
        const std::string name = option;
        action = [name]() -> int { throw OptionError(name, "only applies with --file"); };
        return;
      }
    for (const char* option : {"--size", "--energies", "--seed"})
      if (sub->count(option) && file_mode) {
        const std::string name = option;
        action = [name]() -> int {
          throw OptionError(name, "describes the simulated stack; it has no effect with --file");
        };
        return;
      }
    action = [&global, a, file_mode] { return run_bench(*a, global, file_mode); };
  });
}

}  // namespace xanesmap::cli
