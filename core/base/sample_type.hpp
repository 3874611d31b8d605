// The pixel type a file stores its raw values in, and what follows from it (saturation).
#pragma once

#include <optional>
#include <string>

namespace xanesmap {

enum class SampleType { uint8, uint16, uint32, int8, int16, int32, float32, float64 };

/// "uint16", "float32", ...
std::string to_string(SampleType type);

/// The largest value an integer detector can record (a pixel at this value is saturated);
/// nullopt for floating-point types, whose saturation level the file does not tell.
std::optional<double> integer_saturation_level(SampleType type);

}  // namespace xanesmap
