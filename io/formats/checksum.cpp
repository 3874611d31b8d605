// SHA-256 (FIPS PUB 180-4) through OpenSSL's libcrypto (EVP interface). OpenSSL picks the
// processor's SHA extensions where it has them: about 2 GB/s on the development machine, where
// the hand-written implementation this replaces ran at about 0.35 GB/s and took 5 s of a 20 s
// `xanesmap map` run on a 1.9 GB stack file.
#include "io/formats/checksum.hpp"

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "core/base/error.hpp"

namespace xanesmap {
namespace {

class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new()) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("OpenSSL could not start a SHA-256 digest");
  }
  void update(std::span<const std::uint8_t> bytes) {
    if (!bytes.empty() && EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size()) != 1)
      throw std::runtime_error("OpenSSL could not update a SHA-256 digest");
  }
  std::string finish_hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_.get(), digest.data(), &length) != 1 || length != 32)
      throw std::runtime_error("OpenSSL could not finish a SHA-256 digest");
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    text.reserve(64);
    for (unsigned int i = 0; i < length; ++i) {
      text += kDigits[digest[i] >> 4];
      text += kDigits[digest[i] & 0x0f];
    }
    return text;
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> context_;
};

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

}  // namespace

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  Sha256 sha;
  sha.update(bytes);
  return sha.finish_hex();
}

std::string sha256_file(const std::filesystem::path& file) {
  const std::string name = "'" + file.string() + "'";
  errno = 0;
  const std::unique_ptr<std::FILE, FileCloser> in(std::fopen(file.c_str(), "rb"));
  if (!in) throw InputError(name + ": cannot open for checksumming: " + std::strerror(errno));
  std::vector<std::uint8_t> buffer(std::size_t{1} << 20);  // 1 MiB
  Sha256 sha;
  for (;;) {
    const std::size_t got = std::fread(buffer.data(), 1, buffer.size(), in.get());
    sha.update(std::span(buffer.data(), got));
    if (got < buffer.size()) {
      if (std::ferror(in.get()))
        throw InputError(
            name + ": cannot read for checksumming: " + std::strerror(errno != 0 ? errno : EIO));
      break;  // end of file
    }
  }
  return sha.finish_hex();
}

}  // namespace xanesmap
