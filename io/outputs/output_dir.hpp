// Safe output folders: everything is written into a hidden staging folder beside the
// destination and moved into place by commit() only when the run succeeded. An existing
// destination is replaced only with `force`; a failed or interrupted run leaves no folder that
// looks complete (the staging folder is removed by the destructor, and its name starts with
// '.' and ends in ".partial-<pid>" in the worst case of a killed process).
#pragma once

#include <filesystem>
#include <vector>

namespace xanesmap {

class StagedOutputDir {
 public:
  /// Throws OutputError when `destination` exists and `force` is false, when it exists and is
  /// not a folder, or when the staging folder cannot be created.
  StagedOutputDir(std::filesystem::path destination, bool force);
  ~StagedOutputDir();
  StagedOutputDir(const StagedOutputDir&) = delete;
  StagedOutputDir& operator=(const StagedOutputDir&) = delete;

  /// Where to write now.
  const std::filesystem::path& staging() const { return staging_; }
  const std::filesystem::path& destination() const { return destination_; }
  /// Moves the staging folder to the destination (replacing it when forced).
  void commit();

 private:
  std::filesystem::path destination_;
  std::filesystem::path staging_;
  bool force_ = false;
  bool committed_ = false;
};

/// Throws OutputError when `destination` is one of `inputs` (files or folders), lies inside one,
/// or contains one: an output folder replaced with --force must never take an input with it.
/// Paths are compared after resolving symbolic links and "..", as far as they exist.
void refuse_output_over_inputs(const std::filesystem::path& destination,
                               const std::vector<std::filesystem::path>& inputs);

}  // namespace xanesmap
