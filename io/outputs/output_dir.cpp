#include "io/outputs/output_dir.hpp"

#include <unistd.h>

#include "core/base/error.hpp"

namespace xanesmap {

namespace fs = std::filesystem;

namespace {
std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

fs::path sibling(const fs::path& destination, const std::string& tag) {
  const fs::path parent =
      destination.parent_path().empty() ? fs::path(".") : destination.parent_path();
  return parent /
         ("." + destination.filename().string() + "." + tag + "-" + std::to_string(::getpid()));
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
  const fs::path parent =
      destination_.parent_path().empty() ? fs::path(".") : destination_.parent_path();
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

void refuse_output_over_inputs(const std::filesystem::path& destination,
                               const std::vector<std::filesystem::path>& inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto resolved = [&ec](const fs::path& p) {
    fs::path r = fs::weakly_canonical(fs::absolute(p), ec).lexically_normal();
    if (r.filename().empty()) r = r.parent_path();  // "dir/" -> "dir"
    return r;
  };
  const fs::path out = resolved(destination);
  // `inner` is `outer` or lies below it.
  auto within = [](const fs::path& inner, const fs::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i)
      if (i == inner.end() || *i != *o) return false;
    return true;
  };
  for (const auto& input : inputs) {
    if (input.empty()) continue;
    const fs::path in = resolved(input);
    if (within(in, out) || within(out, in))
      throw OutputError("the output '" + destination.string() +
                        "' would replace or lie inside the input '" + input.string() +
                        "'; choose another output");
  }
}

}  // namespace xanesmap
