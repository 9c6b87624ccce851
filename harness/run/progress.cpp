#include "harness/run/progress.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace lmc {

ConsoleProgress::ConsoleProgress(std::ostream& out, bool interactive,
                                 std::chrono::milliseconds line_interval)
    : out_(out),
      interactive_(interactive),
      interval_(interactive ? std::chrono::milliseconds(250) : line_interval) {}

std::optional<TimeLeft> estimate_time_left(std::span<const LaneProgress> lanes,
                                           double elapsed_wall_seconds) {
  double observed_seconds = 0;
  bool observed = false;
  for (const LaneProgress& lane : lanes) {
    observed_seconds += lane.seconds;
    observed = observed || lane.done > 0;
  }
  if (!observed || elapsed_wall_seconds <= 0) return std::nullopt;
  TimeLeft left;
  double cpu_seconds_left = 0;
  for (const LaneProgress& lane : lanes) {
    const std::uint64_t remaining = lane.total - std::min(lane.done, lane.total);
    if (remaining == 0) continue;
    if (lane.done == 0) {
      left.complete = false;
      continue;
    }
    cpu_seconds_left +=
        static_cast<double>(remaining) * lane.seconds / static_cast<double>(lane.done);
  }
  // Idle or waiting threads do not speed up what is left: never assume less than one core.
  const double parallelism = std::max(1.0, observed_seconds / elapsed_wall_seconds);
  left.seconds = cpu_seconds_left / parallelism;
  return left;
}

ConsoleProgress::~ConsoleProgress() { finish(); }

void ConsoleProgress::start(std::span<const std::uint64_t> lane_units, std::uint64_t total_bytes) {
  lanes_.clear();
  total_units_ = 0;
  for (std::uint64_t units : lane_units) {
    lanes_.push_back({units, 0, 0});
    total_units_ += units;
  }
  total_bytes_ = total_bytes;
  started_ = std::chrono::steady_clock::now();
  reporter_ = std::thread([this] { report_loop(); });
}

void ConsoleProgress::advance(std::size_t lane, std::uint64_t units, std::uint64_t bytes,
                              double seconds) {
  std::lock_guard lock(mutex_);
  units_ += units;
  bytes_ += bytes;
  if (lane < lanes_.size()) {
    lanes_[lane].done += units;
    lanes_[lane].seconds += seconds;
  }
}

void ConsoleProgress::finish() {
  {
    std::lock_guard lock(mutex_);
    if (done_ || !reporter_.joinable()) return;
    done_ = true;
  }
  wake_.notify_all();
  reporter_.join();
  print(/*final=*/true);
}

void ConsoleProgress::report_loop() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return done_; })) {
    lock.unlock();
    print(/*final=*/false);
    lock.lock();
  }
}

void ConsoleProgress::print(bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  std::uint64_t units = 0, bytes = 0;
  std::optional<TimeLeft> left;
  {
    std::lock_guard lock(mutex_);
    units = units_;
    bytes = bytes_;
    left = estimate_time_left(lanes_, elapsed);
  }
  const double fraction = total_units_ ? static_cast<double>(units) / total_units_ : 1.0;
  const double mb_per_s = elapsed > 0 ? bytes / elapsed / 1e6 : 0.0;
  char time_text[64];
  if (final) {
    std::snprintf(time_text, sizeof time_text, "%s %.0fs", interactive_ ? "took" : "elapsed",
                  elapsed);
  } else if (!left) {
    std::snprintf(time_text, sizeof time_text, "ETA ?");
  } else {
    // "ETA >40s": some compressor has not finished a chunk yet, so its share is not counted.
    std::snprintf(time_text, sizeof time_text, "ETA %s%.0fs", left->complete ? "" : ">",
                  left->seconds);
  }
  char line[200];
  if (interactive_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::snprintf(line, sizeof line, "\r[%s] %5.1f%%  %llu/%llu chunk evaluations  %.1f MB/s  %s ",
                  bar.c_str(), 100 * fraction, static_cast<unsigned long long>(units),
                  static_cast<unsigned long long>(total_units_), mb_per_s, time_text);
    out_ << line << (final ? "\n" : "") << std::flush;
  } else {
    std::snprintf(line, sizeof line,
                  "progress: %5.1f%%  %llu/%llu chunk evaluations  %.1f MB/s  %s\n", 100 * fraction,
                  static_cast<unsigned long long>(units),
                  static_cast<unsigned long long>(total_units_), mb_per_s, time_text);
    out_ << line << std::flush;
  }
}

}  // namespace lmc
