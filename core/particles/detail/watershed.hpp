// The watershed split of touching particles (used by core/particles/segmentation): the pixels of a
// distance map in flooding order, the seeds (maxima of sufficient dynamic) and the flood.
//
// Conventions: `depth` is a row-major height x width map of distances (px) to the background,
// > 0 inside the objects and 0 outside (cv::distanceTransform's output); pixels are row-major
// indices r * width + c; neighbours are 8-connected.
#pragma once

#include <cstddef>
#include <vector>

namespace xanesmap {

/// The pixels with depth > 0, deepest first; equal depths in increasing pixel index (what
/// std::stable_sort with `depth[a] > depth[b]` gives). A stable LSD radix sort on the float
/// bits (positive floats order as their bit patterns): linear, not n log n.
std::vector<std::size_t> pixels_by_decreasing_depth(const float* depth, std::size_t pixels);

/// Seeds: one pixel per maximum of `depth` whose dynamic is >= min_dynamic_px, plus the highest
/// maximum of every object (see core/particles/segmentation.hpp). `order` as
/// pixels_by_decreasing_depth. Union-find over the pixels taken in that order.
std::vector<std::size_t> watershed_seeds(const float* depth, std::size_t height, std::size_t width,
                                         const std::vector<std::size_t>& order,
                                         double min_dynamic_px);

/// Floods the objects (depth > 0) from the seeds, deepest pixels first; among pixels of equal
/// depth, first queued, first flooded (a priority queue on (depth, queueing order)). Returns a
/// label per pixel: 1 + the index of the seed it was reached from, 0 outside the objects. A pixel
/// is queued once, by the first neighbour that reaches it. The queue is a bucket queue: one FIFO
/// per distinct depth (ranked from `order`), which pops in exactly the priority queue's order
/// in time linear in the pixels (plus the buckets skipped).
std::vector<int> flood_from_seeds(const float* depth, std::size_t height, std::size_t width,
                                  const std::vector<std::size_t>& order,
                                  const std::vector<std::size_t>& seeds);

}  // namespace xanesmap
