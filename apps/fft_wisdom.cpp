#include "apps/fft_wisdom.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/registration/detail/fft.hpp"

namespace xanesmap::cli {

namespace {

constexpr const char* kMagic = "xanesmap fftw wisdom 1";
constexpr const char* kSingle = "--- single precision";
constexpr const char* kDouble = "--- double precision";

// The processor's model name as the kernel reports it ("unknown" when it does not).
std::string processor_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) break;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "unknown" : line.substr(start);
  }
  return "unknown";
}

std::string header() { return std::string(kMagic) + "\ncpu " + processor_name() + "\n"; }

}  // namespace

std::optional<std::filesystem::path> fft_wisdom_path() {
  if (const char* set = std::getenv("XANESMAP_FFTW_WISDOM")) {
    const std::string value = set;
    if (value.empty() || value == "off") return std::nullopt;
    return std::filesystem::path(value);
  }
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache && *cache)
    return std::filesystem::path(cache) / "xanesmap" / "fftw-wisdom";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".cache" / "xanesmap" / "fftw-wisdom";
  return std::nullopt;
}

std::string load_fft_wisdom(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  // A plan file is a few kB: anything that is not a regular file of at most 1 MB is not one (a
  // path set by mistake to a device, a pipe or a large data file is not read).
  constexpr std::uintmax_t kLargest = 1 << 20;
  const bool regular = std::filesystem::is_regular_file(path, ec);
  const std::uintmax_t size = regular ? std::filesystem::file_size(path, ec) : 0;
  if (!regular || ec || size > kLargest)
    return "'" + path.string() +
           "' is not a xanesmap FFT plan file: not used (remove it or set XANESMAP_FFTW_WISDOM)";
  if (size == 0) return {};  // an interrupted first save: measured again, and replaced
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof())
    return "cannot read the FFT plan file '" + path.string() + "': plans are measured again";
  const std::string all = text.str();
  if (all.rfind(std::string(kMagic) + "\n", 0) != 0)
    return "'" + path.string() +
           "' is not a xanesmap FFT plan file: not used (remove it or set XANESMAP_FFTW_WISDOM)";
  if (all.rfind(header(), 0) != 0) return {};  // another processor's plans: measured again here
  const auto single = all.find(std::string(kSingle) + "\n"),
             dbl = all.find(std::string(kDouble) + "\n");
  if (single == std::string::npos || dbl == std::string::npos || dbl < single)
    return "the FFT plan file '" + path.string() +
           "' is truncated or damaged: plans are measured again";
  fft::Wisdom w;
  const auto single_start = single + std::string(kSingle).size() + 1;
  w.single_precision = all.substr(single_start, dbl - single_start);
  w.double_precision = all.substr(dbl + std::string(kDouble).size() + 1);
  if (!fft::import_wisdom(w))
    return "FFTW did not accept (all of) the plans in '" + path.string() +
           "' (damaged, or from another FFTW version): the plans it did not take are measured "
           "again";
  return {};
}

std::string save_fft_wisdom(const std::filesystem::path& path) {
  if (fft::planning_stats().measured == 0) return {};  // nothing new: leave the file as it is
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {  // never replace a file that is not one of ours
    const bool regular = std::filesystem::is_regular_file(path, ec);
    const bool empty =
        regular && std::filesystem::file_size(path, ec) == 0 && !ec;  // an interrupted save
    std::string first;
    if (regular && !empty) {
      std::ifstream in(path, std::ios::binary);
      std::getline(in, first);
    }
    if (!empty && first != kMagic)
      return "'" + path.string() +
             "' is not a xanesmap FFT plan file: left as it is, the plans are not kept";
  }
  const fft::Wisdom w = fft::export_wisdom();
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  const std::filesystem::path temporary = path.string() + ".tmp" + std::to_string(::getpid());
  {
    // Written and flushed to the disk before the rename: after a crash the file is the old one or
    // the new one, never an empty one.
    const std::string text =
        header() + kSingle + "\n" + w.single_precision + kDouble + "\n" + w.double_precision;
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    for (std::size_t done = 0; ok && done < text.size();) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    if (fd >= 0) ok = ::close(fd) == 0 && ok;
    if (!ok) {
      std::filesystem::remove(temporary, ec);
      return "cannot write the FFT plan file '" + path.string() +
             "': the next run measures its plans again";
    }
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    return "cannot write the FFT plan file '" + path.string() +
           "': the next run measures its plans again";
  }
  return {};
}

}  // namespace xanesmap::cli
