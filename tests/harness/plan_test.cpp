// `bench run --plan`: every row timed on its first chunks and priced at the chunks it will run.
#include "harness/run/plan.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "common/error.h"
#include "harness/bench_cli.h"
#include "test_support.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream text(dir_.path() / "text.txt");
    for (int i = 0; text.tellp() < 2048 * 20; ++i) text << "<page>entry " << i << "</page>\n";
    config_json_ = {{"name", "planned"},
                    {"threads", 2},
                    {"datasets",
                     {{{"name", "text"},
                       {"kind", "enwik"},
                       {"path", (dir_.path() / "text.txt").string()},
                       {"num_chunks", 1000}},
                      {{"name", "random"}, {"kind", "random"}, {"num_chunks", 50}, {"seed", 1}}}},
                    {"compressors", {{{"name", "gzip"}}, {{"name", "lzma2"}, {"num_chunks", 8}}}}};
  }

  test::TempDir dir_;
  nlohmann::json config_json_;
};

TEST_F(PlanTest, PricesEveryRowAtTheChunksItWillRun) {
  const RunConfig config = parse_run_config(config_json_);
  const PreparedRun run = prepare_run(config);
  PlanOptions options;
  options.budget = {3, 10.0};
  const RunEstimate estimate = estimate_run(run, options);
  ASSERT_EQ(estimate.rows.size(), plan_rows(run).size());
  ASSERT_EQ(estimate.rows.size(), 2u * 2 * 2);  // datasets x modes x compressors
  double cpu = 0, longest_stream = 0;
  for (const RowEstimate& row : estimate.rows) {
    SCOPED_TRACE(row.dataset + " " + row.compressor + " " + std::string(to_string(row.mode)));
    const std::uint64_t dataset_chunks = row.dataset == "text" ? 20 : 50;  // text: 20 available
    EXPECT_EQ(row.chunks, row.compressor == "lzma2" ? 8 : dataset_chunks);
    EXPECT_EQ(row.calibrated_chunks, 3u);
    EXPECT_GT(row.seconds_per_chunk, 0);
    EXPECT_DOUBLE_EQ(row.cpu_seconds, row.seconds_per_chunk * row.chunks);
    EXPECT_GT(row.peak_rss_bytes, 0u);
    cpu += row.cpu_seconds;
    if (row.mode == Mode::Unchunked) longest_stream = std::max(longest_stream, row.cpu_seconds);
  }
  EXPECT_DOUBLE_EQ(estimate.cpu_seconds, cpu);
  EXPECT_DOUBLE_EQ(estimate.wall_seconds, std::max(cpu / 2, longest_stream));
  EXPECT_GE(estimate.peak_rss_bytes, estimate.base_rss_bytes);
  const std::string table = plan_table(estimate);
  EXPECT_NE(table.find("core-hours"), std::string::npos) << table;
  EXPECT_NE(table.find("random  "), std::string::npos) << table;
}

TEST_F(PlanTest, DeclaredCountsPriceASampleAsTheFullCorpus) {
  const RunConfig config = parse_run_config(config_json_);
  const PreparedRun run = prepare_run(config);
  PlanOptions options;
  options.declared_counts = true;
  options.processes = 4;
  options.budget = {1, 0.0};
  const RunEstimate estimate = estimate_run(run, options);
  const RowEstimate& text_gzip = estimate.rows.front();
  ASSERT_EQ(text_gzip.dataset, "text");
  EXPECT_EQ(text_gzip.chunks, 1000u);
  EXPECT_EQ(text_gzip.calibrated_chunks, 1u);
  EXPECT_NE(text_gzip.note.find("data holds 20 chunks: priced at the declared 1,000"),
            std::string::npos)
      << text_gzip.note;
  EXPECT_EQ(estimate.processes, 4u);
  EXPECT_NE(plan_summary(estimate).find("x 4 processes"), std::string::npos);
}

using test::CommandResult;
using test::run_bench;

TEST_F(PlanTest, CliPlanWritesNothingAndARunStartsWithTheEstimate) {
  const fs::path config = dir_.path() / "config.json";
  std::ofstream(config) << config_json_.dump();
  const fs::path out = dir_.path() / "out";
  auto result = run_bench("run " + config.string() + " --plan --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("core-hours"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("data holds 20 chunks"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(out));

  result = run_bench("run " + config.string() + " --no-figures --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("estimate: 8 rows"), std::string::npos) << result.output;
  result = run_bench("run " + config.string() + " --quiet --no-figures --out " +
                     (dir_.path() / "quiet").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.find("estimate"), std::string::npos) << result.output;
}

// A new user prices configs/paper.json before fetching anything: a missing dataset with a
// declared num_chunks is timed on random bytes and priced at that count, and the output says so.
TEST_F(PlanTest, CliPlanPricesMissingDataOnAStandIn) {
  config_json_["datasets"][0]["path"] = (dir_.path() / "absent").string();
  const fs::path config = dir_.path() / "config.json";
  std::ofstream(config) << config_json_.dump();
  const auto result = run_bench("run " + config.string() + " --plan");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("datasets[0].path: " + (dir_.path() / "absent").string() +
                               " not found: timed on 1000 chunks of random bytes"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("core-hours"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("text"), std::string::npos) << result.output;
}

TEST_F(PlanTest, CliPlanNamesMissingDataWithoutAChunkCount) {
  config_json_["datasets"][0]["path"] = (dir_.path() / "absent").string();
  config_json_["datasets"][0].erase("num_chunks");
  const fs::path config = dir_.path() / "config.json";
  std::ofstream(config) << config_json_.dump();
  const auto result = run_bench("run " + config.string() + " --plan");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("datasets[0].path"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("--plan"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace lmc
