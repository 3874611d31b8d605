// Tests of io/formats/checksum: the FIPS 180-4 examples, messages whose padding falls on either
// side of a block boundary, file hashing (streamed in 1 MiB blocks) against buffer hashing, and
// errors.
#include "io/formats/checksum.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "support/temp_dir.hpp"

using namespace xanesmap;
namespace fs = std::filesystem;

namespace {

std::string sha256_of(std::string_view text) {
  return sha256_hex({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

void write_file(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("SHA-256 of the standard's test messages", "[checksum]") {
  // FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values", SHA-256) and the
  // one-million-'a' vector of FIPS 180-2 Appendix B.3.
  CHECK(sha256_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_of(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 padding around the 512-bit block boundary", "[checksum]") {
  // n 'a's: 55 bytes is the longest message padded within one block, 56 needs a second block,
  // 64 is exactly one block. Digests from GNU coreutils sha256sum.
  CHECK(sha256_of(std::string(55, 'a')) ==
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(sha256_of(std::string(56, 'a')) ==
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(sha256_of(std::string(63, 'a')) ==
        "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  CHECK(sha256_of(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  CHECK(sha256_of(std::string(65, 'a')) ==
        "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0");
  CHECK(sha256_of(std::string(119, 'a')) ==
        "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb");
  CHECK(sha256_of(std::string(120, 'a')) ==
        "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c");
}

TEST_CASE("Hashing a file equals hashing its bytes", "[checksum]") {
  test::TempDir dir;
  // 1 MiB + 1000 bytes: the file is read in a full 1 MiB block and a partial one.
  std::vector<std::uint8_t> bytes((std::size_t{1} << 20) + 1000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + 3);
  write_file(dir / "data.bin", bytes);
  const std::string expected = "3ee275c676518697af012b7147047118ebf5b063745110a498ba70a523191052";
  CHECK(sha256_hex(bytes) == expected);  // Python's hashlib.sha256 of the same pattern
  CHECK(sha256_file(dir / "data.bin") == expected);

  write_file(dir / "empty.bin", {});
  CHECK(sha256_file(dir / "empty.bin") == sha256_hex({}));

  const std::vector<std::uint8_t> one_block(1 << 20, 0x5a);  // exactly one read block
  write_file(dir / "block.bin", one_block);
  CHECK(sha256_file(dir / "block.bin") == sha256_hex(one_block));
}

TEST_CASE("Unreadable files are InputErrors naming the file", "[checksum]") {
  test::TempDir dir;
  const fs::path missing = dir / "missing.tif";
  try {
    sha256_file(missing);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains(missing.string()));
    CHECK_THAT(e.what(), Catch::Contains("No such file"));
  }
  CHECK_THROWS_AS(sha256_file(dir.path()), InputError);  // a folder opens but cannot be read
}
