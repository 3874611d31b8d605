// Small helpers shared by the writers of text outputs (CSV, JSON, Markdown).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace xanesmap {

/// Writes `text` to `file` (replacing it); OutputError naming the file when that fails.
void write_text_file(const std::filesystem::path& file, const std::string& text);

/// A CSV cell for a number: the shortest decimal form that reads back to the same double
/// (std::to_chars), "" for NaN (no value), "inf"/"-inf" for infinities.
std::string csv_number(double value);

/// A JSON number, or null for NaN and infinities (JSON has neither).
nlohmann::json json_number(double value);

}  // namespace xanesmap
