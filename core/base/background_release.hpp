// Releasing a large value (a stack of gigabytes) on a thread of its own, so that the caller goes
// on with the next stage meanwhile: giving 1.68 GB of 4 KB pages back to the kernel takes
// 0.15-0.19 s of one core (measured on the 2048 x 2048 x 100 bench, docs/performance.md), time in
// which the caller would otherwise do nothing.
#pragma once

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

namespace xanesmap {

/// Holds at most one release in progress. release() hands a value over: it is destroyed on a
/// thread of its own, or at once, on the calling thread, when TBB may use a single thread
/// (`--threads 1` means one thread) or no thread can be started. wait() and the destructor join
/// the thread: once either returns, the value is gone. Not copyable; one owner.
class BackgroundRelease {
 public:
  BackgroundRelease() = default;
  BackgroundRelease(const BackgroundRelease&) = delete;
  BackgroundRelease& operator=(const BackgroundRelease&) = delete;
  ~BackgroundRelease() { wait(); }

  /// Waits for an earlier release first. `value` is moved from; it is left empty (moved-from).
  template <class T>
  void release(T&& value) {
    static_assert(!std::is_lvalue_reference_v<T>, "pass the value with std::move");
    wait();
    T taken = std::move(value);
    if (single_threaded()) return;  // destroyed here, now
    try {
      thread_ = std::thread([owned = std::move(taken)]() mutable { T gone = std::move(owned); });
    } catch (const std::system_error&) {
      // No thread: the lambda, and the value with it, were destroyed during the unwinding.
    }
  }

  /// Returns once the value handed over last is destroyed (at once when there is none).
  void wait() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  // One thread allowed: by the arena, or by a tbb::global_control (how `--threads` is applied).
  static bool single_threaded() {
    return tbb::this_task_arena::max_concurrency() <= 1 ||
           tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism) <= 1;
  }
  std::thread thread_;
};

}  // namespace xanesmap
