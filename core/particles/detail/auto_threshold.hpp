// The automatic edge-jump threshold of core/particles/segmentation: Otsu's split of a histogram of
// the finite values, then the background class's median + 4 robust standard deviations.
//
// Every figure here is an order statistic or a count, so it does not depend on the order in
// which pixels are visited: the passes over the map run in parallel (TBB) and give the same
// values on any number of threads.
#pragma once

#include <cstddef>
#include <limits>

#include "core/base/image.hpp"

namespace xanesmap {

struct AutomaticThreshold {
  double threshold =
      std::numeric_limits<double>::infinity();  // +inf: no finite values, or all equal
  double background_sigma = 0.0;  // 1.4826 x the background class's median absolute deviation
  double background_level = 0.0;  // the background class's median
};

/// Otsu's method (N. Otsu, IEEE Trans. Syst. Man Cybern. 9, 62 (1979)) on a 1024-bin histogram
/// of the finite values between their minimum and maximum, bin indices as the class values;
/// the background class is the values below Otsu's threshold; its "median" is its element of
/// rank size / 2 (0-based; what std::nth_element puts at size / 2), its robust sigma 1.4826 x
/// the element of the same rank of |x - median| (P. J. Rousseeuw & C. Croux, J. Am. Stat.
/// Assoc. 88, 1273 (1993)). threshold = min(Otsu, median + 4 sigma + one bin).
AutomaticThreshold automatic_threshold(ImageView<const float> values);

}  // namespace xanesmap
