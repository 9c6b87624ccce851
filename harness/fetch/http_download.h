// Downloads over HTTP(S) (and file://) through libcurl, for `bench data fetch`: retries with
// back-off, resumes an interrupted transfer with a Range request, and shows progress on stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace lmc {

struct DownloadOptions {
  int attempts = 5;
  // Wait before the second attempt; doubled after each failure, capped at a minute.
  std::chrono::milliseconds retry_delay{2000};
  std::uint64_t expected_bytes = 0;  // 0: unknown; otherwise a longer partial file starts over
  std::ostream* progress = nullptr;  // nullptr: silent
  bool interactive = false;          // redraw one line (a terminal) instead of periodic lines
  std::chrono::milliseconds line_interval{10'000};  // for periodic lines
  std::function<void(const std::string&)> log = [](const std::string&) {};
};

// Downloads `url` into `part`. Bytes already in `part` (an earlier, interrupted attempt) are kept
// and the rest is asked for with a Range request; a server that ignores the range makes the file
// start over. Transient failures (connection lost or refused, timeouts, HTTP 5xx, 408, 429) are
// retried; the rest (HTTP 404, bad URL) fail at once. Throws InputError naming the URL and the
// reason; `part` is kept so that the same command resumes it.
void download_file(const std::string& url, const std::filesystem::path& part,
                   const DownloadOptions& options);

}  // namespace lmc
