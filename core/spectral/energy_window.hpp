// Energy windows of a XANES analysis, in two distinct types so that a window relative to the edge
// energy e0 cannot be taken for one in absolute eV, or the other way round: options give windows
// relative to e0 (they hold for any edge position), results report them in absolute eV as applied
// to the data (after clipping to its energies).
#pragma once

namespace xanesmap {

struct AbsoluteWindow;

/// Energies E with from_ev <= E - e0 <= to_ev, for an edge energy e0 given elsewhere.
struct RelativeWindow {
  double from_ev = 0.0;  // eV relative to e0
  double to_ev = 0.0;    // eV relative to e0; > from_ev
  /// The window around `e0_ev` in absolute eV: {e0_ev + from_ev, e0_ev + to_ev}.
  constexpr AbsoluteWindow around(double e0_ev) const;
};

/// Energies E with from_ev <= E <= to_ev, in absolute eV.
struct AbsoluteWindow {
  double from_ev = 0.0;  // eV
  double to_ev = 0.0;    // eV; >= from_ev
  /// The window relative to `e0_ev`: {from_ev - e0_ev, to_ev - e0_ev}.
  constexpr RelativeWindow relative_to(double e0_ev) const {
    return {from_ev - e0_ev, to_ev - e0_ev};
  }
};

constexpr AbsoluteWindow RelativeWindow::around(double e0_ev) const {
  return {e0_ev + from_ev, e0_ev + to_ev};
}

}  // namespace xanesmap
