#include "core/stack/optical_density.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <variant>
#include <vector>

#include "core/base/error.hpp"
#include "core/kernels/log_ratio.hpp"

namespace xanesmap {

const char* od_flag_name(OdFlag flag) {
  switch (flag) {
    case od_sample_not_above_dark:
      return "sample_not_above_dark";
    case od_flat_not_above_dark:
      return "flat_not_above_dark";
    case od_saturated:
      return "saturated";
    case od_not_finite:
      return "not_finite";
    case od_outside_view:
      return "outside_view";
  }
  return "unknown";
}

void OpticalDensityOptions::validate() const {
  if (saturation_counts && !(std::isfinite(*saturation_counts) && *saturation_counts > 0))
    throw OptionError("saturation", "must be a positive number of counts");
}

namespace {
// Flags of one value; 0 when OD can be computed.
inline std::uint8_t classify(float sample, float flat, float dark, float saturation) {
  if (!std::isfinite(sample) || !std::isfinite(flat) || !std::isfinite(dark)) return od_not_finite;
  std::uint8_t f = 0;
  if (sample >= saturation || flat >= saturation) f |= od_saturated;
  if (sample - dark <= 0.0f) f |= od_sample_not_above_dark;
  if (flat - dark <= 0.0f) f |= od_flat_not_above_dark;
  return f;
}
}  // namespace

float minus_log(float x) { return kernels::minus_log(x); }

namespace {

struct OdInputs {
  const RawStack& raw;  // flats and dark
  float saturation;
};

// OD of rows [r0, r1) of frame e with its flat `flat` (of the flat's stored type): sample
// (counts) -> out, which may be the same memory; `ratio`, `fixed`, `zeros` and `slow` are row
// scratch (zeros: w zeros when there is no dark). Returns the NaN count. A vectorizable pass
// computes every value that is valid and whose ratio is a normal float; the few others
// (invalid: flagged and NaN; a ratio outside the normal floats: std::log) follow.
struct RowScratch {
  std::vector<float> ratio, fixed, zeros;
  std::vector<std::uint8_t> slow;
};

template <typename Flat>
std::size_t od_rows_typed(const OdInputs& in, const Flat* flat, const float* sample, float* out,
                          Image<std::uint8_t>& flags, std::size_t r0, std::size_t r1,
                          RowScratch& scratch) {
  const std::size_t w = flags.width();
  const float* dark = in.raw.has_dark() ? in.raw.dark().data() : nullptr;
  const float saturation = in.saturation;
  std::size_t invalid = 0;
  for (std::size_t r = r0; r != r1; ++r) {
    const std::size_t row = r * w;
    const float* s = sample + row;
    const Flat* f = flat + row;
    const float* dk = dark ? dark + row : scratch.zeros.data();
    float* q = scratch.ratio.data();
    std::uint8_t* sl = scratch.slow.data();
    // The ratios of the values the vectorized pass computes (valid, with a normal ratio).
    const unsigned any_slow = kernels::od_ratio_row(s, f, dk, w, saturation, q, sl);
    // The few others first: `out` may be `sample` itself (in place).
    if (any_slow)
      for (std::size_t c = 0; c < w; ++c) {
        if (!sl[c]) continue;
        const float d = dk[c], sv = s[c], fv = static_cast<float>(f[c]);
        const std::uint8_t flag = classify(sv, fv, d, saturation);
        if (flag) {
          scratch.fixed[c] = std::numeric_limits<float>::quiet_NaN();
          flags.data()[row + c] |= flag;
          ++invalid;
        } else {
          scratch.fixed[c] = -std::log((sv - d) / (fv - d));
        }
      }
    float* o = out + row;
    kernels::minus_log_row(q, o, w);
    if (any_slow)
      for (std::size_t c = 0; c < w; ++c)
        if (sl[c]) o[c] = scratch.fixed[c];
  }
  return invalid;
}

// OD of every frame: frame_in(e) -> frame_out(e) (the same memory for in-place). Bands of a few
// rows run in parallel, each through all frames in turn, so a band of the dark frame is read
// from memory once and then from the cache for every energy (frame by frame, the whole 16 MB
// dark of a 2048 px stack was read again for each frame). A pixel's flags are written by the
// one task holding its band. Progress after each group of bands, from the calling thread.
template <typename In, typename Out>
std::vector<std::size_t> od_all_frames(const OdInputs& in, std::size_t n, In frame_in,
                                       Out frame_out, Image<std::uint8_t>& flags,
                                       const ProgressSink& progress) {
  const std::size_t h = flags.height(), w = flags.width();
  // 16 rows of a 2048 px dark: 128 KB, in L2. Each frame's share of a band is then a 128 KB run
  // of counts (and 64 KB of a uint16 flat), long enough for the hardware prefetcher; with 4-row
  // bands (32 KB runs, 16 MB apart) the loads waited on memory: one thread took 0.78 s for a
  // 2048 x 2048 x 100 stack, 0.60-0.70 s with 16 rows.
  constexpr std::size_t kBandRows = 16;
  std::vector<std::size_t> invalid_per_energy(n, 0);
  std::mutex counts_mutex;
  const std::size_t group =
      std::max<std::size_t>(kBandRows, (h / 20 + kBandRows - 1) / kBandRows * kBandRows);
  for (std::size_t start = 0; start < h; start += group) {
    const std::size_t stop = std::min(h, start + group);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(start, stop, kBandRows),
                      [&](const tbb::blocked_range<std::size_t>& rows) {
                        RowScratch scratch{std::vector<float>(w), std::vector<float>(w),
                                           std::vector<float>(in.raw.has_dark() ? 0 : w, 0.0f),
                                           std::vector<std::uint8_t>(w)};
                        std::vector<std::size_t> invalid(n, 0);
                        for (std::size_t e = 0; e < n; ++e)
                          invalid[e] = std::visit(
                              [&](const auto& flat) {
                                return od_rows_typed(in, flat.data(), frame_in(e), frame_out(e),
                                                     flags, rows.begin(), rows.end(), scratch);
                              },
                              in.raw.flat(e));
                        const std::lock_guard<std::mutex> lock(counts_mutex);
                        for (std::size_t e = 0; e < n; ++e) invalid_per_energy[e] += invalid[e];
                      });
    report(progress, "optical density", stop, h);
  }
  return invalid_per_energy;
}

OpticalDensityResult finish(EnergyStack od, Image<std::uint8_t> flags,
                            std::vector<std::size_t> invalid_per_energy) {
  OpticalDensityResult result{
      std::move(od), std::move(flags), 0, {}, std::move(invalid_per_energy)};
  for (const std::uint8_t f : result.flags.pixels()) {
    if (!f) continue;
    ++result.invalid_pixels;
    for (std::size_t i = 0; i < kAllOdFlags.size(); ++i)
      if (f & kAllOdFlags[i]) ++result.pixels_by_flag[i];
  }
  return result;
}

float saturation_level(const RawStack& raw, const OpticalDensityOptions& options) {
  const auto level =
      options.saturation_counts ? options.saturation_counts : raw.saturation_counts();
  return level ? static_cast<float>(*level) : std::numeric_limits<float>::infinity();
}

}  // namespace

OpticalDensityResult compute_optical_density(const RawStack& raw,
                                             const OpticalDensityOptions& options,
                                             const ProgressSink& progress) {
  options.validate();
  const EnergyStack& counts = raw.counts();
  const std::size_t n = counts.frame_count(), h = counts.height(), w = counts.width();
  const OdInputs in{raw, saturation_level(raw, options)};
  FloatBuffer od(n * h * w);  // every value written by od_all_frames
  Image<std::uint8_t> flags(h, w, 0);
  std::vector<std::size_t> invalid_per_energy = od_all_frames(
      in, n, [&](std::size_t e) { return counts.frame(e).data(); },
      [&](std::size_t e) { return od.data() + e * h * w; }, flags, progress);
  return finish(EnergyStack(counts.energies_ev(), h, w, std::move(od)), std::move(flags),
                std::move(invalid_per_energy));
}

OpticalDensityResult compute_optical_density(RawStack&& raw_in,
                                             const OpticalDensityOptions& options,
                                             const ProgressSink& progress) {
  options.validate();
  RawStack raw = std::move(raw_in);  // destroyed on return, with its flats
  const OdInputs in{raw, saturation_level(raw, options)};
  EnergyStack counts = raw.take_counts();
  const std::size_t n = counts.frame_count(), h = counts.height(), w = counts.width();
  Image<std::uint8_t> flags(h, w, 0);
  std::vector<std::size_t> invalid_per_energy = od_all_frames(
      in, n, [&](std::size_t e) { return counts.frame(e).data(); },
      [&](std::size_t e) { return counts.frame(e).data(); }, flags, progress);
  return finish(std::move(counts), std::move(flags), std::move(invalid_per_energy));
}

}  // namespace xanesmap
