// SHA-256 checksums of buffers and files, for provenance records of inputs and outputs.
//
// SHA-256 of the Secure Hash Standard, FIPS PUB 180-4 (NIST, August 2015), computed by OpenSSL's
// libcrypto (Debian: libssl-dev), which uses the processor's SHA extensions. Checked against the
// standard's examples ("abc" and the 448-bit message) and the one million 'a' test vector.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace xanesmap {

/// SHA-256 of `bytes` as 64 lowercase hexadecimal digits.
std::string sha256_hex(std::span<const std::uint8_t> bytes);

/// SHA-256 of a file's contents as 64 lowercase hexadecimal digits. Reads the file in 1 MiB
/// blocks, so memory use does not depend on its size. Throws InputError whose message starts
/// with the quoted file name when the file cannot be opened or read (missing, a folder, I/O
/// error), with the system's reason.
std::string sha256_file(const std::filesystem::path& file);

}  // namespace xanesmap
