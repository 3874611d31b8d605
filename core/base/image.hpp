// Owning 2-D images and explicit non-owning views.
//
// Conventions, used everywhere in xanesmap:
// - Axis order is (row, column) = (y, x). Storage is row-major: pixel (row, col) lives at
//   data[row * width + col] in an Image, at data[row * stride + col] in a view.
// - Pixel centres sit at integer continuous coordinates: pixel (row, col) covers
//   [row - 0.5, row + 0.5) x [col - 0.5, col + 0.5). A shift (dy, dx) = (+1, 0) moves content
//   one row down (towards larger row indices).
// - NaN in float images means "no value"; it is never silently replaced.
//
// Image<T> owns its pixels: copying an Image copies them. ImageView<T> never owns; it is made
// explicitly with `view()` and must not outlive the storage it points into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/base/bulk_buffer.hpp"

namespace xanesmap {

template <typename T>
class ImageView {
 public:
  ImageView() = default;
  ImageView(T* data, std::size_t height, std::size_t width, std::size_t stride)
      : data_(data), height_(height), width_(width), stride_(stride) {}
  ImageView(T* data, std::size_t height, std::size_t width)
      : ImageView(data, height, width, width) {}

  std::size_t height() const { return height_; }
  std::size_t width() const { return width_; }
  std::size_t stride() const { return stride_; }
  T* data() const { return data_; }
  T* row(std::size_t r) const { return data_ + r * stride_; }
  T& operator()(std::size_t r, std::size_t c) const { return data_[r * stride_ + c]; }

  /// A view on constant pixels (ImageView<T> converts implicitly to ImageView<const T>).
  operator ImageView<const T>() const { return {data_, height_, width_, stride_}; }

 private:
  T* data_ = nullptr;
  std::size_t height_ = 0;
  std::size_t width_ = 0;
  std::size_t stride_ = 0;
};

template <typename T>
class Image {
 public:
  Image() = default;
  Image(std::size_t height, std::size_t width, T fill = T{})
      : height_(height), width_(width), pixels_(height * width, fill) {}
  /// Takes ownership of `pixels`, which must hold height * width values in row-major order.
  Image(std::size_t height, std::size_t width, BulkVector<T> pixels)
      : height_(height), width_(width), pixels_(std::move(pixels)) {
    check_size();
  }
  /// Copies `pixels` (height * width values in row-major order).
  Image(std::size_t height, std::size_t width, const std::vector<T>& pixels)
      : height_(height), width_(width), pixels_(pixels.begin(), pixels.end()) {
    check_size();
  }
  /// Deep copy of a view.
  explicit Image(ImageView<const T> v) : height_(v.height()), width_(v.width()) {
    pixels_.reserve(height_ * width_);
    for (std::size_t r = 0; r < height_; ++r)
      pixels_.insert(pixels_.end(), v.row(r), v.row(r) + width_);
  }

  std::size_t height() const { return height_; }
  std::size_t width() const { return width_; }
  std::size_t size() const { return pixels_.size(); }
  bool empty() const { return pixels_.empty(); }
  T* data() { return pixels_.data(); }
  const T* data() const { return pixels_.data(); }
  T* row(std::size_t r) { return pixels_.data() + r * width_; }
  const T* row(std::size_t r) const { return pixels_.data() + r * width_; }
  T& operator()(std::size_t r, std::size_t c) { return pixels_[r * width_ + c]; }
  const T& operator()(std::size_t r, std::size_t c) const { return pixels_[r * width_ + c]; }
  std::span<T> pixels() { return pixels_; }
  std::span<const T> pixels() const { return pixels_; }

  ImageView<T> view() { return {pixels_.data(), height_, width_}; }
  ImageView<const T> view() const { return {pixels_.data(), height_, width_}; }

 private:
  void check_size() const {
    if (pixels_.size() != height_ * width_)
      throw std::invalid_argument("Image: " + std::to_string(pixels_.size()) +
                                  " pixels given for " + std::to_string(height_) + "x" +
                                  std::to_string(width_));
  }

  std::size_t height_ = 0;
  std::size_t width_ = 0;
  BulkVector<T> pixels_;
};

/// "HxW", the way every message in xanesmap writes an image size.
inline std::string size_text(std::size_t height, std::size_t width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

}  // namespace xanesmap
