// Progress reporting from library stages, and the begin/end events of the pipeline's stages.
// The library never prints: a stage calls the sink it was given, and the CLI renders the events
// on stderr; the benchmark times the stages from their events (core/pipeline.hpp).
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

enum class StagePhase { begin, end };

/// One stage of the pipeline starting or ending. `stage` is one of the names core/pipeline.hpp
/// lists (kMapStages); the events of one run come in order, begin then end, never nested.
struct StageEvent {
  std::string_view stage;
  StagePhase phase = StagePhase::begin;
};

/// May be empty. Called on the thread that runs the pipeline, right before a stage's first and
/// right after its last computation: an observer that reads a clock times the stage itself.
using StageObserver = std::function<void(const StageEvent&)>;

}  // namespace xanesmap
