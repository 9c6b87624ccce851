#include "harness/run/journal.h"

#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "common/hash.h"
#include "common/json.h"

namespace lmc {

namespace {

constexpr const char* kSchema = "lmc-bench/journal/1";

nlohmann::json entry_to_json(const JournalEntry& e) {
  return {{"dataset", e.dataset}, {"mode", e.mode},   {"compressors", e.compressors},
          {"first", e.first},     {"count", e.count}, {"partials", e.partials}};
}

JournalEntry entry_from_json(const nlohmann::json& j) {
  JournalEntry e;
  e.dataset = j.at("dataset").get<std::string>();
  e.mode = j.at("mode").get<std::string>();
  e.compressors = j.at("compressors").get<std::vector<std::string>>();
  e.first = integer_at<std::uint64_t>(j, "first");
  e.count = integer_at<std::uint64_t>(j, "count");
  e.partials = j.at("partials").get<std::vector<PartialResult>>();
  if (e.partials.size() != e.compressors.size()) {
    throw std::invalid_argument("partials and compressors differ in number");
  }
  return e;
}

std::string header_line(const std::string& fingerprint) {
  return nlohmann::json{{"journal", kSchema}, {"run", fingerprint}}.dump() + "\n";
}

// Opened for appending and locked: two runs writing one journal would record the same chunks
// twice, and the next resume would refuse it.
std::FILE* open_for_append(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    throw InputError(path.string() + ": cannot write the run journal: " + std::strerror(errno));
  }
  if (flock(fileno(file), LOCK_EX | LOCK_NB) != 0) {
    std::fclose(file);
    throw InputError(path.string() + ": another bench run is writing this journal (same --out); " +
                     "wait for it or choose another output folder");
  }
  return file;
}

void write_durably(std::FILE* file, const std::string& text, const std::filesystem::path& path) {
  if (std::fwrite(text.data(), 1, text.size(), file) != text.size() || std::fflush(file) != 0 ||
      fsync(fileno(file)) != 0) {
    throw std::runtime_error(path.string() +
                             ": writing the run journal failed: " + std::strerror(errno));
  }
}

}  // namespace

std::string run_fingerprint(const nlohmann::json& decisive) {
  return hex64(fnv1a64(decisive.dump()));  // nlohmann's objects are sorted: canonical
}

RunJournal::RunJournal(std::filesystem::path path, std::FILE* file)
    : path_(std::move(path)), file_(file) {}

RunJournal::RunJournal(RunJournal&& other) noexcept
    : path_(std::move(other.path_)),
      file_(std::exchange(other.file_, nullptr)),
      entries_(std::move(other.entries_)),
      dropped_lines_(other.dropped_lines_) {}

RunJournal::~RunJournal() {
  if (file_ != nullptr) std::fclose(file_);
}

std::string RunJournal::rank_file_name(int rank) {
  return "journal.rank-" + std::to_string(rank) + ".jsonl";
}

namespace {

bool is_journal_file(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  return name.starts_with("journal") && name.ends_with(".jsonl");
}

std::vector<std::filesystem::path> journal_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && is_journal_file(entry.path())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct JournalFile {
  std::vector<JournalEntry> entries;
  bool cut_last_line = false;      // dropped: a crash cut it short
  bool ends_with_newline = false;  // else the next append must not continue the last line
};

JournalFile read_journal_file(const std::filesystem::path& path, const std::string& fingerprint) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot read the run journal");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    lines.push_back(text.substr(at, end == std::string::npos ? std::string::npos : end - at));
    at = end == std::string::npos ? text.size() : end + 1;
  }
  const bool ends_with_newline = !text.empty() && text.back() == '\n';

  nlohmann::json header;
  try {
    header = parse_json(lines.empty() ? std::string() : lines[0], path.string());
  } catch (const nlohmann::json::exception&) {
  }
  // Compared as JSON values: value("journal", "") would throw a type error on a number there.
  if (!header.is_object() || header["journal"] != kSchema) {
    throw InputError(path.string() + ": not an lmc-bench run journal");
  }
  if (header["run"] != fingerprint) {
    const nlohmann::json& run = header["run"];
    throw InputError(path.string() + ": the journal belongs to another run (fingerprint " +
                     (run.is_string() ? run.get<std::string>() : run.dump()) +
                     ", this config gives " + fingerprint +
                     "): same config, overrides, --no-verify and build are needed to resume");
  }
  JournalFile file;
  file.ends_with_newline = ends_with_newline;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    try {
      file.entries.push_back(entry_from_json(parse_json(lines[i], path.string())));
    } catch (const std::exception& e) {
      // Only the last line can be cut short by a crash; damage elsewhere is not ours to guess at.
      if (i + 1 == lines.size() && !ends_with_newline) {
        file.cut_last_line = true;
        continue;
      }
      throw InputError(path.string() + ":" + std::to_string(i + 1) + ": damaged journal line (" +
                       e.what() + ")");
    }
  }
  return file;
}

}  // namespace

void RunJournal::refuse_unfinished_run(const std::filesystem::path& dir) {
  if (const auto files = journal_files(dir); !files.empty()) {
    throw InputError(files.front().string() +
                     ": an unfinished run left its journal here; pass --resume to continue it, "
                     "or delete the journal file(s) to start over");
  }
}

RunJournal RunJournal::start(const std::filesystem::path& dir, const std::string& fingerprint,
                             const std::string& file_name) {
  const auto path = dir / file_name;
  if (std::filesystem::exists(path)) refuse_unfinished_run(dir);
  RunJournal journal(path, open_for_append(path));
  write_durably(journal.file_, header_line(fingerprint), path);
  return journal;
}

RunJournal RunJournal::resume(const std::filesystem::path& dir, const std::string& fingerprint,
                              const std::string& file_name) {
  const auto files = journal_files(dir);
  if (files.empty()) {
    throw InputError((dir / kFileName).string() +
                     ": no journal to resume (the run finished, or never started in this "
                     "folder)");
  }
  const auto path = dir / file_name;
  std::vector<JournalEntry> entries;
  std::size_t dropped = 0;
  bool rewrite_own_file = false;
  std::string own_text;  // the own file as it must be: header and entries, each line ended
  for (const auto& file : files) {
    JournalFile read = read_journal_file(file, fingerprint);
    if (file == path && !read.ends_with_newline) {
      rewrite_own_file = true;
      own_text = header_line(fingerprint);
      for (const auto& entry : read.entries) own_text += entry_to_json(entry).dump() + "\n";
    }
    std::move(read.entries.begin(), read.entries.end(), std::back_inserter(entries));
    dropped += read.cut_last_line ? 1 : 0;
  }

  if (rewrite_own_file) {
    // Rewrite without a cut line and with a final newline, so appends start on a line of their
    // own. Written aside and renamed over: a crash meanwhile, or a process reading the file,
    // sees the old or the new file, whole.
    const auto temporary = path.string() + ".rewrite";
    std::FILE* file = std::fopen(temporary.c_str(), "w");
    if (file == nullptr) {
      throw InputError(temporary + ": cannot rewrite the run journal: " + std::strerror(errno));
    }
    write_durably(file, own_text, temporary);
    std::fclose(file);
    std::filesystem::rename(temporary, path);
  }
  const bool exists = std::filesystem::exists(path);
  RunJournal journal(path, open_for_append(path));
  if (!exists) write_durably(journal.file_, header_line(fingerprint), path);
  journal.entries_ = std::move(entries);
  journal.dropped_lines_ = dropped;
  return journal;
}

void RunJournal::remove_all(const std::filesystem::path& dir) {
  for (const auto& file : journal_files(dir)) {
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
  }
}

void RunJournal::append(const JournalEntry& entry) {
  const std::string line = entry_to_json(entry).dump() + "\n";
  std::lock_guard lock(mutex_);
  write_durably(file_, line, path_);
}

}  // namespace lmc
