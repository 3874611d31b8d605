// core/base/background_release.hpp: the value handed over is destroyed exactly once, on another
// thread when TBB may use more than one, on the caller's with one; wait() and the destructor join.
#include "core/base/background_release.hpp"

#include <tbb/global_control.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace {

// Records where and how often it was destroyed; moved-from instances record nothing.
struct Tracked {
  std::shared_ptr<std::atomic<int>> destroyed;
  std::shared_ptr<std::thread::id> where;
  std::vector<float> payload;
  Tracked(std::shared_ptr<std::atomic<int>> d, std::shared_ptr<std::thread::id> w)
      : destroyed(std::move(d)), where(std::move(w)), payload(1 << 20, 1.0f) {}
  Tracked(Tracked&&) = default;
  Tracked& operator=(Tracked&&) = default;
  ~Tracked() {
    if (!destroyed) return;  // moved from
    *where = std::this_thread::get_id();
    ++*destroyed;
  }
};

}  // namespace

TEST_CASE("A released value is destroyed once, off the calling thread, before wait returns",
          "[release]") {
  const tbb::global_control two(tbb::global_control::max_allowed_parallelism, 2);
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  auto where = std::make_shared<std::thread::id>();
  Tracked value(destroyed, where);
  xanesmap::BackgroundRelease release;
  release.release(std::move(value));
  CHECK(value.payload.empty());  // moved from: the caller no longer holds the data
  release.wait();
  CHECK(destroyed->load() == 1);
  if (tbb::this_task_arena::max_concurrency() > 1) CHECK(*where != std::this_thread::get_id());
  release.wait();  // nothing pending: returns at once
  CHECK(destroyed->load() == 1);
}

TEST_CASE("The destructor joins, and a second release waits for the first", "[release]") {
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  auto where = std::make_shared<std::thread::id>();
  {
    xanesmap::BackgroundRelease release;
    release.release(Tracked(destroyed, where));
    release.release(Tracked(destroyed, where));
    CHECK(destroyed->load() >= 1);  // the first is gone before the second is taken
  }
  CHECK(destroyed->load() == 2);
}

TEST_CASE("With one thread allowed the value is destroyed at once, on the calling thread",
          "[release]") {
  const tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  auto where = std::make_shared<std::thread::id>();
  xanesmap::BackgroundRelease release;
  release.release(Tracked(destroyed, where));
  CHECK(destroyed->load() == 1);  // no wait needed
  CHECK(*where == std::this_thread::get_id());
}
