#include "harness/fetch/http_download.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "common/human_format.h"

namespace lmc {

namespace fs = std::filesystem;

namespace {

struct CurlCleanup {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlHandle = std::unique_ptr<CURL, CurlCleanup>;

struct FileClose {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// curl_global_init is not thread-safe and must run before the first handle; once per process.
void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("libcurl: global initialisation failed");
    }
  });
}

// Progress of one file over every attempt: a redrawn bar on a terminal, a line every
// `interval` otherwise (CI logs stay short).
class ProgressMeter {
 public:
  ProgressMeter(const DownloadOptions& options, std::string name)
      : out_(options.progress),
        interactive_(options.interactive),
        interval_(options.interactive ? std::chrono::milliseconds(250) : options.line_interval),
        name_(std::move(name)),
        last_(std::chrono::steady_clock::now() - interval_) {}

  void update(std::uint64_t now, std::uint64_t total, bool final = false) {
    if (out_ == nullptr) return;
    const auto clock = std::chrono::steady_clock::now();
    if (!final && clock - last_ < interval_) return;
    last_ = clock;
    if (!counting_) {  // speed from the first report on: resumed bytes are not this run's
      counting_ = true;
      first_bytes_ = now;
      first_time_ = clock;
    }
    const double seconds = std::chrono::duration<double>(clock - first_time_).count();
    const double speed =
        seconds > 0 ? static_cast<double>(now - std::min(now, first_bytes_)) / seconds : 0;
    std::string line = name_ + "  ";
    if (total > 0) {
      const double fraction = std::min(1.0, static_cast<double>(now) / static_cast<double>(total));
      if (interactive_) {
        constexpr int kWidth = 24;
        std::string bar(static_cast<std::size_t>(fraction * kWidth), '#');
        bar.resize(kWidth, '.');
        line += "[" + bar + "] ";
      }
      char percent[16];
      std::snprintf(percent, sizeof percent, "%5.1f%%  ", 100 * fraction);
      line += percent + format_bytes(now) + " / " + format_bytes(total);
    } else {
      line += format_bytes(now);
    }
    if (speed > 0) {
      line += "  " + format_bytes(static_cast<std::uint64_t>(speed)) + "/s";
      if (total > now && !final) {
        line += "  ETA " + std::to_string(static_cast<long long>((total - now) / speed)) + "s";
      }
    }
    if (interactive_) {
      *out_ << "\r" << line << "   " << (final ? "\n" : "") << std::flush;
    } else {
      *out_ << line << "\n" << std::flush;
    }
  }

 private:
  std::ostream* out_;
  bool interactive_;
  std::chrono::milliseconds interval_;
  std::string name_;
  std::chrono::steady_clock::time_point last_, first_time_;
  std::uint64_t first_bytes_ = 0;
  bool counting_ = false;
};

struct Transfer {
  std::FILE* file = nullptr;
  std::uint64_t offset = 0;  // bytes already in the file when this attempt started
  std::uint64_t expected = 0;
  ProgressMeter* meter = nullptr;
  bool write_failed = false;
};

extern "C" size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (std::fwrite(data, 1, bytes, transfer->file) != bytes) {
    transfer->write_failed = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  return bytes;
}

extern "C" int report_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t,
                               curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::uint64_t whole =
      transfer->expected > 0
          ? transfer->expected
          : (total > 0 ? transfer->offset + static_cast<std::uint64_t>(total) : 0);
  transfer->meter->update(transfer->offset + static_cast<std::uint64_t>(now), whole);
  return 0;
}

enum class Outcome { Done, Retry, RetryAtOnce, Fail };

struct AttemptResult {
  Outcome outcome;
  std::string reason;
};

// HTTP statuses worth another try: the server may recover or ask us to slow down.
bool transient_status(long status) { return status >= 500 || status == 408 || status == 429; }

std::uint64_t size_of(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  return error ? 0 : size;
}

AttemptResult attempt(const std::string& url, const fs::path& part, const DownloadOptions& options,
                      ProgressMeter& meter) {
  std::uint64_t offset = size_of(part);
  if (options.expected_bytes > 0 && offset > options.expected_bytes) {
    fs::resize_file(part, 0);  // longer than the real file: not a prefix of it
    offset = 0;
  }
  if (options.expected_bytes > 0 && offset == options.expected_bytes) return {Outcome::Done, ""};
  std::unique_ptr<std::FILE, FileClose> file(std::fopen(part.c_str(), "ab"));
  if (!file) throw InputError(part.string() + ": cannot open for writing");

  CurlHandle curl(curl_easy_init());
  if (!curl) throw std::runtime_error("libcurl: cannot create a handle");
  Transfer transfer{file.get(), offset, options.expected_bytes, &meter};
  char error[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);  // an error page is never saved as data
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled connection (under 1 kB/s for a minute) counts as lost and is retried.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1000L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "lmc-bench (bench data fetch)");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, report_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  if (offset > 0) curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
  const CURLcode code = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  const bool flushed = std::fflush(file.get()) == 0;
  file.reset();
  if (transfer.write_failed || !flushed) {
    throw InputError(part.string() + ": cannot write (disk full?)");
  }
  const std::string reason = error[0] != '\0' ? std::string(error) : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OK:
      return {Outcome::Done, ""};
    case CURLE_RANGE_ERROR:
      // The server sent the whole file instead of the rest: start over.
      fs::resize_file(part, 0);
      return {Outcome::RetryAtOnce, "the server does not resume (" + reason + ")"};
    case CURLE_HTTP_RETURNED_ERROR:
      if (status == 416) {  // nothing left to send, or the partial file is not a prefix
        fs::resize_file(part, 0);
        return {Outcome::RetryAtOnce, "HTTP 416 for the rest of the partial file"};
      }
      return {transient_status(status) ? Outcome::Retry : Outcome::Fail,
              "HTTP " + std::to_string(status)};
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_HOST:  // no network on this machine: retrying will not help
    case CURLE_FILE_COULDNT_READ_FILE:
    case CURLE_REMOTE_FILE_NOT_FOUND:
    case CURLE_LOGIN_DENIED:
    case CURLE_PEER_FAILED_VERIFICATION:
      return {Outcome::Fail, reason};
    default:
      return {Outcome::Retry, reason};
  }
}

}  // namespace

void download_file(const std::string& url, const fs::path& part, const DownloadOptions& options) {
  init_curl();
  ProgressMeter meter(options, part.filename().string());
  auto delay = options.retry_delay;
  const int attempts = std::max(1, options.attempts);
  std::string last_reason;
  for (int i = 1; i <= attempts; ++i) {
    const AttemptResult result = attempt(url, part, options, meter);
    if (result.outcome == Outcome::Done) {
      const std::uint64_t size = size_of(part);
      meter.update(size, std::max(size, options.expected_bytes), /*final=*/true);
      return;
    }
    last_reason = result.reason;
    if (result.outcome == Outcome::Fail) {
      if (size_of(part) == 0) fs::remove(part);  // nothing to resume: leave no trace
      throw InputError("download of " + url + " failed: " + result.reason);
    }
    if (i == attempts) break;
    const std::uint64_t kept = size_of(part);
    options.log("download of " + url + ": " + result.reason + " (attempt " + std::to_string(i) +
                " of " + std::to_string(attempts) + "); " +
                (kept > 0 ? "resuming at " + format_bytes(kept) : std::string("retrying")) +
                (result.outcome == Outcome::Retry
                     ? " in " + std::to_string(delay.count() / 1000.0).substr(0, 4) + " s"
                     : std::string()));
    if (result.outcome == Outcome::Retry) {
      std::this_thread::sleep_for(delay);
      delay = std::min<std::chrono::milliseconds>(delay * 2, std::chrono::minutes(1));
    }
  }
  if (size_of(part) == 0) fs::remove(part);
  throw InputError("download of " + url + " failed after " + std::to_string(attempts) +
                   " attempts: " + last_reason +
                   (size_of(part) > 0 ? "; " + format_bytes(size_of(part)) + " kept in " +
                                            part.string() + ", which the same command resumes"
                                      : std::string()));
}

}  // namespace lmc
