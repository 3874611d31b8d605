// Configuration files for the subcommands (`--config run.toml`, issue 7) and the effective
// configuration that every run writes next to its outputs.
//
// File layout: one TOML table per subcommand; its keys are the long option names without the
// dashes, and positionals by their name (`stack` of map/align/info, `dirs` of compare):
//
//   [map]
//   stack = "/data/scan.h5"
//   pre-edge = [-100, -20]     # options that take several values: arrays
//   no-flatten = true          # flags: true / false
//   method = "lcf"
//
// Top-level keys are the global options (`quiet`, `threads`). Relative paths in the file are
// relative to the current folder, as on the command line.
//
// Reading: CLI11 2.1.2 does the merging (App::set_config): a value from the file fills an option
// only when the command line left it empty, so the command line wins (flags too:
// `--no-flatten=false`); vectors, flags and positionals are handled like command-line input.
// What CLI11 2.1.2 does not do well is reading TOML: its ConfigTOML is a line-based INI reader
// that cuts a value at '#' even inside quotes (a path "x#1/scan.h5" silently becomes `"x`), keeps
// escape sequences as typed, and reports an unknown key as "INI was not able to parse map.x"
// without naming the file. TomlConfig replaces that reader with toml++ (real TOML) and checks
// every key against the options of its table before CLI11 sees it, so that an unknown key, an
// unknown table, a key that names a non-configurable option (help, version, config), or a file
// without a table for the command that runs is an error naming the file, the key and its line.
//
// Writing: effective_config() writes one subcommand's options as a TOML table that reads back
// through TomlConfig to the same values (see its contract). CLI11's own config_to_str() is not
// used because it writes a vector default as the string "[-100,-20]", which does not read back
// as two numbers, and quotes strings without escaping.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

namespace xanesmap::cli {

/// Adds `--config FILE` to `app` with TomlConfig as its reader and unknown keys as errors.
/// The errors are CLI::ConfigError / CLI::FileError (exit code 1 in main): a missing or unreadable
/// file, invalid TOML (with line and column), unknown keys and tables.
void add_config_option(CLI::App& app);

/// Options written as comments (name -> why it is not applied), e.g. {"out", "..."}.
using NotApplied = std::map<std::string, std::string>;

/// The effective configuration of the parsed subcommand `sub` as the TOML table `[sub]`, after
/// `header` (comment lines, written as given after removing control characters).
///
/// Every configurable option of `sub` appears once, with its help text as a comment:
/// - with the value it had in this run: from the command line or the config file, else its
///   default (CLI11's default string; floating-point defaults are exact because each has at most
///   6 significant digits, which CLI11's ostream conversion keeps), flags as true/false;
/// - as a comment `# key = ...` when the option has no value and no default (an automatic value
///   such as `--e0-ev`; the run's summary records what it became), or when it is in
///   `not_applied` (with the reason);
/// - options whose type name is "PATH" hold absolute paths, so the file works from any folder.
/// Numbers are written as TOML numbers (the shortest form that reads back to the same double),
/// everything else as TOML basic strings with escapes, so any path reads back unchanged.
std::string effective_config(const CLI::App& sub, const NotApplied& not_applied,
                             const std::string& header);

/// Comment lines for the top of a written configuration: program, version and commit, the
/// command line, the time of the run and how to reproduce it with `--config`.
std::string config_header(const std::string& command, const std::string& command_line,
                          const std::string& time_utc, const std::string& reproduce);

/// The current time as ISO 8601 in UTC, e.g. "2024-05-01T12:34:56Z".
std::string utc_now_iso8601();

}  // namespace xanesmap::cli
