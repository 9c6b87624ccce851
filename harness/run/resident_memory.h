// The resident memory of this process (Linux: /proc/self/status), and windows of work whose peak
// is measured: the kernel's high-water mark VmHWM, reset at the window's start (writing "5" to
// /proc/self/clear_refs, Linux 4.0+) and read at its end.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>

namespace lmc {

// Resident set of this process now and its peak since the last reset; 0 where unknown.
std::uint64_t resident_bytes();
std::uint64_t peak_resident_bytes();
// Starts a new peak (VmHWM becomes VmRSS). False where the kernel does not allow it; the peak
// then covers the whole life of the process.
bool reset_peak_resident();
// Hands the heap memory freed so far back to the system (glibc's malloc_trim), so that the
// resident set is what the process holds, not what earlier work left in the allocator's caches.
void return_free_heap();

// What a measured window saw.
struct WindowPeak {
  std::uint64_t peak_bytes = 0;    // the process's peak resident set during the window
  std::uint64_t growth_bytes = 0;  // how far it rose above the resident set at the start
};

// The windows of work of one run in this process (docs/PROTOCOL.md section 9). The peak resident
// set belongs to the whole process, so a window measures the work in it only when nothing else
// runs. The first window of each row in the process is measured: it waits for the windows in
// flight to end and holds new ones off until it ends, returns the free heap to the system, resets
// the peak, runs, and reads the peak. Every other window runs side by side with the others,
// unmeasured. The peak includes everything the process holds at that moment (the harness, the
// data, every loaded model, the code of the libraries run so far); the growth is the row's own.
class MemoryWindows {
 public:
  // Checks that this process can reset its peak.
  MemoryWindows();
  MemoryWindows(const MemoryWindows&) = delete;
  MemoryWindows& operator=(const MemoryWindows&) = delete;

  // False where the peak cannot be reset (/proc/self/clear_refs not writable, not Linux):
  // nothing is measured, and rows record no peak rather than a wrong one.
  bool available() const { return available_; }
  // What a row's peak_rss_bytes covers, in words (results.json run.peak_rss), or why it is null.
  std::string method() const;

  // Runs `work` as one window of the row named `row`; returns what it measured if it was the
  // row's first window (and available()), else zeros.
  template <typename Work>
  WindowPeak run(const std::string& row, Work&& work) {
    const Entry entry(*this, row);
    if (!entry.alone()) {
      work();
      return {};
    }
    return_free_heap();
    reset_peak_resident();
    const std::uint64_t start = resident_bytes();
    work();
    const std::uint64_t peak = peak_resident_bytes();
    return {peak, peak > start ? peak - start : 0};
  }

 private:
  // Inside a window from construction to destruction (also when the work throws).
  class Entry {
   public:
    Entry(MemoryWindows& windows, const std::string& row);
    ~Entry();
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    bool alone() const { return alone_; }

   private:
    MemoryWindows& windows_;
    bool alone_ = false;
  };

  bool available_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> measured_rows_;
  unsigned side_by_side_ = 0;  // unmeasured windows in flight
  unsigned alone_waiting_ = 0;
  bool alone_running_ = false;
};

}  // namespace lmc
