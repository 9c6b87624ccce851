// The regression gate on the committed demo results (results/quick, the CI baseline): every
// deterministic field of every row is checked exactly, in both directions, and so are the settings
// that decide the bytes; timings and the machine's own settings are reported, never gated.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "harness/report/result_sets.h"
#include "test_support.h"

namespace lmc {
namespace {

const nlohmann::json& quick_results() {
  static const nlohmann::json results = load_results(test::source_dir() / "results" / "quick");
  return results;
}

// The paths of the numeric leaves of a row, "counters.coded_bits" style.
void numeric_fields(const nlohmann::json& value, const std::string& prefix,
                    std::vector<std::string>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      numeric_fields(child, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else if (value.is_number()) {
    out.push_back(prefix);
  }
}

nlohmann::json::json_pointer pointer(const std::string& dotted) {
  std::string path = "/" + dotted;
  for (char& c : path)
    if (c == '.') c = '/';
  return nlohmann::json::json_pointer(path);
}

// Time, its spread and repetitions, and memory: they describe the machine and the run, not the
// bytes.
bool is_timing(const std::string& field) {
  for (const char* timing :
       {"seconds", "seconds_min", "seconds_max", "decompress_seconds", "decompress_seconds_min",
        "decompress_seconds_max", "mb_per_s", "repetitions", "peak_rss_bytes",
        "peak_rss_growth_bytes", "counters.ideal_bits", "counters.escape_bits"}) {
    if (field == timing) return true;
  }
  return false;
}

// Numbers that describe the machine, not the bytes: the lockstep width is measured where the run
// ran (models/transformer), so two machines may record different widths for the same bytes.
bool is_machine_setting(const std::string& field) { return field == "settings.decode_width"; }

TEST(CompareQuick, TheCommittedResultsPassAgainstThemselves) {
  const Comparison c = compare_results(quick_results(), quick_results());
  EXPECT_FALSE(c.regressed()) << describe(c);
  EXPECT_TRUE(c.changed.empty());
  EXPECT_EQ(c.timing.rows, quick_results()["rows"].size());
  ASSERT_GE(c.timing.rows, 70u);  // the demo's rows are all there to check
}

// Every number a row records that decides or counts bytes, moved by one either way, fails: a
// counting bug that shrinks sizes is a change too.
TEST(CompareQuick, OneUnitUpOrDownInAnyDeterministicFieldFails) {
  nlohmann::json mutated = quick_results();
  std::size_t checked = 0;
  for (std::size_t i = 0; i < mutated["rows"].size(); ++i) {
    std::vector<std::string> fields;
    numeric_fields(quick_results()["rows"][i], "", fields);
    for (const std::string& field : fields) {
      if (is_timing(field) || is_machine_setting(field)) continue;
      const auto where = pointer(field);
      const nlohmann::json original = quick_results()["rows"][i][where];
      for (const double step : {1.0, -1.0}) {
        mutated["rows"][i][where] = original.get<double>() + step;
        const Comparison c = compare_results(mutated, quick_results());
        EXPECT_TRUE(c.regressed()) << "row " << i << " " << field << " moved by " << step;
        ++checked;
      }
      mutated["rows"][i][where] = original;
    }
  }
  EXPECT_GT(checked, 76u * 2 * 10);  // at least ten fields per row: sizes, counts, rates
  EXPECT_FALSE(compare_results(mutated, quick_results()).regressed());  // all restored
}

std::size_t first_row_of_kind(const std::string& kind) {
  const auto& rows = quick_results()["rows"];
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i]["compressor_kind"] == kind) return i;
  throw std::runtime_error("results/quick has no " + kind + " row");
}

TEST(CompareQuick, ACompressedByteFewerNamesTheRowAndTheField) {
  nlohmann::json mutated = quick_results();
  nlohmann::json& row = mutated["rows"][first_row_of_kind("gzip")];
  const auto bytes = row["output_bytes"].get<std::uint64_t>();
  row["output_bytes"] = bytes - 1;
  const Comparison c = compare_results(mutated, quick_results());
  ASSERT_EQ(c.changed.size(), 1u);
  EXPECT_EQ(c.changed[0].row, row["dataset"].get<std::string>() + " / " +
                                  row["compressor"].get<std::string>() + " / " +
                                  row["mode"].get<std::string>());
  EXPECT_EQ(c.changed[0].field, "output_bytes");
  EXPECT_EQ(c.changed[0].baseline, std::to_string(bytes));
  EXPECT_EQ(c.changed[0].current, std::to_string(bytes - 1));
  EXPECT_TRUE(c.regressed());
}

TEST(CompareQuick, SettingsThatDecideTheBytesFail) {
  const std::size_t lm = first_row_of_kind("lm");
  const std::size_t gzip = first_row_of_kind("gzip");
  const std::vector<std::pair<std::string, nlohmann::json>> changes = {
      {"/rows/" + std::to_string(lm) + "/settings/model/checkpoint_fnv1a64", "0123456789abcdef"},
      {"/rows/" + std::to_string(lm) + "/settings/model/kv_cache", "int8"},
      {"/rows/" + std::to_string(lm) + "/settings/coder/cdf_bits", 31},
      {"/rows/" + std::to_string(gzip) + "/settings/level", 6},
      {"/rows/" + std::to_string(gzip) + "/settings/library_version", "1.3.1"},
      {"/run/libraries/zlib", "1.3.1"},
      {"/run/libraries/libsndfile", "libsndfile-1.2.2"},
  };
  for (const auto& [where, value] : changes) {
    nlohmann::json mutated = quick_results();
    mutated[nlohmann::json::json_pointer(where)] = value;
    const Comparison c = compare_results(mutated, quick_results());
    EXPECT_TRUE(c.regressed()) << where;
    ASSERT_EQ(c.changed.size(), 1u) << where;
    EXPECT_EQ(c.changed[0].current, value.dump()) << where;
  }
  // A setting that disappears is a change too.
  nlohmann::json mutated = quick_results();
  mutated["rows"][lm]["settings"]["model"].erase("kv_cache");
  const Comparison c = compare_results(mutated, quick_results());
  ASSERT_EQ(c.changed.size(), 1u);
  EXPECT_EQ(c.changed[0].field, "settings.model.kv_cache");
  EXPECT_EQ(c.changed[0].current, "(absent)");
}

// Another machine: other timings, kernel path, CPU, host and thread count give the same bytes.
TEST(CompareQuick, TimingsAndTheMachinePassButTimingsAreReported) {
  nlohmann::json mutated = quick_results();
  for (auto& row : mutated["rows"]) {
    row["seconds"] = row["seconds"].get<double>() * 3;
    row["seconds_min"] = row["seconds_min"].get<double>() * 2;
    row["seconds_max"] = row["seconds_max"].get<double>() * 4;
    row["decompress_seconds"] = row["decompress_seconds"].get<double>() * 2;
    row["decompress_seconds_min"] = row["decompress_seconds_min"].get<double>() / 2;
    row["decompress_seconds_max"] = row["decompress_seconds_max"].get<double>() * 5;
    row["repetitions"] = row["repetitions"].get<unsigned>() + 4;
    row["peak_rss_bytes"] = nullptr;  // a machine that cannot measure it
    row["peak_rss_growth_bytes"] = 12345;
    row["mb_per_s"] = row["mb_per_s"].get<double>() / 3;
    if (row["settings"].contains("model")) row["settings"]["model"]["kernels"] = "scalar";
    if (row["settings"].contains("decode_width")) row["settings"]["decode_width"] = 1;
  }
  mutated["run"]["host"] = "elsewhere";
  mutated["run"]["cpu"] = "Another CPU";
  mutated["run"]["threads"] = 64;
  mutated["run"]["libraries"]["nlohmann_json"] = "3.12.0";
  const Comparison c = compare_results(mutated, quick_results());
  EXPECT_FALSE(c.regressed()) << describe(c);
  EXPECT_TRUE(c.changed.empty());
  EXPECT_NEAR(c.timing.current_seconds, 3 * c.timing.baseline_seconds,
              1e-9 * c.timing.baseline_seconds);
  const std::string text = describe(c);
  EXPECT_NE(text.find("timing    (reported, not gated) compress seconds of 84 rows"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(+200.0 %)"), std::string::npos) << text;
}

// A baseline written before the spread and the memory were recorded: the fields one side lacks
// are not changes, and the rows are still compared exactly.
TEST(CompareQuick, ABaselineWithoutSpreadOrMemoryStillComparesExactly) {
  nlohmann::json old = quick_results();
  for (auto& row : old["rows"]) {
    for (const char* field :
         {"seconds_min", "seconds_max", "decompress_seconds_min", "decompress_seconds_max",
          "repetitions", "peak_rss_bytes", "peak_rss_growth_bytes"}) {
      ASSERT_TRUE(row.contains(field)) << field;
      row.erase(field);
    }
  }
  Comparison c = compare_results(quick_results(), old);
  EXPECT_FALSE(c.regressed()) << describe(c);
  EXPECT_TRUE(c.changed.empty()) << describe(c);
  c = compare_results(old, quick_results());
  EXPECT_FALSE(c.regressed()) << describe(c);

  nlohmann::json current = quick_results();
  current["rows"][first_row_of_kind("copy")]["output_bytes"] = 1;
  c = compare_results(current, old);
  ASSERT_EQ(c.changed.size(), 1u) << describe(c);
  EXPECT_EQ(c.changed[0].field, "output_bytes");
}

// The copy row is the harness's ceiling: output = input, rate 100 % exactly, on every dataset and
// in both modes, verified.
TEST(CompareQuick, TheCopyRowsCodeNothing) {
  std::size_t copies = 0;
  for (const auto& row : quick_results()["rows"]) {
    if (row["compressor_kind"] != "copy") continue;
    ++copies;
    EXPECT_EQ(row["output_bytes"], row["raw_bytes"]) << row.dump();
    EXPECT_EQ(row["raw_rate"].get<double>(), 100.0) << row.dump();
    EXPECT_EQ(row["header_bytes"], 0) << row.dump();
    EXPECT_EQ(row["verified_chunks"], row["chunks"]) << row.dump();
    EXPECT_EQ(row["repetitions"], 3) << row.dump();
    EXPECT_GT(row["mb_per_s"].get<double>(), 0) << row.dump();
  }
  EXPECT_EQ(copies, 8u);  // 4 datasets x 2 modes
}

// The command itself, as .ci/run calls it, on a mutated copy written to a folder.
TEST(CompareQuick, TheCommandExitsFourOnAChangeAndZeroOnTheSameBytes) {
  const std::string baseline = (test::source_dir() / "results" / "quick").string();
  test::TempDir dir;
  const auto write = [&](const nlohmann::json& results) {
    std::ofstream(dir.path() / "results.json") << results.dump(1);
  };
  auto result = test::run_bench("compare " + baseline + " " + baseline);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("OK: 0 changed fields"), std::string::npos) << result.output;

  nlohmann::json mutated = quick_results();
  nlohmann::json& row = mutated["rows"][first_row_of_kind("lzma2")];
  const auto bytes = row["compressed_bytes"].get<double>();
  row["compressed_bytes"] = bytes + 1;
  write(mutated);
  result = test::run_bench("compare " + dir.path().string() + " " + baseline);
  EXPECT_EQ(result.exit_code, 4) << result.output;
  const std::string line = "CHANGED   " + row["dataset"].get<std::string>() + " / lzma2 / " +
                           row["mode"].get<std::string>() + ": compressed_bytes " +
                           nlohmann::json(bytes).dump() + " -> " + nlohmann::json(bytes + 1).dump();
  EXPECT_NE(result.output.find(line), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("FAIL: 1 changed fields"), std::string::npos) << result.output;

  // The same byte under an explicit tolerance, its rate moved by far less than 0.1 points: passes,
  // and says so.
  const auto rate = row["raw_rate"].get<double>();
  row["raw_rate"] = rate + 0.0001;
  write(mutated);
  result = test::run_bench("compare " + dir.path().string() + " " + baseline + " --tolerance 0.1");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("within tolerance"), std::string::npos) << result.output;

  row["compressed_bytes"] = bytes;
  row["raw_rate"] = rate;
  for (auto& each : mutated["rows"]) each["seconds"] = each["seconds"].get<double>() * 2;
  write(mutated);
  result = test::run_bench("compare " + dir.path().string() + " " + baseline);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("(+100.0 %)"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace lmc
