#include "harness/report/report.h"

#include <gtest/gtest.h>

#include "harness/report/paper_reference.h"
#include "harness/report/result_sets.h"

namespace lmc {
namespace {

nlohmann::json row(const std::string& dataset, const std::string& compressor,
                   const std::string& mode, double raw, double adjusted, std::uint64_t chunks = 10,
                   const std::string& dataset_kind = "enwik", const std::string& kind = "gzip",
                   std::uint64_t parameters = 0) {
  return {{"dataset", dataset},
          {"compressor", compressor},
          {"mode", mode},
          {"chunk_size", 2048},
          {"chunks", chunks},
          {"raw_bytes", chunks * 2048},
          {"raw_rate", raw},
          {"adjusted_rate", adjusted},
          {"verified", true},
          {"dataset_kind", dataset_kind},
          {"compressor_kind", kind},
          {"parameters", parameters},
          {"note", ""}};
}

TEST(PaperReference, MapsKindsToTable1) {
  EXPECT_EQ(paper_column("enwik"), "enwik9");
  EXPECT_EQ(paper_column("librispeech"), "LibriSpeech");
  EXPECT_EQ(paper_row("flac-paper", 0), "FLAC");
  EXPECT_EQ(paper_row("lm", 856832), "Transformer 800K");
  EXPECT_EQ(paper_row("lm", 12345), std::nullopt);
  EXPECT_EQ(paper_row("zstd", 0), std::nullopt);
  EXPECT_EQ(paper_raw_rate("gzip", "chunked", "enwik9"), 48.1);
  EXPECT_EQ(paper_raw_rate("LZMA2", "unchunked", "ImageNet"), 57.9);
  EXPECT_EQ(paper_raw_rate("Transformer 3.2M", "chunked", "Random"), 224.0);
  EXPECT_EQ(paper_raw_rate("Transformer 3.2M", "unchunked", "Random"), std::nullopt);
}

TEST(Report, TablesShowThePaperAndTheDifference) {
  nlohmann::json rows = {row("enwik9", "gzip", "chunked", 48.25, 48.25),
                         row("enwik9", "gzip", "unchunked", 32.3, 32.3),
                         row("enwik9", "zstd", "chunked", 43.0, 43.0, 10, "enwik", "zstd")};
  annotate_with_paper(rows);
  const std::string md = table_markdown(rows, /*paper_columns=*/true);
  EXPECT_NE(md.find("| whole | gzip | 32.3 | 32.3 | 32.3 | +0.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2048 | gzip | 48.2 | 48.2 | 48.1 | +0.1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2048 | zstd | 43.0 | 43.0 | - | - |"), std::string::npos) << md;
  // "whole" rows come first, as in the paper.
  EXPECT_LT(md.find("| whole |"), md.find("| 2048 |"));
  const std::string csv = table_csv(rows);
  EXPECT_NE(csv.find("2048,gzip,enwik9,48.2500,48.2500,48.1,0.1500"), std::string::npos) << csv;
  EXPECT_NE(table_latex(rows, true).find("Raw & Adj. & Paper & Diff."), std::string::npos);
}

// A row as a run with repetitions writes it: the median with min and max, and peak memory.
nlohmann::json timed_row(const std::string& dataset, const std::string& compressor,
                         const std::string& mode) {
  nlohmann::json timed = row(dataset, compressor, mode, 50, 50);
  timed.update({{"seconds", 0.112},
                {"seconds_min", 0.0745},
                {"seconds_max", 0.126},
                {"decompress_seconds", 0.0000256},
                {"decompress_seconds_min", 0.000025},
                {"decompress_seconds_max", 0.0000301},
                {"repetitions", 3},
                {"mb_per_s", 182.857},
                {"peak_rss_bytes", 213'800'000},
                {"peak_rss_growth_bytes", 17'200'000}});
  return timed;
}

TEST(Report, TimeAndMemoryTableShowsTheSpreadAndDashesWhatARowLacks) {
  nlohmann::json old = row("b", "gzip", "chunked", 60, 60);  // written before repetitions
  old["seconds"] = 2.5;
  old["decompress_seconds"] = 0.5;
  old["mb_per_s"] = 8.192;
  nlohmann::json unmeasured = timed_row("a", "zstd", "unchunked");
  unmeasured["peak_rss_bytes"] = nullptr;
  unmeasured["peak_rss_growth_bytes"] = nullptr;
  unmeasured["repetitions"] = 1;
  const nlohmann::json rows = {timed_row("a", "gzip", "chunked"), unmeasured, old};
  const std::string md = table_markdown(rows);
  EXPECT_NE(md.find("| a | 2048 | gzip | 3 | 112 ms (74.5-126) | 25.6 us (25-30.1) | 183 | 213.8 "
                    "MB (+17.2 MB) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| a | whole | zstd | 1 | 112 ms | 25.6 us | 183 | - |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| b | 2048 | gzip | - | 2.5 s | 500 ms | 8.19 | - |"), std::string::npos)
      << md;
  const std::string tex = table_latex(rows);
  EXPECT_NE(tex.find("a & 2048 & gzip & 3 & 112 ms (74.5--126) & 25.6 us (25--30.1) & 183 & 213.8 "
                     "MB (+17.2 MB) \\\\"),
            std::string::npos)
      << tex;
  nlohmann::json full = timed_row("a", "gzip", "chunked");
  full.update({{"compressed_bytes", 10240.0},
               {"bits_per_byte", 4.0},
               {"verified_chunks", 10},
               {"output_bytes", 10430}});
  const std::string csv = results_csv(nlohmann::json::array({full}));
  EXPECT_NE(csv.find(",0.074500,0.126000,0.000025,0.000030,3,213800000,17200000\n"),
            std::string::npos)
      << csv;
}

TEST(ResultSets, LaterRunReplacesTheSameRow) {
  const nlohmann::json first = {
      {"rows", {row("a", "gzip", "chunked", 50, 50), row("a", "lzma2", "chunked", 51, 51)}}};
  const nlohmann::json second = {
      {"rows", {row("a", "gzip", "chunked", 49, 49), row("b", "gzip", "chunked", 70, 70)}}};
  const nlohmann::json merged = merge_rows({first, second});
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0]["raw_rate"], 49);  // replaced in place
  EXPECT_EQ(merged[1]["compressor"], "lzma2");
  EXPECT_EQ(merged[2]["dataset"], "b");
}

nlohmann::json results_of(nlohmann::json rows) {
  return {{"schema", "lmc-bench/results/1"}, {"rows", std::move(rows)}};
}

TEST(ResultSets, CompareIsExactByDefaultInBothDirections) {
  const nlohmann::json baseline =
      results_of({row("a", "gzip", "chunked", 50.0, 50.0), row("a", "lzma2", "chunked", 51.0, 51.0),
                  row("a", "png", "chunked", 80.0, 80.0), row("a", "flac", "chunked", 90.0, 90.0)});
  const nlohmann::json current =
      results_of({row("a", "gzip", "chunked", 50.0, 50.0),     // unchanged
                  row("a", "lzma2", "chunked", 51.001, 51.0),  // worse by 0.001
                  row("a", "flac", "chunked", 89.999, 90.0),   // better by 0.001: a change too
                  row("a", "zstd", "chunked", 43.0, 43.0)});   // new; png gone
  const Comparison c = compare_results(current, baseline);
  ASSERT_EQ(c.changed.size(), 2u);
  EXPECT_EQ(c.changed[0].row, "a / lzma2 / chunked");
  EXPECT_EQ(c.changed[0].field, "raw_rate");
  EXPECT_EQ(c.changed[0].baseline, "51.0");
  EXPECT_EQ(c.changed[0].current, "51.001");
  EXPECT_EQ(c.changed[1].row, "a / flac / chunked");
  EXPECT_EQ(c.missing, std::vector<std::string>{"a / png / chunked"});
  EXPECT_EQ(c.added, std::vector<std::string>{"a / zstd / chunked"});
  EXPECT_TRUE(c.regressed());
  const std::string text = describe(c);
  EXPECT_NE(text.find("CHANGED   a / flac / chunked: raw_rate 90.0 -> 89.999\n"), std::string::npos)
      << text;

  EXPECT_FALSE(compare_results(baseline, baseline).regressed());
  // Rates measured on other data are not comparable: flagged, not compared.
  const Comparison other = compare_results(results_of({row("a", "gzip", "chunked", 40, 40, 5)}),
                                           results_of({row("a", "gzip", "chunked", 50, 50, 10)}));
  EXPECT_EQ(other.other_data.size(), 1u);
  EXPECT_TRUE(other.changed.empty());
  EXPECT_TRUE(other.regressed());
}

// Seconds, their spread, the repetitions and the peak memory describe the machine and the run:
// reported, never gated, in both directions and whether one side lacks them or holds null.
TEST(ResultSets, SpreadRepetitionsAndMemoryAreNeverGated) {
  const nlohmann::json baseline = results_of({timed_row("a", "gzip", "chunked")});
  nlohmann::json other = timed_row("a", "gzip", "chunked");
  other.update({{"seconds", 0.5},
                {"seconds_min", 0.01},
                {"seconds_max", 9.0},
                {"decompress_seconds_max", 1.0},
                {"repetitions", 7},
                {"mb_per_s", 1.0},
                {"peak_rss_bytes", nullptr},
                {"peak_rss_growth_bytes", 5}});
  for (const auto& [current, before] :
       {std::pair{results_of({other}), baseline}, std::pair{baseline, results_of({other})},
        std::pair{baseline, results_of({row("a", "gzip", "chunked", 50, 50)})},
        std::pair{results_of({row("a", "gzip", "chunked", 50, 50)}), baseline}}) {
    const Comparison c = compare_results(current, before);
    EXPECT_TRUE(c.changed.empty()) << describe(c);
    EXPECT_FALSE(c.regressed()) << describe(c);
  }
  // A rate beside them still is.
  other["raw_rate"] = 50.5;
  const Comparison c = compare_results(results_of({other}), baseline);
  ASSERT_EQ(c.changed.size(), 1u) << describe(c);
  EXPECT_EQ(c.changed[0].field, "raw_rate");
  // Merging an older run's row with a newer one keeps each as written.
  const nlohmann::json merged =
      merge_rows({results_of({row("a", "gzip", "chunked", 50, 50)}), baseline});
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0]["repetitions"], 3);
}

TEST(ResultSets, ATolerancePassesSmallRateChangesEitherWayAndReportsThem) {
  const nlohmann::json baseline =
      results_of({row("a", "gzip", "chunked", 50.0, 50.0), row("a", "lzma2", "chunked", 51.0, 51.0),
                  row("a", "flac", "chunked", 90.0, 90.0)});
  const nlohmann::json current =
      results_of({row("a", "gzip", "chunked", 50.05, 50.0),   // within 0.1
                  row("a", "lzma2", "chunked", 51.3, 51.0),   // worse by more
                  row("a", "flac", "chunked", 89.8, 90.0)});  // better by more: fails too
  const CompareOptions approximate{0.1};
  const Comparison c = compare_results(current, baseline, approximate);
  ASSERT_EQ(c.within.size(), 1u);
  EXPECT_EQ(c.within[0].row, "a / gzip / chunked (raw_rate)");
  ASSERT_EQ(c.beyond.size(), 2u);
  EXPECT_EQ(c.beyond[0].row, "a / lzma2 / chunked (raw_rate)");
  EXPECT_EQ(c.beyond[1].row, "a / flac / chunked (raw_rate)");
  EXPECT_EQ(c.changed.size(), 3u);  // listed, not gated
  EXPECT_TRUE(c.regressed());
  const std::string text = describe(c, approximate);
  EXPECT_NE(text.find("BEYOND 0.100 a / flac / chunked (raw_rate): 90.000000 % -> 89.800000 %"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("within tolerance a / gzip / chunked (raw_rate): 50.000000 % -> 50.050000 %"),
            std::string::npos)
      << text;
  EXPECT_FALSE(compare_results(results_of({row("a", "gzip", "chunked", 50.05, 50.0)}),
                               results_of({row("a", "gzip", "chunked", 50.0, 50.0)}), approximate)
                   .regressed());
}

}  // namespace
}  // namespace lmc
