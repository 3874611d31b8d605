#include "core/simulation/scene.hpp"

#include <algorithm>
#include <cmath>

#include "core/base/error.hpp"
#include "core/base/random.hpp"

namespace xanesmap::sim {

double RadialValenceProfile::valence_at(double r_um, double radius_um) const {
  if (core_valence == shell_valence) return core_valence;
  const double x = (r_um - (radius_um - shell_thickness_um)) / transition_um;
  return core_valence + (shell_valence - core_valence) / (1.0 + std::exp(-x));
}

const std::vector<std::string>& scene_presets() {
  static const std::vector<std::string> names{"mixed",    "uncoated",  "coated", "mn2-surface",
                                              "touching", "two-phase", "debris", "single"};
  return names;
}

namespace {

// The particle types. Valences follow the story our users tell (see docs/simulator.md):
// cycled uncoated particles keep a reduced core under an oxidized shell a few hundred nm thick;
// coated ones stay uniform.
Particle make_particle(const std::string& type, double radius_px) {
  Particle p;
  p.type = type;
  p.radius_px = radius_px;
  if (type == "uncoated-cycled") {
    p.profile = {3.2, 3.8, 0.30, 0.03};
  } else if (type == "coated-cycled") {
    p.profile = {3.6, 3.6, 0.0, 0.03};
  } else if (type == "mn2-surface") {
    p.profile = {3.6, 2.4, 0.15, 0.03};
  } else if (type == "two-phase" || type == "touching") {
    p.profile = {3.7, 3.7, 0.0, 0.03};
  } else if (type == "debris") {
    p.kind = ParticleKind::debris;
  }
  return p;
}

struct Request {
  std::string type;
  double radius_um;
  bool touching_pair = false;
};

std::vector<Request> requests_for(const std::string& preset) {
  if (preset == "uncoated")
    return {{"uncoated-cycled", 3.0},
            {"uncoated-cycled", 1.3},
            {"uncoated-cycled", 0.8},
            {"uncoated-cycled", 0.6},
            {"debris", 0.5}};
  if (preset == "coated")
    return {{"coated-cycled", 3.0},
            {"coated-cycled", 1.3},
            {"coated-cycled", 0.8},
            {"coated-cycled", 0.6},
            {"debris", 0.5}};
  if (preset == "mn2-surface")
    return {{"mn2-surface", 1.8}, {"mn2-surface", 1.1}, {"mn2-surface", 0.7}};
  if (preset == "touching")
    return {{"touching", 1.2, true}, {"touching", 0.8, true}, {"touching", 0.7}};
  if (preset == "two-phase") return {{"two-phase", 2.0}, {"two-phase", 1.4}, {"two-phase", 0.9}};
  if (preset == "debris") return {{"coated-cycled", 1.2}, {"debris", 1.0}, {"debris", 0.6}};
  if (preset == "single") return {{"uncoated-cycled", 1e9}};  // clipped to fit the view
  if (preset == "mixed")
    return {{"uncoated-cycled", 2.5}, {"coated-cycled", 1.5}, {"mn2-surface", 1.0},
            {"touching", 0.8, true},  {"two-phase", 1.1},     {"uncoated-cycled", 0.4},
            {"debris", 0.5}};
  std::string known;
  for (const auto& n : scene_presets()) known += (known.empty() ? "" : ", ") + n;
  throw OptionError("preset", "unknown scene '" + preset + "' (known: " + known + ")");
}

bool overlaps(const std::vector<Particle>& placed, double cy, double cx, double r, double gap) {
  for (const auto& q : placed)
    if (std::hypot(q.cy_px - cy, q.cx_px - cx) < q.radius_px + r + gap) return true;
  return false;
}

void add_inclusions(Particle& p, Random& rng) {
  // Patches of reduced Mn (valence 3.0) inside a 3.7 host: 3-5 patches of 20-32 % of the host
  // radius, wholly inside it, covering roughly a quarter of its projected area.
  const int count = 3 + static_cast<int>(rng.uniform(0.0, 3.0));
  for (int i = 0, tries = 0; i < count && tries < 400; ++tries) {
    const double r = p.radius_px * rng.uniform(0.20, 0.32);
    const double rho = rng.uniform(0.0, p.radius_px - r - 1.0);
    const double angle = rng.uniform(0.0, 6.283185307179586);
    const Inclusion inc{rho * std::sin(angle), rho * std::cos(angle), r, 3.0};
    bool clash = false;
    for (const auto& o : p.inclusions)
      clash |= std::hypot(o.dy_px - inc.dy_px, o.dx_px - inc.dx_px) < o.radius_px + r + 1.0;
    if (clash) continue;
    p.inclusions.push_back(inc);
    ++i;
  }
}

}  // namespace

Scene make_scene(const std::string& preset, std::size_t height, std::size_t width,
                 double pixel_size_nm, std::uint64_t seed) {
  const auto requests = requests_for(preset);
  const double h = static_cast<double>(height), w = static_cast<double>(width);
  if (std::min(h, w) < 32)
    throw OptionError("size", "the field of view must be at least 32 px on each side");
  Random rng{seed, 0x5CE7Eull};
  const double px_um = pixel_size_nm / 1000.0;
  const double max_radius_px = 0.3 * std::min(h, w);
  const double margin_px = 10.0;  // keep particles inside the view despite a few px of drift
  Scene scene;
  auto& placed = scene.particles;

  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Request& req = requests[i];
    double radius = std::min(req.radius_um / px_um, max_radius_px);
    if (preset == "single") radius = 0.38 * std::min(h, w);
    radius = std::max(radius, 4.0);
    Particle p = make_particle(req.type, radius);
    bool done = false;
    if (preset == "single") {
      p.cy_px = 0.5 * (h - 1), p.cx_px = 0.5 * (w - 1);
      done = true;
    }
    // Shrink the particle until it finds a free spot (small views hold fewer big particles).
    for (int attempt = 0; !done && attempt < 4000; ++attempt) {
      if (attempt % 500 == 499) p.radius_px = std::max(4.0, p.radius_px * 0.8);
      const double r = p.radius_px;
      if (2 * (r + margin_px) >= std::min(h, w)) continue;
      const double cy = rng.uniform(r + margin_px, h - r - margin_px);
      const double cx = rng.uniform(r + margin_px, w - r - margin_px);
      if (!overlaps(placed, cy, cx, r, 4.0)) {
        p.cy_px = cy, p.cx_px = cx;
        done = true;
      }
    }
    if (!done) continue;  // no room: the scene holds fewer particles; the truth says which
    p.id = static_cast<int>(placed.size()) + 1;
    if (p.type == "two-phase") add_inclusions(p, rng);
    placed.push_back(p);

    if (req.touching_pair) {
      // A partner of 70-100 % the size, overlapping by 4 % of the smaller radius: touching
      // particles share a short neck, the case a watershed split must handle.
      Particle q = make_particle(req.type, p.radius_px * rng.uniform(0.7, 1.0));
      for (int attempt = 0; attempt < 200; ++attempt) {
        const double angle = rng.uniform(0.0, 6.283185307179586);
        const double d = p.radius_px + q.radius_px - 0.04 * q.radius_px;
        const double cy = p.cy_px + d * std::sin(angle), cx = p.cx_px + d * std::cos(angle);
        if (cy - q.radius_px < margin_px || cy + q.radius_px > h - margin_px ||
            cx - q.radius_px < margin_px || cx + q.radius_px > w - margin_px)
          continue;
        std::vector<Particle> others(placed.begin(), placed.end() - 1);
        if (overlaps(others, cy, cx, q.radius_px, 4.0)) continue;
        q.cy_px = cy, q.cx_px = cx;
        q.id = static_cast<int>(placed.size()) + 1;
        placed.push_back(q);
        break;
      }
    }
  }
  if (placed.empty()) throw OptionError("size", "no particle fits in the field of view");
  return scene;
}

}  // namespace xanesmap::sim
