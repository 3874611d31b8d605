// Error types thrown at xanesmap's boundaries.
//
// Library code throws one of these for bad files, bad options and inconsistent data. The
// message names the input ("flat field 'flat.tif' is 512x512 but the stack is 256x256").
// Callers add context as the error travels up with `with_context`, MRtrix-style.
// Per-pixel failures are NOT exceptions: they are recorded in status maps.
//
// Exit codes used by the CLI: InputError and OptionError -> 1, anything else -> 2.
#pragma once

#include <stdexcept>
#include <string>

namespace xanesmap {

/// Base of every error xanesmap throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A file or data set that cannot be used: missing, truncated, wrong shape, inconsistent.
class InputError : public Error {
 public:
  using Error::Error;
};

/// An option value that makes no sense (negative pixel size, reversed window...).
class OptionError : public Error {
 public:
  /// `option` is the option as the user types it: "--max-shift", or "max-shift" (a TOML key of
  /// --config; the message shows it as "--max-shift", its command-line form). A name with
  /// capitals or spaces (a positional argument such as "DIRS") is shown as it is.
  OptionError(const std::string& option, const std::string& detail)
      : Error("option '" + as_typed(option) + "': " + detail),
        option_(as_typed(option)),
        detail_(detail) {}
  const std::string& option() const { return option_; }
  const std::string& detail() const { return detail_; }

 private:
  static std::string as_typed(const std::string& option) {
    const bool plain =
        !option.empty() && option[0] != '-' &&
        option.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
    return plain ? "--" + option : option;
  }
  std::string option_;
  std::string detail_;
};

/// An output that cannot be written (existing folder without --force, unwritable path).
class OutputError : public Error {
 public:
  using Error::Error;
};

/// Rethrows `e` (an xanesmap::Error) with `context + ": "` prefixed, keeping its type.
[[noreturn]] void rethrow_with_context(const Error& e, const std::string& context);

}  // namespace xanesmap
