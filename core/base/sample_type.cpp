#include "core/base/sample_type.hpp"

#include <cstdint>
#include <limits>

namespace xanesmap {

std::string to_string(SampleType type) {
  switch (type) {
    case SampleType::uint8:
      return "uint8";
    case SampleType::uint16:
      return "uint16";
    case SampleType::uint32:
      return "uint32";
    case SampleType::int8:
      return "int8";
    case SampleType::int16:
      return "int16";
    case SampleType::int32:
      return "int32";
    case SampleType::float32:
      return "float32";
    case SampleType::float64:
      return "float64";
  }
  return "unknown";
}

std::optional<double> integer_saturation_level(SampleType type) {
  switch (type) {
    case SampleType::uint8:
      return std::numeric_limits<std::uint8_t>::max();
    case SampleType::uint16:
      return std::numeric_limits<std::uint16_t>::max();
    case SampleType::uint32:
      return std::numeric_limits<std::uint32_t>::max();
    case SampleType::int8:
      return std::numeric_limits<std::int8_t>::max();
    case SampleType::int16:
      return std::numeric_limits<std::int16_t>::max();
    case SampleType::int32:
      return std::numeric_limits<std::int32_t>::max();
    case SampleType::float32:
    case SampleType::float64:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace xanesmap
