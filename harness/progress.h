// Progress of a long run on stderr: a live bar (chunks done, MB/s, ETA) on a terminal, plain
// periodic lines when stderr is a file or a pipe (CI logs).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <thread>

#include "harness/runner.h"

namespace lmc {

class ConsoleProgress : public ProgressSink {
 public:
  // `interactive`: redraw one line in place; otherwise print a line every `line_interval`.
  ConsoleProgress(std::ostream& out, bool interactive,
                  std::chrono::milliseconds line_interval = std::chrono::seconds(10));
  ~ConsoleProgress() override;

  void start(std::uint64_t total_units, std::uint64_t total_bytes) override;
  void advance(std::uint64_t units, std::uint64_t bytes) override;
  void finish() override;

 private:
  void report_loop();
  void print(bool final);

  std::ostream& out_;
  const bool interactive_;
  const std::chrono::milliseconds interval_;
  std::uint64_t total_units_ = 0;
  std::uint64_t total_bytes_ = 0;
  std::atomic<std::uint64_t> units_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::chrono::steady_clock::time_point started_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread reporter_;
};

}  // namespace lmc
