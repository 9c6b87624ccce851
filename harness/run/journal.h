// A run's journal (OUT/journal.jsonl): one JSON line per finished piece of work (a range of
// chunks through a group of compressors, or a whole unchunked stream), appended and flushed to
// disk as it finishes. A crash, a kill or Ctrl-C loses only the pieces in flight; `bench run
// --resume` merges the journal's partial results and evaluates only what is missing. Partial
// results merge exactly (accounting.h), so a resumed run's totals equal an uninterrupted run's.
//
// The first line names the run: a fingerprint of everything that decides the numbers (the
// config after overrides, verification, the chunk counts), so a journal is never merged into
// another run.
//
// Under MPI each rank writes its own file (journal.rank-R.jsonl) and a resumed run reads them
// all, whatever its number of ranks: the pieces say which chunks they cover, not who ran them.
#pragma once

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "harness/run/accounting.h"

namespace lmc {

struct JournalEntry {
  std::string dataset;
  std::string mode;                      // "chunked" | "unchunked"
  std::vector<std::string> compressors;  // the rows this piece covers, one partial each
  std::uint64_t first = 0;               // chunks [first, first + count)
  std::uint64_t count = 0;
  std::vector<PartialResult> partials;
};

class RunJournal {
 public:
  static constexpr const char* kFileName = "journal.jsonl";
  // The file of one MPI rank.
  static std::string rank_file_name(int rank);

  // InputError if `dir` holds any journal: that run is unfinished, and starting over would
  // throw its work away unless the user says so.
  static void refuse_unfinished_run(const std::filesystem::path& dir);
  // Starts the journal `file_name` in `dir` (after refuse_unfinished_run).
  static RunJournal start(const std::filesystem::path& dir, const std::string& fingerprint,
                          const std::string& file_name = kFileName);
  // Continues a run from every journal in `dir`, appending to `file_name` (created if absent).
  // InputError if there is none or one belongs to another run. A last line cut short by a
  // crash is dropped (its piece runs again).
  static RunJournal resume(const std::filesystem::path& dir, const std::string& fingerprint,
                           const std::string& file_name = kFileName);
  // Every journal in `dir`, for when the results are written.
  static void remove_all(const std::filesystem::path& dir);

  RunJournal(RunJournal&&) noexcept;
  RunJournal& operator=(RunJournal&&) = delete;
  ~RunJournal();

  const std::vector<JournalEntry>& entries() const { return entries_; }
  std::size_t dropped_lines() const { return dropped_lines_; }
  const std::filesystem::path& path() const { return path_; }

  // Thread-safe; the line is on disk (fsync) when this returns.
  void append(const JournalEntry& entry);

 private:
  RunJournal(std::filesystem::path path, std::FILE* file);

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::mutex mutex_;
  std::vector<JournalEntry> entries_;
  std::size_t dropped_lines_ = 0;
};

// The fingerprint of a run: FNV-1a 64 over the canonical JSON of what decides its numbers.
std::string run_fingerprint(const nlohmann::json& decisive);

}  // namespace lmc
