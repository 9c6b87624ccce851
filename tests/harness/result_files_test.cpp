// results.json and journal.jsonl with valid JSON of the wrong types: each must be an InputError
// naming the file (exit 2), not a JSON type error from deep inside report, compare or resume
// (exit 1, no file named). Needs no libtorch, so the sanitizer build (scripts/sanitize.sh) runs
// it too.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/error.h"
#include "harness/report/result_sets.h"
#include "harness/run/journal.h"
#include "test_support.h"

namespace lmc {
namespace {

std::string results_with_row(const std::string& row) {
  return R"({"schema": "lmc-bench/results/1", "rows": [)" + row + "]}";
}

const char* const kGoodRow =
    R"({"dataset": "enwik", "compressor": "gzip", "mode": "chunked", "chunk_size": 2048,)"
    R"( "raw_rate": 38.5, "adjusted_rate": 38.5, "chunks": 4, "verified": true})";

void expect_input_error(const std::string& text, const std::string& fragment) {
  try {
    parse_results(text, "crafted/results.json");
    ADD_FAILURE() << "accepted " << text;
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("crafted/results.json: "), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
  }
}

TEST(ResultFiles, AWellFormedRowIsRead) {
  const auto results = parse_results(results_with_row(kGoodRow), "good/results.json");
  EXPECT_EQ(merge_rows({results, results}).size(), 1u);
  EXPECT_FALSE(compare_results(results, results).regressed());
}

// Each of these reached nlohmann's get<>() or value() in merge_rows / compare_results / report as a
// type_error.
TEST(ResultFiles, RowValuesOfTheWrongTypeAreInputErrors) {
  expect_input_error(results_with_row(R"({"dataset": 5, "compressor": "gzip", "mode": "chunked",)"
                                      R"( "chunk_size": 2048, "raw_rate": 1, "adjusted_rate": 1})"),
                     "a row's \"dataset\" has the wrong type: 5");
  std::string row = kGoodRow;
  expect_input_error(
      results_with_row(row.replace(row.find("\"chunks\": 4"), 11, "\"chunks\": \"4\"")),
      "\"chunks\" has the wrong type");
  row = kGoodRow;
  expect_input_error(results_with_row(row.replace(row.find("true"), 4, "1")),
                     "\"verified\" has the wrong type");
  expect_input_error(results_with_row("[]"), "a row is not a JSON object");
  expect_input_error(results_with_row(R"({"dataset": "e", "compressor": "g", "mode": "chunked",)"
                                      R"( "raw_rate": 1, "adjusted_rate": 1})"),
                     "a chunked row lacks \"chunk_size\"");
  expect_input_error(R"({"schema": 1, "rows": []})", "not an lmc-bench result");
}

// The spread and the memory the tables read: numbers, a count, and null for a peak not measured.
TEST(ResultFiles, TimingAndMemoryFieldsAreTypeChecked) {
  const std::string timed = std::string(kGoodRow).substr(0, std::string(kGoodRow).size() - 1) +
                            R"(, "seconds": 0.5, "seconds_min": 0.25, "seconds_max": 0.75,)"
                            R"( "repetitions": 3, "peak_rss_bytes": null,)"
                            R"( "peak_rss_growth_bytes": 4096})";
  const auto results = parse_results(results_with_row(timed), "timed/results.json");
  EXPECT_TRUE(results["rows"][0]["peak_rss_bytes"].is_null());
  for (const auto& [field, bad] : std::vector<std::pair<std::string, std::string>>{
           {"\"seconds_min\": 0.25", "\"seconds_min\": \"fast\""},
           {"\"repetitions\": 3", "\"repetitions\": -3"},
           {"\"repetitions\": 3", "\"repetitions\": 2.5"},
           {"\"peak_rss_bytes\": null", "\"peak_rss_bytes\": -1"},
           {"\"peak_rss_growth_bytes\": 4096", "\"peak_rss_growth_bytes\": \"4 kB\""}}) {
    std::string row = timed;
    row.replace(row.find(field), field.size(), bad);
    expect_input_error(results_with_row(row), "has the wrong type");
  }
}

// value("journal", "") threw a type error when the header held a number there.
TEST(ResultFiles, JournalHeaderOfTheWrongTypesIsAnInputError) {
  for (const char* header :
       {R"({"journal": 1, "run": "abc"})", R"({"journal": "lmc-bench/journal/1", "run": 7})"}) {
    test::TempDir dir;
    std::ofstream(dir.path() / "journal.jsonl") << header << "\n";
    try {
      RunJournal::resume(dir.path(), "abc");
      ADD_FAILURE() << "resumed a journal with header " << header;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("journal.jsonl"), std::string::npos) << e.what();
    }
  }
}

// A piece's chunk range of 1e300 reached get<std::uint64_t>(), a float-to-integer cast out of
// range (undefined behaviour: UBSan aborts).
TEST(ResultFiles, JournalCountThatIsAHugeFloatIsAnInputError) {
  test::TempDir dir;
  std::ofstream(dir.path() / "journal.jsonl")
      << R"({"journal": "lmc-bench/journal/1", "run": "abc"})"
         "\n"
      << R"({"dataset": "enwik", "mode": "chunked", "compressors": ["gzip"], "first": 1e300,)"
      << R"( "count": 4, "partials": [{"chunks": 4, "raw_bytes": 8192, "compressed_bytes": 3000,)"
      << R"( "verified_chunks": 4, "compress_seconds": 0.5, "decompress_seconds": 0.25,)"
      << R"( "counters": {}}]})"
         "\n";
  try {
    RunJournal::resume(dir.path(), "abc");
    ADD_FAILURE() << "resumed a piece starting at chunk 1e300";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "journal.jsonl:2: damaged journal line (first: not a count: 1e+300)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lmc
