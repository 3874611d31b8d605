#include "core/stack/optical_density.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <immintrin.h>
#include <limits>
#include <mutex>
#include <vector>
#include <variant>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "core/kernels/cpu_features.hpp"
#include "core/base/error.hpp"

namespace xanesmap {

const char* od_flag_name(OdFlag flag) {
  switch (flag) {
    case od_sample_not_above_dark: return "sample_not_above_dark";
    case od_flat_not_above_dark: return "flat_not_above_dark";
    case od_saturated: return "saturated";
    case od_not_finite: return "not_finite";
    case od_outside_view: return "outside_view";
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

namespace {

// See minus_log in the header; inline here so that the pixel loop below vectorizes.
inline float minus_log_inline(float x) {
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)); ln x = ln m + e ln 2, ln 2 split in two parts
  // (0.693359375 is exact in float) as Cephes does.
  const auto bits = std::bit_cast<std::uint32_t>(x);
  int e = static_cast<int>((bits >> 23) & 0xffu) - 126;
  float m = std::bit_cast<float>((bits & 0x007fffffu) | 0x3f000000u);  // in [0.5, 1)
  // Below sqrt(1/2): m -> 2m, e -> e - 1 (arithmetic instead of branches; 2m is exact).
  const int low = static_cast<int>(m < 0.70710678118654752440f);
  e -= low;
  const float f = m * static_cast<float>(1 + low) - 1.0f;
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  const auto fe = static_cast<float>(e);
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  return -((f + y) + 0.693359375f * fe);
}

}  // namespace

float minus_log(float x) { return minus_log_inline(x); }

namespace {

struct OdInputs {
  const RawStack& raw;  // flats and dark
  float saturation;
};

// The two element-wise row loops of od_frame, in a plain x86-64 and an AVX2 version chosen at
// run time (the build targets plain x86-64); the same operations per element, in the same order
// (no fused multiply-add), so the values are identical. `Flat` is the flat's stored type (float
// or uint16): a uint16 value is converted to float first, exactly, so both give the same values.
#define XANESMAP_OD_KERNELS(SUFFIX, ATTRIBUTE)                                                          \
  template <typename Flat>                                                                              \
  ATTRIBUTE unsigned ratio_row_##SUFFIX(const float* s, const Flat* fl, const float* dk, std::size_t w, \
                                       float saturation, float* q, std::uint8_t* sl) {                  \
    constexpr float kMax = std::numeric_limits<float>::max(), kMin = std::numeric_limits<float>::min(); \
    unsigned any_slow = 0;                                                                              \
    for (std::size_t c = 0; c < w; ++c) {                                                               \
      const float f = static_cast<float>(fl[c]), d = dk[c], num = s[c] - d, den = f - d, x = num / den; \
      /* Every condition of classify() and a normal ratio; NaN fails each comparison. Implied, so       \
         not tested: finite inputs (+inf fails "< saturation", also an infinite one; -inf makes         \
         num or den -inf or NaN; an infinite dark makes den -inf or the ratio inf / inf = NaN),         \
         and num > 0 (with den > 0, a ratio of at least the smallest normal float). */                  \
      const bool fast = (s[c] < saturation) & (f < saturation) & (den > 0.0f) & (x >= kMin) & (x <= kMax); \
      q[c] = fast ? x : 1.0f;                                                                           \
      sl[c] = fast ? 0 : 1;                                                                             \
      any_slow |= fast ? 0u : 1u;                                                                       \
    }                                                                                                   \
    return any_slow;                                                                                    \
  }                                                                                                     \
  ATTRIBUTE void log_row_##SUFFIX(const float* q, float* o, std::size_t w) {                            \
    for (std::size_t c = 0; c < w; ++c) o[c] = minus_log_inline(q[c]);                                  \
  }
XANESMAP_OD_KERNELS(generic, )
XANESMAP_OD_KERNELS(avx2, __attribute__((target("avx2"))))
#undef XANESMAP_OD_KERNELS

// minus_log_inline's polynomial coefficients, highest degree first, for the vector kernels (each
// step y = y * f + c; the scalar code writes a negative c as "y * f - |c|", the same operation).
constexpr float kLogPolynomial[9] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                                     -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                                     2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};

// minus_log_inline on 4 x 8 floats at a time, in AVX2: the same operations in the same order
// for each value (the same bits), with the four vectors' steps interleaved. The polynomial is a
// chain of 20 dependent operations; one vector at a time, the scheduler holds too few of them
// to overlap, and the loop waited on each chain.
__attribute__((target("avx2"))) void log_row_avx2_interleaved(const float* q, float* o, std::size_t w) {
  constexpr int V = 4;
  const __m256i exp_mask = _mm256_set1_epi32(0xff), mant_mask = _mm256_set1_epi32(0x007fffff);
  const __m256i half_bits = _mm256_set1_epi32(0x3f000000), bias = _mm256_set1_epi32(126), one_i = _mm256_set1_epi32(1);
  const __m256 sqrt_half = _mm256_set1_ps(0.70710678118654752440f), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  std::size_t c = 0;
  for (; c + 8 * V <= w; c += 8 * V) {
    __m256 f[V], z[V], y[V], fe[V];
    for (int v = 0; v < V; ++v) {
      const __m256i bits = _mm256_castps_si256(_mm256_loadu_ps(q + c + 8 * v));
      __m256i e = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(bits, 23), exp_mask), bias);
      const __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, mant_mask), half_bits));
      const __m256i low = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(m, sqrt_half, _CMP_LT_OQ)), one_i);
      e = _mm256_sub_epi32(e, low);
      f[v] = _mm256_sub_ps(_mm256_mul_ps(m, _mm256_cvtepi32_ps(_mm256_add_epi32(low, one_i))), one);
      z[v] = _mm256_mul_ps(f[v], f[v]);
      fe[v] = _mm256_cvtepi32_ps(e);
      y[v] = _mm256_set1_ps(kLogPolynomial[0]);
    }
    // y = y * f + c_k: the scalar code's "y * f - c" for a negative c_k is the same operation.
    for (int k = 1; k < 9; ++k) {
      const __m256 ck = _mm256_set1_ps(kLogPolynomial[k]);
      for (int v = 0; v < V; ++v) y[v] = _mm256_add_ps(_mm256_mul_ps(y[v], f[v]), ck);
      // Keeps the four chains interleaved step by step (no effect on the values): left alone, the
      // compiler emits each vector's whole chain in turn, and the loop waits on its latency
      // (this kernel: 0.38 -> 0.33 s on one thread for 2048 x 2048 x 100 values).
      for (int v = 0; v < V; ++v) asm volatile("" : "+x"(y[v]));
    }
    const __m256 c_fe = _mm256_set1_ps(-2.12194440e-4f), c_z = _mm256_set1_ps(-0.5f), ln2_hi = _mm256_set1_ps(0.693359375f);
    for (int v = 0; v < V; ++v) {
      __m256 r = _mm256_mul_ps(_mm256_mul_ps(y[v], f[v]), z[v]);
      r = _mm256_add_ps(r, _mm256_mul_ps(c_fe, fe[v]));
      r = _mm256_add_ps(r, _mm256_mul_ps(c_z, z[v]));
      r = _mm256_add_ps(_mm256_add_ps(f[v], r), _mm256_mul_ps(ln2_hi, fe[v]));
      _mm256_storeu_ps(o + c + 8 * v, _mm256_xor_ps(r, sign));
    }
  }
  log_row_avx2(q + c, o + c, w - c);
}

// log_row_avx2_interleaved with 16 floats per vector (AVX-512F): the same operations in the same
// order for each value, the same bits (tested against minus_log). On a Zen 4 core, 0.62 -> 0.46 ns
// per value in a stand-alone loop: each dependent chain of the polynomial carries twice the values.
// The shift and the conversions are the zero-masking forms with every lane selected (the same
// values): GCC 12's plain forms start from _mm512_undefined_*, which -Wmaybe-uninitialized flags
// (GCC bug 105593).
__attribute__((target("avx512f"))) void log_row_avx512(const float* q, float* o, std::size_t w) {
  constexpr int V = 4;
  constexpr __mmask16 all = 0xffff;
  const __m512i exp_mask = _mm512_set1_epi32(0xff), mant_mask = _mm512_set1_epi32(0x007fffff);
  const __m512i half_bits = _mm512_set1_epi32(0x3f000000), bias = _mm512_set1_epi32(126), one_i = _mm512_set1_epi32(1);
  const __m512 sqrt_half = _mm512_set1_ps(0.70710678118654752440f), one = _mm512_set1_ps(1.0f);
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  std::size_t c = 0;
  for (; c + 16 * V <= w; c += 16 * V) {
    __m512 f[V], z[V], y[V], fe[V];
    for (int v = 0; v < V; ++v) {
      const __m512i bits = _mm512_castps_si512(_mm512_loadu_ps(q + c + 16 * v));
      __m512i e = _mm512_sub_epi32(_mm512_and_si512(_mm512_maskz_srli_epi32(all, bits, 23), exp_mask), bias);
      const __m512 m = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(bits, mant_mask), half_bits));
      const __m512i low = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(m, sqrt_half, _CMP_LT_OQ), one_i);
      e = _mm512_sub_epi32(e, low);
      f[v] = _mm512_sub_ps(_mm512_mul_ps(m, _mm512_maskz_cvtepi32_ps(all, _mm512_add_epi32(low, one_i))), one);
      z[v] = _mm512_mul_ps(f[v], f[v]);
      fe[v] = _mm512_maskz_cvtepi32_ps(all, e);
      y[v] = _mm512_set1_ps(kLogPolynomial[0]);
    }
    for (int k = 1; k < 9; ++k) {
      const __m512 ck = _mm512_set1_ps(kLogPolynomial[k]);
      for (int v = 0; v < V; ++v) y[v] = _mm512_add_ps(_mm512_mul_ps(y[v], f[v]), ck);
      for (int v = 0; v < V; ++v) asm volatile("" : "+v"(y[v]));  // as in the AVX2 version
    }
    const __m512 c_fe = _mm512_set1_ps(-2.12194440e-4f), c_z = _mm512_set1_ps(-0.5f), ln2_hi = _mm512_set1_ps(0.693359375f);
    for (int v = 0; v < V; ++v) {
      __m512 r = _mm512_mul_ps(_mm512_mul_ps(y[v], f[v]), z[v]);
      r = _mm512_add_ps(r, _mm512_mul_ps(c_fe, fe[v]));
      r = _mm512_add_ps(r, _mm512_mul_ps(c_z, z[v]));
      r = _mm512_add_ps(_mm512_add_ps(f[v], r), _mm512_mul_ps(ln2_hi, fe[v]));
      _mm512_storeu_ps(o + c + 16 * v, _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(r), sign)));
    }
  }
  log_row_avx2_interleaved(q + c, o + c, w - c);
}

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
                          Image<std::uint8_t>& flags, std::size_t r0, std::size_t r1, RowScratch& scratch) {
  const std::size_t w = flags.width();
  const float* dark = in.raw.has_dark() ? in.raw.dark().data() : nullptr;
  const float saturation = in.saturation;
  const auto ratio_row = has_avx2() ? ratio_row_avx2<Flat> : ratio_row_generic<Flat>;
  const auto log_row = has_avx512f() ? log_row_avx512 : has_avx2() ? log_row_avx2_interleaved : log_row_generic;
  std::size_t invalid = 0;
  for (std::size_t r = r0; r != r1; ++r) {
    const std::size_t row = r * w;
    const float* s = sample + row;
    const Flat* f = flat + row;
    const float* dk = dark ? dark + row : scratch.zeros.data();
    float* q = scratch.ratio.data();
    std::uint8_t* sl = scratch.slow.data();
    // In runs of 256 columns, each after prefetch hints for the same columns 8 KB further on
    // (prefetch_ahead; for 2048 px rows: the next row of counts, the row after next of a
    // uint16 flat).
    unsigned any_slow = 0;
    constexpr std::size_t kRun = 256;
    for (std::size_t c0 = 0; c0 < w; c0 += kRun) {
      const std::size_t n = std::min(kRun, w - c0);
      for (std::size_t k = 0; k < n; k += 64 / sizeof(float)) prefetch_ahead(s + c0 + k);
      for (std::size_t k = 0; k < n; k += 64 / sizeof(Flat)) prefetch_ahead(f + c0 + k);
      any_slow |= ratio_row(s + c0, f + c0, dk + c0, n, saturation, q + c0, sl + c0);
    }
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
    log_row(q, o, w);
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
std::vector<std::size_t> od_all_frames(const OdInputs& in, std::size_t n, In frame_in, Out frame_out,
                                       Image<std::uint8_t>& flags, const ProgressSink& progress) {
  const std::size_t h = flags.height(), w = flags.width();
  // 16 rows of a 2048 px dark: 128 KB, in L2. Each frame's share of a band is then a 128 KB run
  // of counts (and 64 KB of a uint16 flat), long enough for the hardware prefetcher; with 4-row
  // bands (32 KB runs, 16 MB apart) the loads waited on memory: one thread took 0.78 s for a
  // 2048 x 2048 x 100 stack, 0.60-0.70 s with 16 rows.
  constexpr std::size_t kBandRows = 16;
  std::vector<std::size_t> invalid_per_energy(n, 0);
  std::mutex counts_mutex;
  const std::size_t group = std::max<std::size_t>(kBandRows, (h / 20 + kBandRows - 1) / kBandRows * kBandRows);
  for (std::size_t start = 0; start < h; start += group) {
    const std::size_t stop = std::min(h, start + group);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(start, stop, kBandRows), [&](const tbb::blocked_range<std::size_t>& rows) {
      RowScratch scratch{std::vector<float>(w), std::vector<float>(w),
                         std::vector<float>(in.raw.has_dark() ? 0 : w, 0.0f), std::vector<std::uint8_t>(w)};
      std::vector<std::size_t> invalid(n, 0);
      for (std::size_t e = 0; e < n; ++e)
        invalid[e] = std::visit(
            [&](const auto& flat) {
              return od_rows_typed(in, flat.data(), frame_in(e), frame_out(e), flags, rows.begin(), rows.end(), scratch);
            },
            in.raw.flat(e));
      const std::lock_guard<std::mutex> lock(counts_mutex);
      for (std::size_t e = 0; e < n; ++e) invalid_per_energy[e] += invalid[e];
    });
    report(progress, "optical density", stop, h);
  }
  return invalid_per_energy;
}

OpticalDensityResult finish(EnergyStack od, Image<std::uint8_t> flags, std::vector<std::size_t> invalid_per_energy) {
  OpticalDensityResult result{std::move(od), std::move(flags), 0, {}, std::move(invalid_per_energy)};
  for (const std::uint8_t f : result.flags.pixels()) {
    if (!f) continue;
    ++result.invalid_pixels;
    for (std::size_t i = 0; i < kAllOdFlags.size(); ++i)
      if (f & kAllOdFlags[i]) ++result.pixels_by_flag[i];
  }
  return result;
}

float saturation_level(const RawStack& raw, const OpticalDensityOptions& options) {
  const auto level = options.saturation_counts ? options.saturation_counts : raw.saturation_counts();
  return level ? static_cast<float>(*level) : std::numeric_limits<float>::infinity();
}

}  // namespace

OpticalDensityResult compute_optical_density(const RawStack& raw, const OpticalDensityOptions& options,
                                             const ProgressSink& progress) {
  options.validate();
  const EnergyStack& counts = raw.counts();
  const std::size_t n = counts.frame_count(), h = counts.height(), w = counts.width();
  const OdInputs in{raw, saturation_level(raw, options)};
  std::vector<float> od(n * h * w);
  Image<std::uint8_t> flags(h, w, 0);
  std::vector<std::size_t> invalid_per_energy = od_all_frames(
      in, n, [&](std::size_t e) { return counts.frame(e).data(); },
      [&](std::size_t e) { return od.data() + e * h * w; }, flags, progress);
  return finish(EnergyStack(counts.energies_ev(), h, w, std::move(od)), std::move(flags), std::move(invalid_per_energy));
}

OpticalDensityResult compute_optical_density(RawStack&& raw_in, const OpticalDensityOptions& options,
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
