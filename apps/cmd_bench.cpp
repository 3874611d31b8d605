// `xanesmap bench`: times every stage of the map pipeline on a simulated stack held in memory
// (docs/performance.md explains the figures and how to reproduce them).
//
// What is measured, per stage: wall seconds, spectra per second (pixels / s), GB/s and the ratio
// of that rate to the memory bandwidth measured in the same run (a STREAM-like triad). The bytes
// charged to a stage are the float32 data it must stream at the least:
//   od                2 x stack + the flats as stored (counts and one flat per energy read, OD
//                                 written): 2.5 x stack with the simulator's uint16 flats
//   registration      1 x stack   (every frame read)
//   shift_apply       2 x stack   (read and written)
//   valence_maps      1 x stack   (the whole stack's spectra, as one read would give them: the
//                                 "equivalent stack throughput" the stage keeps up with)
//   segmentation      the edge-jump map; writing: the bytes of the files written.
// Peak memory is the kernel's VmHWM (/proc/self/status), reset (clear_refs 5) once the simulated
// raw stack is in memory, so it covers the pipeline from the raw stack to the written maps.
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
#include "core/base/background_release.hpp"
#include "core/base/error.hpp"
#include "core/stack/optical_density.hpp"
#include "core/pipeline.hpp"
#include "core/registration/registration.hpp"
#include "core/particles/particle_analysis.hpp"
#include "core/registration/detail/fft.hpp"
#include "core/particles/segmentation.hpp"
#include "core/registration/shift_apply.hpp"
#include "core/simulation/simulator.hpp"
#include "core/spectral/valence_map.hpp"
#include "io/outputs/map_outputs.hpp"
#include "io/formats/reference_manifest.hpp"

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

// ---- Stages.

struct Stage {
  std::string name;
  std::optional<double> seconds;  // nullopt: not measured (a reserved slot)
  double bytes = 0.0;             // bytes charged (see the top of this file)
  double spectra = 0.0;           // pixels processed
  std::string note;
  std::optional<double> cpu_s;  // process CPU seconds during the stage (stages timed alone)
};

struct BenchRun {
  std::size_t size = 0, energies = 0;
  int threads = 0;
  double triad_gb_s = 0.0;
  double simulate_s = 0.0;
  double total_s = 0.0;    // raw stack in memory -> all maps written
  double compute_s = 0.0;  // the same without the writing stage
  std::size_t stack_bytes = 0, raw_input_bytes = 0, peak_rss_bytes = 0;
  std::size_t masked_pixels = 0;  // pixels in the Mn mask (edge energy and LCF run on these)
  bool peak_reset = false;
  // FFT plans made during the timed stages (core/registration/detail/fft.hpp): measured now (their time is inside
  // registration's) or taken from the plans kept by an earlier run (apps/fft_wisdom.hpp).
  int fft_plans_measured = 0, fft_plans_from_wisdom = 0;
  double fft_planning_s = 0.0;
  std::vector<Stage> stages;
};

double bench_pixel_size_nm(std::size_t size) { return 30.0 * 512.0 / static_cast<double>(size); }

sim::SimulationOptions simulation_options(std::size_t size, std::size_t energies,
                                          std::uint64_t seed) {
  sim::SimulationOptions o;
  o.height = o.width = size;
  o.energies_ev = sim::energy_grid_of_size(energies);
  o.supersampling = 1;  // area integration changes nothing to the cost of the pipeline
  // The same scene at every size: the default 30 nm pixels at 512 px, finer pixels for larger
  // images (the same 15 um field), so that particles cover the same share of it (about 15 % is
  // Mn) and the per-pixel stages see as many Mn pixels as a field full of particles gives.
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

BenchRun run_pipeline(const BenchArgs& a, std::size_t size, std::size_t energies,
                      const ReferenceManifest& manifest, const ProgressSink& progress) {
  BenchRun run;
  run.size = size, run.energies = energies, run.threads = threads_in_use();
  run.triad_gb_s = triad_gb_s();
  const std::vector<ReferenceSpectrum> references = map_references(manifest);

  auto t = Clock::now();
  RawStack raw = simulated_raw_stack(size, energies, a.seed, manifest, progress);
  run.simulate_s = seconds_since(t);
  const std::size_t n = raw.counts().frame_count(), pixels = size * size;
  run.stack_bytes = n * pixels * sizeof(float);
  run.raw_input_bytes = raw.bytes();
  const auto od_bytes = static_cast<double>(2 * run.stack_bytes + raw.flat_bytes());
  run.peak_reset = reset_peak_rss();

  const double stack = static_cast<double>(run.stack_bytes), px = static_cast<double>(pixels);
  MapPipelineOptions options;
  const auto start = Clock::now();
  const fft::PlanningStats plans_before = fft::planning_stats();

  double cpu = process_cpu_s();
  auto cpu_since = [&cpu] {
    const double now = process_cpu_s(), d = now - cpu;
    cpu = now;
    return d;
  };
  t = Clock::now();
  OpticalDensityResult od =
      compute_optical_density(std::move(raw), options.optical_density, progress);  // in place
  run.stages.push_back({"od", seconds_since(t), od_bytes, px, "", cpu_since()});

  t = Clock::now();
  RegistrationResult reg = register_stack(od.od, options.registration, progress);
  run.stages.push_back({"registration", seconds_since(t), stack, px,
                        "estimate: template, direct and chain", cpu_since()});

  t = Clock::now();
  AlignedStack aligned =
      apply_shifts(std::move(od.od), reg.dy_px, reg.dx_px, progress);  // in place
  flag_aligned_pixels(aligned, od.flags);
  run.stages.push_back(
      {"shift_apply", seconds_since(t), 2.0 * stack, px, "includes flagging", cpu_since()});

  MapPipelineResult result;
  result.energies_ev = aligned.stack.energies_ev();
  result.optical_density = summarize_od_flags(od.flags);
  result.alignment = AlignmentMode::estimate;
  result.registration = std::move(reg);
  t = Clock::now();
  result.maps = compute_valence_maps(aligned.stack, od.flags.view(), references, options.valence, progress);
  run.stages.push_back({"valence_maps", seconds_since(t), stack, px,
                        "set-up, per-pixel fits, summary", cpu_since()});
  for (const auto m : result.maps.mask.pixels()) run.masked_pixels += m;
  // As run_map_pipeline for `xanesmap map`: the stack is released on a thread of its own once the
  // maps exist, while segmentation and statistics run; joined before the compute time is read.
  BackgroundRelease stack_release;
  stack_release.release(std::move(aligned));
  od = {};

  t = Clock::now();
  SegmentationOptions seg_options;
  seg_options.pixel_size_nm = bench_pixel_size_nm(size);
  Segmentation segmentation = segment_particles(result.maps.edge_jump_od.view(), seg_options);
  const std::size_t particle_count = segmentation.particles.size();
  run.stages.push_back({"segmentation", seconds_since(t), px * sizeof(float), px,
                        std::to_string(particle_count) + " particles", cpu_since()});
  t = Clock::now();
  const ParticleAnalysis particles =
      measure_particles(result.maps, std::move(segmentation), seg_options.pixel_size_nm, ParticleAnalysisOptions{});
  // Reads the labels, depth, valence, edge energy, edge jump and status maps once.
  run.stages.push_back({"statistics", seconds_since(t), px * (2 + 4 + 4 + 4 + 4 + 1), px,
                        "regions, figures, histograms, depth profile, populations of " +
                            std::to_string(particle_count) + " particles",
                        cpu_since()});
  stack_release.wait();  // the stack is gone before the compute time is read
  run.compute_s = seconds_since(start);

  // Writing: what `xanesmap map` writes, into a temporary folder removed afterwards.
  const std::filesystem::path base = a.work_dir.empty() ? std::filesystem::temp_directory_path()
                                                        : std::filesystem::path(a.work_dir);
  const std::filesystem::path folder = base / ("xanesmap-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  MapRunInfo info;
  info.version = XANESMAP_VERSION;
  info.command_line = "xanesmap bench";
  info.stack.frames = n, info.stack.height = size, info.stack.width = size;
  info.stack.energies_ev = result.energies_ev;
  info.pixel_size_nm = bench_pixel_size_nm(size);
  info.pixel_size_source = "simulated";
  info.manifest = a.refs;
  info.references = manifest.references;
  for (const auto& r : info.references) info.reference_files.push_back(describe_input_file(r.file));
  info.options = options;
  t = Clock::now();
  write_map_outputs(folder, info, result, particles);
  const double write_s = seconds_since(t);
  const double write_cpu_s = cpu_since();
  const auto written = static_cast<double>(folder_bytes(folder));
  std::filesystem::remove_all(folder);
  run.stages.push_back(
      {"writing", write_s, written, px, "TIFF, HDF5, PNG (page cache)", write_cpu_s});
  run.total_s = seconds_since(start);
  run.peak_rss_bytes = proc_status_bytes("VmHWM");
  const fft::PlanningStats plans_after = fft::planning_stats();
  run.fft_plans_measured = plans_after.measured - plans_before.measured;
  run.fft_plans_from_wisdom = plans_after.from_wisdom - plans_before.from_wisdom;
  run.fft_planning_s = plans_after.measure_s - plans_before.measure_s;
  return run;
}

// ---- Threads: the per-pixel stages with 1 thread and with all threads in use, alternately,
// within one process and on the same data (this machine's second core is a hyper-thread whose
// throughput varies: compare in one run, several times).
struct ThreadTimes {
  std::vector<std::string> names{"od", "shift_apply", "valence_maps"};
  std::vector<std::vector<double>> best;  // [thread setting][stage], seconds, best of the repeats
};

ThreadTimes compare_threads(const BenchArgs& a, const ReferenceManifest& manifest,
                            int threads_max) {
  const std::vector<ReferenceSpectrum> references = map_references(manifest);
  RawStack raw = simulated_raw_stack(a.size, a.energies, a.seed, manifest, {});
  MapPipelineOptions options;
  OpticalDensityResult od = compute_optical_density(raw, options.optical_density);
  const RegistrationResult reg = register_stack(od.od, options.registration);
  ThreadTimes times;
  times.best.assign(2, std::vector<double>(times.names.size(), 1e300));
  for (int repeat = 0; repeat < a.repeats; ++repeat)
    for (std::size_t setting = 0; setting < 2; ++setting) {
      const int threads = setting == 0 ? 1 : threads_max;
      const tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                                      static_cast<std::size_t>(threads));
      std::vector<double> s(times.names.size());
      // As in the pipeline, OD and the shifts work in place: on copies made outside the timer
      // (a copying pass would mostly time the kernel handing out fresh pages).
      RawStack raw_copy = raw;
      auto t = Clock::now();
      OpticalDensityResult again = compute_optical_density(std::move(raw_copy), options.optical_density);
      s[0] = seconds_since(t);
      again = {};
      EnergyStack od_copy = od.od;
      Image<std::uint8_t> flags = od.flags;
      t = Clock::now();
      AlignedStack aligned = apply_shifts(std::move(od_copy), reg.dy_px, reg.dx_px);
      flag_aligned_pixels(aligned, flags);
      s[1] = seconds_since(t);
      t = Clock::now();
      compute_valence_maps(aligned.stack, flags.view(), references, options.valence);
      s[2] = seconds_since(t);
      for (std::size_t i = 0; i < s.size(); ++i)
        times.best[setting][i] = std::min(times.best[setting][i], s[i]);
    }
  return times;
}

// ---- Output.

Json stage_json(const Stage& s, double triad) {
  Json j;
  j["name"] = s.name;
  if (!s.seconds) {
    j["seconds"] = nullptr;
  } else {
    const double sec = *s.seconds;
    j["seconds"] = sec;
    j["spectra_per_s"] = sec > 0 ? s.spectra / sec : 0.0;
    j["gb_s"] = sec > 0 ? s.bytes / sec / 1e9 : 0.0;
    j["ratio_to_triad"] = sec > 0 ? s.bytes / sec / 1e9 / triad : 0.0;
    j["bytes"] = s.bytes;
  }
  if (s.cpu_s) j["cpu_s"] = *s.cpu_s;
  j["note"] = s.note;
  return j;
}

Json run_json(const BenchRun& r) {
  Json j;
  j["size"] = r.size;
  j["energies"] = r.energies;
  j["threads"] = r.threads;
  j["triad_gb_s"] = r.triad_gb_s;
  j["triad_convention"] = "a[i] = b[i] + s*c[i] on doubles, 3 x 8 bytes per element, best of 7";
  j["total_s"] = r.total_s;
  j["compute_s"] = r.compute_s;
  j["simulate_s"] = r.simulate_s;
  j["stack_bytes"] = r.stack_bytes;
  j["raw_input_bytes"] = r.raw_input_bytes;
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  j["peak_rss_over_stack"] =
      static_cast<double>(r.peak_rss_bytes) / static_cast<double>(r.stack_bytes);
  j["peak_rss_reset_after_simulation"] = r.peak_reset;
  j["masked_pixels"] = r.masked_pixels;
  j["fft_plans"] = {{"measured", r.fft_plans_measured},
                    {"measure_s", r.fft_planning_s},
                    {"from_wisdom", r.fft_plans_from_wisdom}};
  Json stages = Json::object();
  for (const auto& s : r.stages) {
    Json sj = stage_json(s, r.triad_gb_s);
    sj.erase("name");
    stages[s.name] = sj;
  }
  j["stages"] = stages;
  return j;
}

void print_run(const BenchRun& r) {
  std::printf(
      "bench %zu x %zu x %zu energies, %d threads; triad %.2f GB/s; stack %.2f GB (float32), raw "
      "input %.2f GB\n",
      r.size, r.size, r.energies, r.threads, r.triad_gb_s, static_cast<double>(r.stack_bytes) / 1e9,
      static_cast<double>(r.raw_input_bytes) / 1e9);
  std::printf("%-16s %9s %14s %8s %8s %8s\n", "stage", "seconds", "spectra/s", "GB/s", "/triad",
              "cpu s");
  for (const auto& s : r.stages) {
    if (!s.seconds) {
      std::printf("%-16s %9s  (%s)\n", s.name.c_str(), "-", s.note.c_str());
      continue;
    }
    const double sec = *s.seconds;
    const double gbs = sec > 0 && s.bytes > 0 ? s.bytes / sec / 1e9 : 0.0;
    std::printf("%-16s %9.3f %14.4g %8.2f %8.2f", s.name.c_str(), sec,
                sec > 0 ? s.spectra / sec : 0.0, gbs, gbs / r.triad_gb_s);
    if (s.cpu_s) std::printf(" %8.2f", *s.cpu_s);
    std::printf("\n");
  }
  std::printf("total (raw stack in memory -> maps written): %.2f s wall (%.2f s without writing)\n",
              r.total_s, r.compute_s);
  std::printf("Mn mask: %zu pixels (%.1f %%): edge energy and LCF run on these\n", r.masked_pixels,
              100.0 * static_cast<double>(r.masked_pixels) / static_cast<double>(r.size * r.size));
  std::printf("peak resident memory: %.2f GB = %.2f x the float32 stack%s\n",
              static_cast<double>(r.peak_rss_bytes) / 1e9,
              static_cast<double>(r.peak_rss_bytes) / static_cast<double>(r.stack_bytes),
              r.peak_reset ? " (peak reset after the simulation)" : " (includes the simulation)");
  std::printf("FFT plans: %d measured (%.2f s, inside registration), %d from plans kept by an earlier run\n",
              r.fft_plans_measured, r.fft_planning_s, r.fft_plans_from_wisdom);
}

int run_bench(const BenchArgs& a, const GlobalOptions& global) {
  if (a.size < 32) throw OptionError("--size", "must be at least 32 px");
  if (a.repeats < 1) throw OptionError("--repeats", "must be at least 1");
  sim::energy_grid_of_size(a.energies);  // refuses too few energies before any work
  const ReferenceManifest manifest = read_reference_manifest(a.refs);
  const ProgressSink progress = make_progress_sink(global);
  Json out;
  out["program"] = {{"name", "xanesmap bench"},
                    {"version", XANESMAP_VERSION},
                    {"command_line", global.command_line}};

  const BenchRun main_run = run_pipeline(a, a.size, a.energies, manifest, progress);
  print_run(main_run);
  const Json main_json = run_json(main_run);
  for (auto it = main_json.begin(); it != main_json.end(); ++it) out[it.key()] = it.value();

  if (a.compare_threads) {
    const int threads_max = threads_in_use();
    const ThreadTimes t = compare_threads(a, manifest, threads_max);
    std::printf("\nthreads: 1 against %d, best of %d alternating repetitions\n", threads_max,
                a.repeats);
    std::printf("%-16s %10s %10s %8s\n", "stage", "1 thread", "all", "speed-up");
    Json tj = Json::object();
    for (std::size_t i = 0; i < t.names.size(); ++i) {
      const double one = t.best[0][i], all = t.best[1][i];
      std::printf("%-16s %10.3f %10.3f %8.2f\n", t.names[i].c_str(), one, all,
                  all > 0 ? one / all : 0.0);
      tj[t.names[i]] = {{"seconds_1_thread", one},
                        {"seconds_all_threads", all},
                        {"speedup", all > 0 ? one / all : 0.0}};
    }
    out["thread_comparison"] = {{"threads", threads_max}, {"repeats", a.repeats}, {"stages", tj}};
  }

  if (a.scaling) {
    // Pixels at the chosen number of energies; energies at 1024 x 1024 (or the chosen size if
    // smaller), which keeps the 200-energy run within memory and minutes.
    std::vector<BenchRun> runs;
    for (const std::size_t s : {512, 1024, 2048})
      runs.push_back(run_pipeline(a, s, a.energies, manifest, progress));
    const std::size_t energy_size = std::min<std::size_t>(a.size, 1024);
    for (const std::size_t e : {50, 100, 200})
      runs.push_back(run_pipeline(a, energy_size, e, manifest, progress));
    std::printf("\nscaling: seconds per stage; last column: total / (pixels x energies) in ns\n");
    std::printf("%6s %5s", "size", "E");
    for (const auto& s : runs.front().stages) std::printf(" %9.9s", s.name.c_str());
    std::printf(" %9s %9s\n", "total", "ns/value");
    Json sj = Json::array();
    for (const auto& r : runs) {
      std::printf("%6zu %5zu", r.size, r.energies);
      for (const auto& s : r.stages) std::printf(" %9.3f", s.seconds.value_or(NAN));
      const double values = static_cast<double>(r.size * r.size * r.energies);
      std::printf(" %9.3f %9.3f\n", r.total_s, 1e9 * r.total_s / values);
      sj.push_back(run_json(r));
    }
    out["scaling"] = sj;
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
  CLI::App* sub = app.add_subcommand("bench", "Time every stage on a simulated stack in memory");
  sub->add_option("--size", a->size, "Image side in px")->capture_default_str();
  sub->add_option("--energies", a->energies, "Number of energies (16 or more)")
      ->capture_default_str();
  sub->add_option("--json", a->json, "Also write the figures to this JSON file");
  sub->add_flag(
      "--scaling", a->scaling,
      "Also run 512, 1024, 2048 px (at --energies) and 50, 100, 200 energies (at 1024 px)");
  sub->add_flag("--compare-threads", a->compare_threads,
                "Also time the per-pixel stages with 1 thread and with all threads, alternately");
  sub->add_option("--repeats", a->repeats, "Repetitions of the thread comparison")
      ->capture_default_str();
  sub->add_option("--seed", a->seed, "Simulation seed")->capture_default_str();
  sub->add_option("--refs", a->refs, "Reference manifest (TOML)")->capture_default_str();
  sub->add_option("--work-dir", a->work_dir,
                  "Folder for the writing stage's temporary output (default: system temp)");
  sub->footer(examples_footer({"xanesmap bench", "xanesmap bench --threads 1 --json one.json",
                               "xanesmap bench --size 512 --energies 50 --scaling -q"}));
  sub->callback([&action, &global, a] { action = [&global, a] { return run_bench(*a, global); }; });
}

}  // namespace xanesmap::cli
