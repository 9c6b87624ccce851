#include "harness/progress.h"

#include <cstdio>
#include <string>

namespace lmc {

ConsoleProgress::ConsoleProgress(std::ostream& out, bool interactive,
                                 std::chrono::milliseconds line_interval)
    : out_(out),
      interactive_(interactive),
      interval_(interactive ? std::chrono::milliseconds(250) : line_interval) {}

ConsoleProgress::~ConsoleProgress() { finish(); }

void ConsoleProgress::start(std::uint64_t total_units, std::uint64_t total_bytes) {
  total_units_ = total_units;
  total_bytes_ = total_bytes;
  started_ = std::chrono::steady_clock::now();
  reporter_ = std::thread([this] { report_loop(); });
}

void ConsoleProgress::advance(std::uint64_t units, std::uint64_t bytes) {
  units_.fetch_add(units, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
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
  const std::uint64_t units = units_.load();
  const std::uint64_t bytes = bytes_.load();
  const double fraction = total_units_ ? static_cast<double>(units) / total_units_ : 1.0;
  const double mb_per_s = elapsed > 0 ? bytes / elapsed / 1e6 : 0.0;
  const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0.0;
  char line[200];
  if (interactive_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::snprintf(line, sizeof line,
                  "\r[%s] %5.1f%%  %llu/%llu chunk evaluations  %.1f MB/s  %s %.0fs ", bar.c_str(),
                  100 * fraction, static_cast<unsigned long long>(units),
                  static_cast<unsigned long long>(total_units_), mb_per_s, final ? "took" : "ETA",
                  final ? elapsed : eta);
    out_ << line << (final ? "\n" : "") << std::flush;
  } else {
    std::snprintf(line, sizeof line,
                  "progress: %5.1f%%  %llu/%llu chunk evaluations  %.1f MB/s  %s %.0fs\n",
                  100 * fraction, static_cast<unsigned long long>(units),
                  static_cast<unsigned long long>(total_units_), mb_per_s,
                  final ? "elapsed" : "ETA", final ? elapsed : eta);
    out_ << line << std::flush;
  }
}

}  // namespace lmc
