#include "io/output_dir.hpp"

#include <unistd.h>

#include "core/error.hpp"

namespace xanesmap {

namespace fs = std::filesystem;

namespace {
std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

fs::path sibling(const fs::path& destination, const std::string& tag) {
  const fs::path parent = destination.parent_path().empty() ? fs::path(".") : destination.parent_path();
  return parent / ("." + destination.filename().string() + "." + tag + "-" + std::to_string(::getpid()));
}
}  // namespace

StagedOutputDir::StagedOutputDir(fs::path destination, bool force)
    : destination_(std::move(destination)), force_(force) {
  if (destination_.filename().empty()) destination_ = destination_.parent_path();
  if (destination_.empty()) throw OutputError("no output folder given");
  std::error_code ec;
  if (fs::exists(destination_, ec)) {
    if (!fs::is_directory(destination_, ec))
      throw OutputError(quoted(destination_) + " exists and is not a folder");
    if (!force_)
      throw OutputError("output folder " + quoted(destination_) +
                        " already exists; use --force to replace it");
  }
  const fs::path parent = destination_.parent_path().empty() ? fs::path(".") : destination_.parent_path();
  if (!fs::is_directory(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) throw OutputError("cannot create the folder " + quoted(parent) + ": " + ec.message());
  }
  staging_ = sibling(destination_, "partial");
  fs::remove_all(staging_, ec);
  if (!fs::create_directory(staging_, ec) || ec)
    throw OutputError("cannot write in " + quoted(parent) + ": " +
                      (ec ? ec.message() : std::string("the folder could not be created")));
}

StagedOutputDir::~StagedOutputDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedOutputDir::commit() {
  std::error_code ec;
  fs::path old;
  if (fs::exists(destination_, ec)) {
    if (!force_)
      throw OutputError("output folder " + quoted(destination_) +
                        " appeared while running; use --force to replace it");
    old = sibling(destination_, "replaced");
    fs::remove_all(old, ec);
    fs::rename(destination_, old, ec);
    if (ec) throw OutputError("cannot replace " + quoted(destination_) + ": " + ec.message());
  }
  fs::rename(staging_, destination_, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, destination_, ec);
    throw OutputError("cannot move the outputs to " + quoted(destination_) + ": " + ec.message());
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace xanesmap
