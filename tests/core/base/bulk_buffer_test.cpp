#include "core/base/bulk_buffer.hpp"

#include <catch2/catch.hpp>
#include <cstdint>

#include "core/base/image.hpp"

using namespace xanesmap;

TEST_CASE("Bulk storage of 2 MiB and more is aligned for huge pages", "[bulk_buffer]") {
  // 2 MiB is the x86-64 transparent huge page: a block aligned to it can be mapped by whole
  // huge pages, which is what makes its first touch cheap.
  const FloatBuffer large(std::size_t{3} << 20);  // 12 MiB
  CHECK(reinterpret_cast<std::uintptr_t>(large.data()) % (std::size_t{2} << 20) == 0);
  const FloatBuffer small(100);
  CHECK(reinterpret_cast<std::uintptr_t>(small.data()) % alignof(float) == 0);
  CHECK(small.size() == 100);
}

TEST_CASE("first_touch zeroes every element, also past the parallel chunk size", "[bulk_buffer]") {
  // 4 MiB chunks: 9 MiB + 3 floats spans three chunks and a ragged end.
  FloatBuffer values((std::size_t{9} << 18) + 3);
  for (float& v : values) v = 1.5f;
  first_touch(values);
  std::size_t nonzero = 0;
  for (float v : values) nonzero += v != 0.0f;
  CHECK(nonzero == 0);
}

TEST_CASE("Images keep their pixels in bulk storage, copied or moved in", "[bulk_buffer]") {
  const std::vector<float> copied{1, 2, 3, 4, 5, 6};
  const Image<float> a(2, 3, copied);
  CHECK(a(1, 2) == 6.0f);
  BulkVector<std::uint16_t> moved{7, 8, 9, 10};
  const std::uint16_t* storage = moved.data();
  const Image<std::uint16_t> b(2, 2, std::move(moved));
  CHECK(b.data() == storage);  // taken over, not copied
  CHECK(b(1, 0) == 9);
  CHECK_THROWS_AS(Image<float>(2, 2, copied), std::invalid_argument);
  const Image<std::uint8_t> filled(4, 5, 3);
  CHECK(filled(3, 4) == 3);
}
