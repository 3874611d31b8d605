// Storage for the large arrays of a run (the stack: frames x height x width floats).
//
// Two properties of the std::allocator cost seconds on a 2048 x 2048 x 100 stack:
// - std::vector<float>(n) writes n zeros on one thread before the reader overwrites them;
// - every 4 KiB page of fresh memory is a page fault on first touch, one at a time. On a virtual
//   machine the host may fault too (first touch of 1.7 GB: 4-7 s measured on a 2-vCPU guest).
// BulkAllocator default-initialises (no zero fill: the first writer touches the pages, and a
// parallel writer touches them from every thread) and asks the kernel for transparent huge pages
// (madvise MADV_HUGEPAGE, Linux) on blocks of 2 MiB and more, so a 1.7 GB block faults ~850
// times instead of ~420 000. Elements of a FloatBuffer are indeterminate until written: code that
// makes one must write every element it later reads.
#pragma once

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace xanesmap {

namespace detail {
/// `bytes` of storage; blocks of kBulkAlignment bytes or more are aligned to it and advised for
/// huge pages. Throws std::bad_alloc.
void* bulk_allocate(std::size_t bytes);
void bulk_deallocate(void* p, std::size_t bytes) noexcept;
}  // namespace detail

template <typename T>
class BulkAllocator {
 public:
  using value_type = T;
  BulkAllocator() = default;
  template <typename U>
  BulkAllocator(const BulkAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    return static_cast<T*>(detail::bulk_allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { detail::bulk_deallocate(p, n * sizeof(T)); }

  /// Default-initialisation: leaves arithmetic types unwritten.
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

  template <typename U>
  bool operator==(const BulkAllocator<U>&) const noexcept {
    return true;
  }
};

/// Storage of images and stacks: see BulkAllocator.
template <typename T>
using BulkVector = std::vector<T, BulkAllocator<T>>;
/// A stack's values (or any array of similar size).
using FloatBuffer = BulkVector<float>;

namespace detail {
void first_touch_bytes(void* data, std::size_t bytes);
}

/// Writes zeros to `values` from every TBB worker, so that its pages fault in parallel before a
/// single-threaded writer (a library's read call) fills them. For arithmetic T.
template <typename T>
void first_touch(BulkVector<T>& values) {
  detail::first_touch_bytes(values.data(), values.size() * sizeof(T));
}

}  // namespace xanesmap
