// Deterministic random numbers for the simulator: the same seed gives the same stack on any
// platform and standard library (std::*_distribution outputs are implementation-defined, so
// the distributions are implemented here).
//
// Generator: xoshiro256** (D. Blackman & S. Vigna, "Scrambled linear pseudorandom number
// generators", ACM Trans. Math. Softw. 47, 36 (2021)), seeded through splitmix64.
// Normal deviates: Box-Muller (G. E. P. Box & M. E. Muller, Ann. Math. Stat. 29, 610 (1958)).
// Poisson deviates: multiplication method below a mean of 10, transformed rejection with
// squeeze (PTRS) above (W. Hoermann, Insurance: Math. Econ. 12, 39 (1993)).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>

namespace xanesmap {

class Random {
 public:
  /// A stream keyed by several integers (e.g. seed, frame, row): streams with different keys
  /// are independent for all practical purposes.
  explicit Random(std::initializer_list<std::uint64_t> key);

  std::uint64_t next_u64();
  double uniform();                      // [0, 1)
  double uniform(double lo, double hi);  // [lo, hi)
  double normal();                       // mean 0, standard deviation 1
  double normal(double mean, double sigma);
  std::uint64_t poisson(double mean);  // mean >= 0

 private:
  std::array<std::uint64_t, 4> s_{};
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace xanesmap
