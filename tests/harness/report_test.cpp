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
