// Simulated samples: spherical particles with radial 3-D valence profiles, placed in a field of
// view. Geometry is in pixels of the simulated detector, in "sample coordinates": the position
// the sample has in a frame with zero drift (see core/simulation/drift.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xanesmap::sim {

/// Valence against radius r inside a sphere of radius R (all in um):
///   v(r) = core + (shell - core) * logistic((r - (R - shell_thickness)) / transition)
/// which is `core` deep inside, `shell` at the outline, and uniform when core == shell.
struct RadialValenceProfile {
  double core_valence = 3.5;
  double shell_valence = 3.5;
  double shell_thickness_um = 0.0;
  double transition_um = 0.03;  // width of the core-shell boundary, um
  double valence_at(double r_um, double radius_um) const;
};

/// A patch of another valence inside a uniform host particle (the "two-phase" preset): a
/// column along the beam with a circular cross-section, through the host's whole thickness
/// (a grain spanning the particle), so that it projects to its own valence.
struct Inclusion {
  double dy_px = 0.0, dx_px = 0.0;  // centre relative to the host's centre, px
  double radius_px = 0.0;
  double valence = 3.0;
};

enum class ParticleKind { manganese, debris };

struct Particle {
  int id = 0;        // 1-based label
  std::string type;  // "uncoated-cycled", "coated-cycled", "mn2-surface", ...
  ParticleKind kind = ParticleKind::manganese;
  double cy_px = 0.0, cx_px = 0.0, radius_px = 0.0;
  RadialValenceProfile profile;
  std::vector<Inclusion> inclusions;
};

struct Scene {
  std::vector<Particle> particles;
};

/// Names accepted by make_scene: "mixed", "uncoated", "coated", "mn2-surface", "touching",
/// "two-phase", "debris", "single".
const std::vector<std::string>& scene_presets();

/// The particle types the presets use, with the valence profiles documented in
/// docs/simulator.md. Throws OptionError for an unknown preset or a field of view too small
/// (below 32 px) for any particle.
Scene make_scene(const std::string& preset, std::size_t height, std::size_t width,
                 double pixel_size_nm, std::uint64_t seed);

}  // namespace xanesmap::sim
