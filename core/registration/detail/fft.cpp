#include "core/registration/detail/fft.hpp"

#include <fftw3.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <numbers>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace xanesmap::fft {

void FreeBuffer::operator()(void* p) const { fftw_free(p); }
void FreeFloatBuffer::operator()(void* p) const { fftwf_free(p); }

RealBuffer real_buffer(std::size_t count) {
  auto* p = static_cast<double*>(fftw_malloc(sizeof(double) * std::max<std::size_t>(count, 1)));
  if (!p) throw std::bad_alloc();
  return RealBuffer(p);
}

ComplexBuffer complex_buffer(std::size_t count) {
  auto* p = static_cast<std::complex<double>*>(
      fftw_malloc(sizeof(std::complex<double>) * std::max<std::size_t>(count, 1)));
  if (!p) throw std::bad_alloc();
  return ComplexBuffer(p);
}

FloatBuffer float_buffer(std::size_t count) {
  auto* p = static_cast<float*>(fftwf_malloc(sizeof(float) * std::max<std::size_t>(count, 1)));
  if (!p) throw std::bad_alloc();
  return FloatBuffer(p);
}

ComplexFloatBuffer complex_float_buffer(std::size_t count) {
  auto* p = static_cast<std::complex<float>*>(
      fftwf_malloc(sizeof(std::complex<float>) * std::max<std::size_t>(count, 1)));
  if (!p) throw std::bad_alloc();
  return ComplexFloatBuffer(p);
}

namespace {

unsigned plan_flags(int rows, int cols) {
  return rows >= 512 && cols >= 512 ? FFTW_MEASURE : FFTW_ESTIMATE;
}

// Counts of planning_stats(), under a mutex of their own.
std::mutex stats_mutex;
PlanningStats stats;

// A plan for `flags`: from wisdom when FFTW has it for this problem (FFTW_WISDOM_ONLY makes no
// plan otherwise), else planned now, timed. The caller holds its precision's planner mutex.
template <class MakePlan>
auto make_counted_plan(unsigned flags, MakePlan make) {
  if (flags == FFTW_MEASURE) {
    if (const auto plan = make(FFTW_MEASURE | FFTW_WISDOM_ONLY)) {
      const std::lock_guard<std::mutex> lock(stats_mutex);
      ++stats.from_wisdom;
      return plan;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const auto plan = make(flags);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::lock_guard<std::mutex> lock(stats_mutex);
  if (flags == FFTW_MEASURE)
    ++stats.measured, stats.measure_s += seconds;
  else
    ++stats.estimated;
  return plan;
}

// Single-precision forward plans, as PlanCache below: the row transforms of `count` rows of
// `cols` real values (contiguous rows in, rows of half_columns(cols) complex values out), and the
// in-place column transforms of a rows x half_columns(cols) half spectrum. The planning arrays
// have FFTW's alignment, as every array these plans run on.
class FloatPlanCache {
 public:
  ~FloatPlanCache() {
    for (auto& [key, plan] : row_plans_) fftwf_destroy_plan(plan);
    for (auto& [key, plan] : column_plans_) fftwf_destroy_plan(plan);
    fftwf_cleanup();
  }
  fftwf_plan rows(int cols, int count, unsigned flags) {
    return cached(row_plans_, {cols, count, flags}, [&] {
      const int half = half_columns(cols);
      FloatBuffer r =
          float_buffer(static_cast<std::size_t>(count) * static_cast<std::size_t>(cols));
      ComplexFloatBuffer c =
          complex_float_buffer(static_cast<std::size_t>(count) * static_cast<std::size_t>(half));
      return make_counted_plan(flags, [&](unsigned f) {
        int n[1] = {cols};
        return fftwf_plan_many_dft_r2c(1, n, count, r.get(), nullptr, 1, cols,
                                       reinterpret_cast<fftwf_complex*>(c.get()), nullptr, 1, half,
                                       f);
      });
    });
  }
  fftwf_plan columns(int rows, int cols, unsigned flags) {
    return cached(column_plans_, {rows, cols, flags}, [&] {
      const int half = half_columns(cols);
      ComplexFloatBuffer c =
          complex_float_buffer(static_cast<std::size_t>(rows) * static_cast<std::size_t>(half));
      auto* cc = reinterpret_cast<fftwf_complex*>(c.get());
      return make_counted_plan(flags, [&](unsigned f) {
        int n[1] = {rows};
        return fftwf_plan_many_dft(1, n, half, cc, nullptr, half, 1, cc, nullptr, half, 1,
                                   FFTW_FORWARD, f);
      });
    });
  }
  std::mutex& planner_mutex() { return mutex_; }

 private:
  // By (columns, rows in a block, flags) and (rows, columns, flags): a block of 16 rows of
  // 2048 columns is planned with FFTW_MEASURE for a 2048 x 2048 image and FFTW_ESTIMATE for a
  // 300 x 2048 one, and neither plan stands in for the other.
  using Plans = std::map<std::tuple<int, int, unsigned>, fftwf_plan>;
  // The plan for `key`, made by `make` (under the planner mutex) the first time.
  template <class Make>
  fftwf_plan cached(Plans& plans, const std::tuple<int, int, unsigned>& key, Make make) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (const auto it = plans.find(key); it != plans.end()) return it->second;
    const fftwf_plan plan = make();
    if (!plan) throw std::runtime_error("FFTW could not make a plan");
    plans.emplace(key, plan);
    return plan;
  }
  std::mutex mutex_;
  Plans row_plans_, column_plans_;
};

FloatPlanCache& float_plans() {
  static FloatPlanCache cache;
  return cache;
}

// Plans by (rows, cols, forward?). Planning is not thread-safe in FFTW: one mutex for all of it.
class PlanCache {
 public:
  ~PlanCache() {
    for (auto& [key, plan] : plans_) fftw_destroy_plan(plan);
    fftw_cleanup();
  }
  fftw_plan get(int rows, int cols, bool forward) {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto key = std::make_tuple(rows, cols, forward);
    if (const auto it = plans_.find(key); it != plans_.end()) return it->second;
    const unsigned flags = plan_flags(rows, cols);
    // Planning with FFTW_MEASURE overwrites its arrays: plan on scratch arrays with the same
    // alignment; the new-array execute functions then run the plan on the caller's arrays.
    const auto n_real = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    const auto n_half =
        static_cast<std::size_t>(rows) * static_cast<std::size_t>(half_columns(cols));
    RealBuffer r = real_buffer(n_real);
    ComplexBuffer c = complex_buffer(n_half);
    auto* cc = reinterpret_cast<fftw_complex*>(c.get());
    const fftw_plan plan = make_counted_plan(flags, [&](unsigned f) {
      return forward ? fftw_plan_dft_r2c_2d(rows, cols, r.get(), cc, f)
                     : fftw_plan_dft_c2r_2d(rows, cols, cc, r.get(), f);
    });
    if (!plan) throw std::runtime_error("FFTW could not make a plan");
    plans_.emplace(key, plan);
    return plan;
  }
  std::mutex& planner_mutex() { return mutex_; }

 private:
  std::mutex mutex_;
  std::map<std::tuple<int, int, bool>, fftw_plan> plans_;
};

PlanCache& plans() {
  static PlanCache cache;
  return cache;
}

}  // namespace

Wisdom export_wisdom() {
  // FFTW's strings are malloc'ed (freed with free()); copied into ours after the C calls, so that
  // no exception passes through FFTW.
  auto take = [](char* text) {
    if (!text) throw std::bad_alloc();
    std::unique_ptr<char, decltype(&std::free)> owned(text, &std::free);
    return std::string(owned.get());
  };
  Wisdom w;
  {
    const std::lock_guard<std::mutex> lock(float_plans().planner_mutex());
    w.single_precision = take(fftwf_export_wisdom_to_string());
  }
  const std::lock_guard<std::mutex> lock(plans().planner_mutex());
  w.double_precision = take(fftw_export_wisdom_to_string());
  return w;
}

bool import_wisdom(const Wisdom& wisdom) {
  bool ok = true;
  if (!wisdom.single_precision.empty()) {
    const std::lock_guard<std::mutex> lock(float_plans().planner_mutex());
    ok &= fftwf_import_wisdom_from_string(wisdom.single_precision.c_str()) != 0;
  }
  if (!wisdom.double_precision.empty()) {
    const std::lock_guard<std::mutex> lock(plans().planner_mutex());
    ok &= fftw_import_wisdom_from_string(wisdom.double_precision.c_str()) != 0;
  }
  return ok;
}

PlanningStats planning_stats() {
  const std::lock_guard<std::mutex> lock(stats_mutex);
  return stats;
}

void forward(int rows, int cols, const double* in, std::complex<double>* out) {
  // r2c does not touch its input (FFTW_PRESERVE_INPUT is the default for r2c plans).
  fftw_execute_dft_r2c(plans().get(rows, cols, true), const_cast<double*>(in),
                       reinterpret_cast<fftw_complex*>(out));
}

void forward(int rows, int cols, const float* in, std::complex<float>* out) {
  const auto ucols = static_cast<std::size_t>(cols);
  forward_rows(
      rows, cols,
      [&](int row0, int count, float* block) {
        std::copy(in + static_cast<std::size_t>(row0) * ucols,
                  in + static_cast<std::size_t>(row0 + count) * ucols, block);
      },
      out);
}

void forward_rows(int rows, int cols, const RowSource& source, std::complex<float>* out,
                  const RowSpectraHook& before_columns) {
  if (rows < 1 || cols < 1) throw std::invalid_argument("fft::forward_rows: empty image");
  if (fftwf_alignment_of(reinterpret_cast<float*>(out)) != 0)
    throw std::invalid_argument("fft::forward_rows: the output is not an FFTW buffer");
  const unsigned flags = plan_flags(rows, cols);
  const int half = half_columns(cols);
  const auto ucols = static_cast<std::size_t>(cols), uhalf = static_cast<std::size_t>(half);
  // Blocks of kBlockRows rows: the block and its transformed rows stay in cache between the
  // source writing them and FFTW reading them. Block starts at multiples of 16 rows (hence of 8)
  // keep every block's output at the alignment of the planning arrays (8 half rows are a
  // multiple of 64 bytes).
  constexpr int kBlockRows = 16;
  thread_local FloatBuffer block;
  thread_local std::size_t capacity = 0;
  const std::size_t needed = static_cast<std::size_t>(kBlockRows) * ucols;
  if (capacity < needed) block = float_buffer(needed), capacity = needed;
  const fftwf_plan full_block = float_plans().rows(cols, std::min(kBlockRows, rows), flags);
  for (int row0 = 0; row0 < rows; row0 += kBlockRows) {
    const int count = std::min(kBlockRows, rows - row0);
    source(row0, count, block.get());
    const fftwf_plan plan =
        count == kBlockRows || count == rows ? full_block : float_plans().rows(cols, count, flags);
    fftwf_execute_dft_r2c(
        plan, block.get(),
        reinterpret_cast<fftwf_complex*>(out + static_cast<std::size_t>(row0) * uhalf));
  }
  if (before_columns) before_columns(out);
  if (rows > 1) {
    auto* o = reinterpret_cast<fftwf_complex*>(out);
    fftwf_execute_dft(float_plans().columns(rows, cols, flags), o, o);
  }
}

void add_row_impulses(int rows, int cols, std::complex<float>* row_spectra,
                      std::span<const std::pair<int, int>> points, double value) {
  if (points.empty()) return;
  const int half = half_columns(cols);
  // exp(-2 pi i m / cols) for m = 0 .. cols - 1; the phase of kx at column c is table[kx c mod
  // cols].
  std::vector<std::complex<double>> table(static_cast<std::size_t>(cols));
  for (int m = 0; m < cols; ++m)
    table[static_cast<std::size_t>(m)] = std::polar(1.0, -2.0 * std::numbers::pi * m / cols);
  for (const auto& [row, col] : points) {
    if (row < 0 || row >= rows || col < 0 || col >= cols)
      throw std::invalid_argument("fft::add_row_impulses: a point outside the image");
    std::complex<float>* q =
        row_spectra + static_cast<std::size_t>(row) * static_cast<std::size_t>(half);
    int index = 0;  // kx col mod cols
    for (int kx = 0; kx < half; ++kx) {
      q[kx] = std::complex<float>(std::complex<double>(q[kx]) +
                                  value * table[static_cast<std::size_t>(index)]);
      index += col;
      if (index >= cols) index -= cols;
    }
  }
}

void inverse(int rows, int cols, std::complex<double>* in, double* out) {
  fftw_execute_dft_c2r(plans().get(rows, cols, false), reinterpret_cast<fftw_complex*>(in), out);
}

}  // namespace xanesmap::fft
