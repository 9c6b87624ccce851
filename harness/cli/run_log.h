// The log of a long command (run, incontext, samples): each line on stderr and, stamped with the
// time, in a log file of its output folder.
#pragma once

#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>

#include "harness/report/provenance.h"

namespace lmc {

class RunLog {
 public:
  void open(const std::filesystem::path& path) { file_.open(path, std::ios::app); }
  void operator()(const std::string& line) {
    std::lock_guard lock(mutex_);
    const std::string stamped = utc_timestamp() + " " + line + "\n";
    std::cerr << line << '\n';
    if (file_) file_ << stamped << std::flush;
  }

 private:
  std::mutex mutex_;
  std::ofstream file_;
};

}  // namespace lmc
