// A fresh, empty folder under the system temp dir, removed with its contents on destruction.
#pragma once

#include <filesystem>
#include <string>

namespace xanesmap::test {

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "xanesmap-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace xanesmap::test
