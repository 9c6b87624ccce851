// Progress of a long run on stderr: a live bar (chunks done, MB/s, ETA) on a terminal, plain
// periodic lines when stderr is a file or a pipe (CI logs).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <ostream>
#include <span>
#include <thread>
#include <vector>

#include "harness/run/runner.h"

namespace lmc {

struct LaneProgress {
  std::uint64_t total = 0;  // units the lane will report
  std::uint64_t done = 0;
  double seconds = 0;  // CPU seconds the done units took
};

struct TimeLeft {
  double seconds = 0;
  // False while a lane with work left has no finished unit yet: its cost is unknown (a language
  // model's chunk can cost 10^5 gzip chunks), so `seconds` counts it as free and is a lower bound.
  bool complete = true;
};

// Wall seconds left: each lane's remaining units at that lane's own CPU seconds per unit, divided
// by the parallelism seen so far (CPU seconds per wall second, at least 1). nullopt before any
// unit has finished.
std::optional<TimeLeft> estimate_time_left(std::span<const LaneProgress> lanes,
                                           double elapsed_wall_seconds);

class ConsoleProgress : public ProgressSink {
 public:
  // `interactive`: redraw one line in place; otherwise print a line every `line_interval`.
  ConsoleProgress(std::ostream& out, bool interactive,
                  std::chrono::milliseconds line_interval = std::chrono::seconds(10));
  ~ConsoleProgress() override;

  void start(std::span<const std::uint64_t> lane_units, std::uint64_t total_bytes) override;
  void advance(std::size_t lane, std::uint64_t units, std::uint64_t bytes, double seconds) override;
  void finish() override;

 private:
  void report_loop();
  void print(bool final);

  std::ostream& out_;
  const bool interactive_;
  const std::chrono::milliseconds interval_;
  std::uint64_t total_units_ = 0;
  std::uint64_t total_bytes_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::mutex mutex_;  // guards lanes_, units_, bytes_, done_
  std::vector<LaneProgress> lanes_;
  std::uint64_t units_ = 0;
  std::uint64_t bytes_ = 0;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread reporter_;
};

}  // namespace lmc
