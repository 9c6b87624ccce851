#include "harness/journal.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/error.h"

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
  e.first = j.at("first").get<std::uint64_t>();
  e.count = j.at("count").get<std::uint64_t>();
  e.partials = j.at("partials").get<std::vector<PartialResult>>();
  if (e.partials.size() != e.compressors.size()) {
    throw std::invalid_argument("partials and compressors differ in number");
  }
  return e;
}

std::string header_line(const std::string& fingerprint) {
  return nlohmann::json{{"journal", kSchema}, {"run", fingerprint}}.dump() + "\n";
}

std::FILE* open_for_append(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    throw InputError(path.string() + ": cannot write the run journal: " + std::strerror(errno));
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
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : decisive.dump()) {  // nlohmann's objects are sorted: canonical
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
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

RunJournal RunJournal::start(const std::filesystem::path& dir, const std::string& fingerprint) {
  const auto path = dir / kFileName;
  if (std::filesystem::exists(path)) {
    throw InputError(path.string() +
                     ": an unfinished run left its journal here; pass --resume to continue it, "
                     "or delete the file to start over");
  }
  RunJournal journal(path, open_for_append(path));
  write_durably(journal.file_, header_line(fingerprint), path);
  return journal;
}

RunJournal RunJournal::resume(const std::filesystem::path& dir, const std::string& fingerprint) {
  const auto path = dir / kFileName;
  std::ifstream in(path);
  if (!in) {
    throw InputError(path.string() +
                     ": no journal to resume (the run finished, or never "
                     "started in this folder)");
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const bool ends_with_newline = [&] {
    std::ifstream raw(path, std::ios::binary | std::ios::ate);
    if (raw.tellg() <= 0) return false;
    raw.seekg(-1, std::ios::end);
    return raw.get() == '\n';
  }();

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(lines.empty() ? std::string() : lines[0]);
  } catch (const nlohmann::json::exception&) {
  }
  if (!header.is_object() || header.value("journal", "") != kSchema) {
    throw InputError(path.string() + ": not an lmc-bench run journal");
  }
  if (header.value("run", "") != fingerprint) {
    throw InputError(path.string() + ": the journal belongs to another run (fingerprint " +
                     header.value("run", "?") + ", this config gives " + fingerprint +
                     "): same config, overrides and --no-verify are needed to resume");
  }

  std::vector<JournalEntry> entries;
  std::size_t dropped = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    try {
      entries.push_back(entry_from_json(nlohmann::json::parse(lines[i])));
    } catch (const std::exception& e) {
      // Only the last line can be cut short by a crash; damage elsewhere is not ours to guess at.
      if (i + 1 == lines.size() && !ends_with_newline) {
        ++dropped;
        continue;
      }
      throw InputError(path.string() + ":" + std::to_string(i + 1) + ": damaged journal line (" +
                       e.what() + ")");
    }
  }
  if (dropped > 0) {
    // Rewrite without the cut line, so appends start on a line of their own.
    std::string text = header_line(fingerprint);
    for (const auto& entry : entries) text += entry_to_json(entry).dump() + "\n";
    std::FILE* file = std::fopen(path.c_str(), "w");
    if (file == nullptr) {
      throw InputError(path.string() + ": cannot rewrite the run journal: " + std::strerror(errno));
    }
    RunJournal rewritten(path, file);
    write_durably(file, text, path);
    rewritten.entries_ = std::move(entries);
    rewritten.dropped_lines_ = dropped;
    return rewritten;
  }
  RunJournal journal(path, open_for_append(path));
  journal.entries_ = std::move(entries);
  return journal;
}

void RunJournal::append(const JournalEntry& entry) {
  const std::string line = entry_to_json(entry).dump() + "\n";
  std::lock_guard lock(mutex_);
  write_durably(file_, line, path_);
}

void RunJournal::remove() {
  std::lock_guard lock(mutex_);
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

}  // namespace lmc
