#include "harness/run/resident_memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <fstream>
#include <string>

namespace lmc {

namespace {

std::uint64_t status_field(const char* field) {
  std::ifstream status("/proc/self/status");
  const std::string prefix = std::string(field) + ":";
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size())) * 1024;  // kB
  }
  return 0;
}

}  // namespace

std::uint64_t resident_bytes() { return status_field("VmRSS"); }
std::uint64_t peak_resident_bytes() { return status_field("VmHWM"); }

bool reset_peak_resident() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

void return_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

MemoryWindows::MemoryWindows() : available_(reset_peak_resident() && peak_resident_bytes() > 0) {}

std::string MemoryWindows::method() const {
  if (!available_) {
    return "not measured: this process cannot reset its peak resident set "
           "(/proc/self/clear_refs is not writable here)";
  }
  return "the process's peak resident set (VmHWM) in the row's first window of work (its first "
         "group of chunks, or its stream's first pass), run alone after the free heap went back "
         "to the system; growth: above the resident set at the window's start";
}

// A measuring window waits for the windows in flight; while it waits, new ones wait behind it,
// so a steady flow of unmeasured windows cannot starve it.
MemoryWindows::Entry::Entry(MemoryWindows& windows, const std::string& row) : windows_(windows) {
  std::unique_lock lock(windows_.mutex_);
  alone_ = windows_.available_ && windows_.measured_rows_.insert(row).second;
  if (alone_) {
    ++windows_.alone_waiting_;
    windows_.changed_.wait(lock,
                           [&] { return windows_.side_by_side_ == 0 && !windows_.alone_running_; });
    --windows_.alone_waiting_;
    windows_.alone_running_ = true;
  } else {
    windows_.changed_.wait(
        lock, [&] { return windows_.alone_waiting_ == 0 && !windows_.alone_running_; });
    ++windows_.side_by_side_;
  }
}

MemoryWindows::Entry::~Entry() {
  {
    std::lock_guard lock(windows_.mutex_);
    if (alone_) {
      windows_.alone_running_ = false;
    } else {
      --windows_.side_by_side_;
    }
  }
  windows_.changed_.notify_all();
}

}  // namespace lmc
