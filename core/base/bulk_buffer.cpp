#include "core/base/bulk_buffer.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace xanesmap {

namespace detail {

void first_touch_bytes(void* data, std::size_t bytes) {
  auto* first = static_cast<unsigned char*>(data);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, bytes, std::size_t{4} << 20),
                    [first](const auto& r) { std::memset(first + r.begin(), 0, r.size()); });
}

namespace {
/// The x86-64 and AArch64 (4 KiB granule) transparent huge page size.
constexpr std::size_t kBulkAlignment = std::size_t{2} << 20;

std::size_t round_up(std::size_t bytes) {
  return (bytes + kBulkAlignment - 1) / kBulkAlignment * kBulkAlignment;
}
}  // namespace

void* bulk_allocate(std::size_t bytes) {
  if (bytes < kBulkAlignment) return ::operator new(bytes);
  if (bytes > static_cast<std::size_t>(-1) - kBulkAlignment) throw std::bad_alloc();
  void* p = std::aligned_alloc(kBulkAlignment, round_up(bytes));
  if (!p) throw std::bad_alloc();
#if defined(__linux__)
  // Advice only: with THP disabled or unsupported, the block is used with normal pages.
  (void)::madvise(p, round_up(bytes), MADV_HUGEPAGE);
#endif
  return p;
}

void bulk_deallocate(void* p, std::size_t bytes) noexcept {
  if (bytes < kBulkAlignment)
    ::operator delete(p);
  else
    std::free(p);
}

}  // namespace detail
}  // namespace xanesmap
