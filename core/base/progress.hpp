// Progress reporting from library stages. The library never prints: a stage calls the sink
// it was given, and the CLI renders the events on stderr.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace xanesmap {

struct ProgressEvent {
  std::string_view stage;  // e.g. "optical density"
  std::size_t done = 0;    // units finished so far
  std::size_t total = 0;   // units in the stage (frames, rows...)
};

/// May be empty (no reporting). Called from the thread that runs the stage, never concurrently.
using ProgressSink = std::function<void(const ProgressEvent&)>;

inline void report(const ProgressSink& sink, std::string_view stage, std::size_t done,
                   std::size_t total) {
  if (sink) sink(ProgressEvent{stage, done, total});
}

}  // namespace xanesmap
