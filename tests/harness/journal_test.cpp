// The run journal: a line per finished piece, on disk as soon as it is appended; only the run
// that wrote it may resume it; a line cut short by a crash is dropped, other damage is an error.
#include "harness/run/journal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "common/error.h"
#include "test_support.h"

namespace lmc {
namespace {

JournalEntry piece(std::uint64_t first, std::uint64_t count) {
  PartialResult partial;
  partial.chunks = count;
  partial.raw_bytes = count * 2048;
  partial.compressed_bytes = count * 1000;
  partial.counters["ideal_bits"] = 12.5;
  return {"enwik", "chunked", {"gzip"}, first, count, {partial}};
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(Journal, AppendedPiecesComeBackOnResume) {
  test::TempDir dir;
  {
    RunJournal journal = RunJournal::start(dir.path(), "abc");
    journal.append(piece(0, 10));
    journal.append(piece(10, 5));
    // On disk already, before the journal is closed: the header and two pieces.
    const std::string text = read_all(dir.path() / "journal.jsonl");
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  }
  RunJournal journal = RunJournal::resume(dir.path(), "abc");
  ASSERT_EQ(journal.entries().size(), 2u);
  const JournalEntry& second = journal.entries()[1];
  EXPECT_EQ(second.first, 10u);
  EXPECT_EQ(second.count, 5u);
  EXPECT_EQ(second.compressors, std::vector<std::string>{"gzip"});
  EXPECT_EQ(second.partials[0].compressed_bytes, 5000u);
  EXPECT_EQ(second.partials[0].counters.at("ideal_bits"), 12.5);
  journal.append(piece(15, 1));  // resumed journals keep growing
  RunJournal::remove_all(dir.path());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "journal.jsonl"));
}

TEST(Journal, AnUnfinishedRunIsNotOverwrittenAndOnlyItsOwnRunResumes) {
  test::TempDir dir;
  { RunJournal::start(dir.path(), "abc").append(piece(0, 1)); }
  EXPECT_THROW(RunJournal::start(dir.path(), "abc"), InputError);
  try {
    RunJournal::resume(dir.path(), "other");
    FAIL() << "resumed another run's journal";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to another run"), std::string::npos);
  }
  test::TempDir empty;
  EXPECT_THROW(RunJournal::resume(empty.path(), "abc"), InputError);
}

TEST(Journal, ALineCutShortByACrashIsDropped) {
  test::TempDir dir;
  { RunJournal::start(dir.path(), "abc").append(piece(0, 10)); }
  {
    std::ofstream out(dir.path() / "journal.jsonl", std::ios::app);
    out << R"({"dataset": "enwik", "mode": "chunked", "compr)";  // no newline: the crash
  }
  {
    RunJournal journal = RunJournal::resume(dir.path(), "abc");
    EXPECT_EQ(journal.entries().size(), 1u);
    EXPECT_EQ(journal.dropped_lines(), 1u);
    journal.append(piece(10, 10));
    // While this run holds the journal, no other may write it.
    EXPECT_THROW(RunJournal::resume(dir.path(), "abc"), InputError);
  }
  RunJournal again = RunJournal::resume(dir.path(), "abc");
  EXPECT_EQ(again.entries().size(), 2u);
  EXPECT_EQ(again.dropped_lines(), 0u);
}

TEST(Journal, ACompleteLastLineWithoutNewlineIsKeptAndAppendsStartANewLine) {
  test::TempDir dir;
  { RunJournal::start(dir.path(), "abc").append(piece(0, 10)); }
  std::string text = read_all(dir.path() / "journal.jsonl");
  text.pop_back();  // the newline of the last entry never reached the disk
  std::ofstream(dir.path() / "journal.jsonl", std::ios::binary) << text;
  {
    RunJournal journal = RunJournal::resume(dir.path(), "abc");
    EXPECT_EQ(journal.entries().size(), 1u);
    EXPECT_EQ(journal.dropped_lines(), 0u);
    journal.append(piece(10, 10));
  }
  EXPECT_EQ(RunJournal::resume(dir.path(), "abc").entries().size(), 2u);
}

TEST(Journal, RanksWriteTheirOwnFilesAndAResumeReadsThemAll) {
  test::TempDir dir;
  {
    RunJournal rank0 = RunJournal::start(dir.path(), "abc", RunJournal::rank_file_name(0));
    RunJournal rank1 = RunJournal::start(dir.path(), "abc", RunJournal::rank_file_name(1));
    rank0.append(piece(0, 10));
    rank1.append(piece(10, 10));
    rank1.append(piece(20, 10));
  }
  EXPECT_THROW(RunJournal::refuse_unfinished_run(dir.path()), InputError);
  {
    // Resumed by one process: it reads both and appends to its own file.
    RunJournal single = RunJournal::resume(dir.path(), "abc");
    EXPECT_EQ(single.entries().size(), 3u);
  }
  RunJournal::remove_all(dir.path());
  EXPECT_NO_THROW(RunJournal::refuse_unfinished_run(dir.path()));
}

TEST(Journal, DamageInsideTheJournalIsAnErrorNamingTheLine) {
  test::TempDir dir;
  {
    RunJournal journal = RunJournal::start(dir.path(), "abc");
    journal.append(piece(0, 10));
  }
  {
    std::ofstream out(dir.path() / "journal.jsonl", std::ios::app);
    out << "garbage\n";
  }
  // A complete line (it ends in a newline) that does not parse is not a crash's doing.
  try {
    RunJournal::resume(dir.path(), "abc");
    FAIL() << "accepted a damaged line";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("journal.jsonl:3: damaged journal line"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lmc
