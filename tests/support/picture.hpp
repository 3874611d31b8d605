// Test support: reading colours back from decoded PNG pictures.
#pragma once

#include <cstdlib>
#include <string>

#include "core/base/detail/opencv_headers.hpp"

namespace xanesmap::test {

struct Rgb {
  int r, g, b;
};

/// The picture's pixel at (row, col) as RGB (OpenCV stores BGR).
inline Rgb rgb_at(const cv::Mat& picture, int row, int col) {
  const cv::Vec3b p = picture.at<cv::Vec3b>(row, col);
  return {p[2], p[1], p[0]};
}

/// Every channel within `tolerance` levels.
inline bool near(const Rgb& a, const Rgb& b, int tolerance) {
  return std::abs(a.r - b.r) <= tolerance && std::abs(a.g - b.g) <= tolerance &&
         std::abs(a.b - b.b) <= tolerance;
}

inline std::string text(const Rgb& c) {
  return "RGB(" + std::to_string(c.r) + ", " + std::to_string(c.g) + ", " + std::to_string(c.b) +
         ")";
}

}  // namespace xanesmap::test
