// Defaults shared by several stages and commands, in one place.
#pragma once

namespace xanesmap {

/// The pixel size assumed when neither the file nor the user gives one, nm (full-field TXM
/// pixels are typically 10-60 nm; outputs say when this default was used).
inline constexpr double kDefaultPixelSizeNm = 30.0;

}  // namespace xanesmap
