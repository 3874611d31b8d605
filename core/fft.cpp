#include "core/fft.hpp"

#include <fftw3.h>

#include <map>
#include <utility>
#include <mutex>
#include <tuple>

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

unsigned plan_flags(int rows, int cols) { return rows >= 512 && cols >= 512 ? FFTW_MEASURE : FFTW_ESTIMATE; }

// Single-precision forward plans by (rows, cols), as PlanCache below.
class FloatPlanCache {
 public:
  ~FloatPlanCache() {
    for (auto& [key, plan] : plans_) fftwf_destroy_plan(plan);
    fftwf_cleanup();
  }
  fftwf_plan get(int rows, int cols) {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto key = std::make_pair(rows, cols);
    if (const auto it = plans_.find(key); it != plans_.end()) return it->second;
    FloatBuffer r = float_buffer(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
    ComplexFloatBuffer c =
        complex_float_buffer(static_cast<std::size_t>(rows) * static_cast<std::size_t>(half_columns(cols)));
    const fftwf_plan plan = fftwf_plan_dft_r2c_2d(rows, cols, r.get(), reinterpret_cast<fftwf_complex*>(c.get()),
                                                  plan_flags(rows, cols));
    if (!plan) throw std::runtime_error("FFTW could not make a plan");
    plans_.emplace(key, plan);
    return plan;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<int, int>, fftwf_plan> plans_;
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
    const fftw_plan plan = forward ? fftw_plan_dft_r2c_2d(rows, cols, r.get(), cc, flags)
                                   : fftw_plan_dft_c2r_2d(rows, cols, cc, r.get(), flags);
    if (!plan) throw std::runtime_error("FFTW could not make a plan");
    plans_.emplace(key, plan);
    return plan;
  }

 private:
  std::mutex mutex_;
  std::map<std::tuple<int, int, bool>, fftw_plan> plans_;
};

PlanCache& plans() {
  static PlanCache cache;
  return cache;
}

}  // namespace

void forward(int rows, int cols, const double* in, std::complex<double>* out) {
  // r2c does not touch its input (FFTW_PRESERVE_INPUT is the default for r2c plans).
  fftw_execute_dft_r2c(plans().get(rows, cols, true), const_cast<double*>(in),
                       reinterpret_cast<fftw_complex*>(out));
}

void forward(int rows, int cols, const float* in, std::complex<float>* out) {
  fftwf_execute_dft_r2c(float_plans().get(rows, cols), const_cast<float*>(in),
                        reinterpret_cast<fftwf_complex*>(out));
}

void inverse(int rows, int cols, std::complex<double>* in, double* out) {
  fftw_execute_dft_c2r(plans().get(rows, cols, false), reinterpret_cast<fftw_complex*>(in), out);
}

}  // namespace xanesmap::fft
