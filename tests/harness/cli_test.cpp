// End-to-end tests of the `bench` program: exit codes, output files, error messages.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/bench_cli.h"
#include "harness/run/resident_memory.h"
#include "test_support.h"

namespace lmc {
namespace {

using test::CommandResult;
using test::run_bench;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A tiny corpus: a text file of 5.5 chunks and a seeded random dataset.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream text(dir_.path() / "text.txt");
    for (int i = 0; text.tellp() < 2048 * 5 + 1024; ++i) {
      text << "<page><title>Entry " << i << "</title><text>The quick brown fox jumps over the "
           << "lazy dog " << i * 7 << " times.</text></page>\n";
    }
    config_ = {
        {"name", "tiny"},
        {"datasets",
         {{{"name", "text"}, {"kind", "enwik"}, {"path", (dir_.path() / "text.txt").string()}},
          {{"name", "random"}, {"kind", "random"}, {"num_chunks", 200}, {"seed", 3}}}},
        {"compressors", {{{"name", "gzip"}}, {{"name", "lzma2"}}, {{"name", "png"}}}}};
  }

  std::string write_config(const nlohmann::json& config) {
    const auto path = dir_.path() / "config.json";
    std::ofstream(path) << config.dump(2);
    return path.string();
  }

  test::TempDir dir_;
  nlohmann::json config_;
};

TEST_F(CliTest, RunWritesEveryResultFile) {
  const auto out = dir_.path() / "out";
  const auto result = run_bench("run " + write_config(config_) + " --out " + out.string() +
                                " --set datasets[1].num_chunks=100");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* file : {"results.json", "results.csv", "table.md", "table.tex", "run.log"}) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  }
  const auto results = nlohmann::json::parse(read_text(out / "results.json"));
  ASSERT_EQ(results["rows"].size(), 2u * 3 * 2);                   // datasets x compressors x modes
  EXPECT_EQ(results["config"]["datasets"][1]["num_chunks"], 100);  // the override applied
  EXPECT_FALSE(results["run"]["git_revision"].get<std::string>().empty());
  EXPECT_TRUE(results["run"]["libraries"].contains("zlib"));
  for (const auto& row : results["rows"]) {
    EXPECT_EQ(row["verified_chunks"], row["chunks"]) << row.dump();
    if (row["dataset"] == "text") {
      EXPECT_EQ(row["chunks"], 5);  // partial chunk dropped
    }
  }
  // Random bytes, chunked: the paper's 100.1 % for gzip (header counted once).
  for (const auto& row : results["rows"]) {
    if (row["dataset"] == "random" && row["compressor"] == "gzip" && row["mode"] == "chunked") {
      EXPECT_NEAR(row["raw_rate"].get<double>(), 100.1, 0.05);
    }
  }
  const std::string csv = read_text(out / "results.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "dataset,compressor,mode,chunk_size,chunks,raw_bytes,compressed_bytes,raw_rate,"
            "adjusted_rate,bits_per_byte,seconds,verified_chunks,decompress_seconds,mb_per_s,"
            "parameters,output_bytes,note,seconds_min,seconds_max,decompress_seconds_min,"
            "decompress_seconds_max,repetitions,peak_rss_bytes,peak_rss_growth_bytes");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 13);
  const std::string table = read_text(out / "table.md");
  EXPECT_NE(table.find("| whole | gzip |"), std::string::npos) << table;
  EXPECT_NE(table.find("| 2048 | png |"), std::string::npos) << table;
  EXPECT_NE(read_text(out / "table.tex").find("\\toprule"), std::string::npos);
}

// Every row is timed over its repetitions (the classical codecs' default: 3, or --repetitions) and
// records the median with min and max, and the process's peak memory while its first window ran
// (unless the config says "peak_memory": false).
TEST_F(CliTest, RowsRecordTheSpreadOfTheirSecondsAndTheirPeakMemory) {
  const bool measurable = MemoryWindows().available();
  if (!measurable && test::running_under_ci()) {
    FAIL() << "/proc/self/clear_refs is not writable: no peak memory (CI=true: must be measured)";
  }
  config_["compressors"].push_back({{"name", "copy"}});
  config_["compressors"][1]["repetitions"] = 2;  // lzma2
  for (const std::string options : {"", " --repetitions 4", " --set peak_memory=false"}) {
    const bool four = options == " --repetitions 4";
    const bool measured = measurable && options != " --set peak_memory=false";
    const auto out = dir_.path() / ("out" + std::to_string(options.size()));
    const auto result = run_bench("run " + write_config(config_) + " --out " + out.string() +
                                  " --set datasets[1].num_chunks=20 --quiet" + options);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto results = nlohmann::json::parse(read_text(out / "results.json"));
    ASSERT_EQ(results["rows"].size(), 2u * 4 * 2);
    EXPECT_EQ(results["run"]["peak_rss"].get<std::string>().starts_with("not measured"), !measured);
    EXPECT_GT(results["run"]["base_rss_bytes"].get<std::uint64_t>(), 1'000'000u);
    for (const auto& row : results["rows"]) {
      const unsigned expected = four ? 4 : row["compressor"] == "lzma2" ? 2 : 3;
      EXPECT_EQ(row["repetitions"], expected) << row.dump();
      EXPECT_GT(row["seconds_min"].get<double>(), 0) << row.dump();
      EXPECT_LE(row["seconds_min"].get<double>(), row["seconds"].get<double>()) << row.dump();
      EXPECT_LE(row["seconds"].get<double>(), row["seconds_max"].get<double>()) << row.dump();
      EXPECT_LE(row["decompress_seconds_min"].get<double>(),
                row["decompress_seconds"].get<double>());
      EXPECT_LE(row["decompress_seconds"].get<double>(),
                row["decompress_seconds_max"].get<double>());
      EXPECT_EQ(row["verified_chunks"], row["chunks"]) << row.dump();  // once, not per pass
      if (measured) {
        EXPECT_GT(row["peak_rss_bytes"].get<std::uint64_t>(), 1'000'000u) << row.dump();
        EXPECT_LE(row["peak_rss_growth_bytes"].get<std::uint64_t>(),
                  row["peak_rss_bytes"].get<std::uint64_t>());
      } else {
        EXPECT_TRUE(row["peak_rss_bytes"].is_null()) << row.dump();
      }
      if (row["compressor"] == "copy") {
        EXPECT_EQ(row["output_bytes"], row["raw_bytes"]);
        EXPECT_EQ(row["raw_rate"].get<double>(), 100.0);
      }
    }
    const std::string table = read_text(out / "table.md");
    EXPECT_NE(table.find("| dataset | chunk | compressor | repetitions | compress | decompress | "
                         "MB/s | peak RSS |"),
              std::string::npos)
        << table;
    EXPECT_NE(
        table.find(four ? "| random | whole | copy | 4 | " : "| random | whole | copy | 3 | "),
        std::string::npos)
        << table;
  }
}

TEST_F(CliTest, FewerChunksThanRequestedIsReported) {
  config_["datasets"][0]["num_chunks"] = 50;
  const auto out = dir_.path() / "out";
  const auto result = run_bench("run " + write_config(config_) + " --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("only 5 available of the 50 requested"), std::string::npos)
      << result.output;
  const auto results = nlohmann::json::parse(read_text(out / "results.json"));
  EXPECT_EQ(results["rows"][0]["note"], "dataset has only 5 of the 50 chunks requested");
}

TEST_F(CliTest, MissingDataFailsBeforeAnyOutput) {
  config_["datasets"][0]["path"] = (dir_.path() / "no-such-file").string();
  const auto out = dir_.path() / "out";
  const auto result = run_bench("run " + write_config(config_) + " --out " + out.string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("datasets[0].path: "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("no-such-file"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// A crafted config nested 200,000 levels deep used to overflow the stack (SIGSEGV).
TEST_F(CliTest, DeeplyNestedConfigIsAnInputError) {
  const auto path = dir_.path() / "deep.json";
  std::ofstream(path) << "{\"name\": " << std::string(200000, '[') << std::string(200000, ']')
                      << "}";
  const auto out = dir_.path() / "out";
  const auto result = run_bench("run " + path.string() + " --out " + out.string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("deep.json: JSON nested deeper than 256 levels"), std::string::npos)
      << result.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  // The same document inside results.json: `bench report` refuses it the same way.
  std::filesystem::create_directories(out);
  std::filesystem::copy_file(path, out / "results.json");
  const auto report = run_bench("report " + out.string());
  EXPECT_EQ(report.exit_code, 2) << report.output;
  EXPECT_NE(report.output.find("nested deeper"), std::string::npos) << report.output;
}

TEST_F(CliTest, ResumeNeedsTheJournalOfTheSameRun) {
  const auto out = dir_.path() / "out";
  const std::string config = write_config(config_);
  // Nothing to resume in a fresh folder.
  auto result = run_bench("run " + config + " --out " + out.string() + " --resume");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("no journal to resume"), std::string::npos) << result.output;

  // A finished run leaves no journal behind.
  result = run_bench("run " + config + " --out " + out.string() + " --quiet --no-figures");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_FALSE(std::filesystem::exists(out / "journal.jsonl"));

  // An unfinished run's journal (here: one written by hand) is neither overwritten nor merged
  // into a run with other settings; the run that wrote it resumes and completes.
  std::ofstream(out / "journal.jsonl") << R"({"journal":"lmc-bench/journal/1","run":"0"})"
                                       << "\n";
  result = run_bench("run " + config + " --out " + out.string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("pass --resume to continue it"), std::string::npos) << result.output;
  result = run_bench("run " + config + " --out " + out.string() + " --resume");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("belongs to another run"), std::string::npos) << result.output;

  // Repetitions decide no byte: a run resumes with other ones (the fingerprint is the same),
  // while a setting that decides the bytes makes it another run.
  const auto fingerprint = [&](const std::string& options) {
    const auto refused =
        run_bench("run " + config + " --out " + out.string() + " --resume " + options);
    const std::string marker = "this config gives ";
    const auto at = refused.output.find(marker);
    return at == std::string::npos ? refused.output : refused.output.substr(at + marker.size(), 16);
  };
  const std::string plain = fingerprint("");
  EXPECT_EQ(plain.size(), 16u) << plain;
  EXPECT_EQ(fingerprint("--repetitions 2"), plain);
  EXPECT_EQ(fingerprint("--set repetitions=5 --set compressors[1].repetitions=7"), plain);
  EXPECT_EQ(fingerprint("--set peak_memory=false"), plain);
  EXPECT_NE(fingerprint("--set compressors[0].level=6"), plain);
}

TEST_F(CliTest, InContextWritesCurvesForEveryDatasetAndCompressor) {
  const auto out = dir_.path() / "ic";
  auto result = run_bench("incontext " + write_config(config_) + " --chunks 3 --out " +
                          out.string() + " --quiet --no-figures");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto curves = nlohmann::json::parse(read_text(out / "in_context.json"));
  ASSERT_EQ(curves["curves"].size(), 2u * 3);  // datasets x compressors
  const auto& gzip_text = curves["curves"][0];
  EXPECT_EQ(gzip_text["compressor"], "gzip");
  EXPECT_EQ(gzip_text["chunks"], 3);
  EXPECT_EQ(gzip_text["points"][0]["bytes"], 1);
  EXPECT_EQ(gzip_text["points"][0]["rate"], 2100.0);  // one byte: 21 bytes of gzip
  EXPECT_LT(gzip_text["points"].back()["rate"].get<double>(), 50.0);
  // Each curve records its compressor's settings, as a results.json row does.
  EXPECT_EQ(gzip_text["settings"]["level"], 9) << gzip_text.dump();
  EXPECT_NE(result.output.find("| text | gzip | 3 |"), std::string::npos) << result.output;
  EXPECT_TRUE(std::filesystem::exists(out / "in_context.csv"));

  result = run_bench("incontext " + write_config(config_) + " --chunks 0");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("--chunks: must be at least 1"), std::string::npos);
}

TEST_F(CliTest, GenerateSamplesFromACompressor) {
  const auto prompt = dir_.path() / "prompt.txt";
  std::ofstream(prompt) << "to be or not to be, to be or not to be, to be or not";
  auto result = run_bench("generate --compressor gzip --prompt-file " + prompt.string() +
                          " --prompt-bytes 45 --tokens 12");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // 45 bytes of prompt, then 12 greedy bytes that carry on the repetition.
  EXPECT_EQ(result.output, "to be or not to be, to be or not to be, to be or not to b\n");

  result = run_bench("generate --compressor nosuch --prompt x");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("unknown compressor \"nosuch\""), std::string::npos);
  result = run_bench("generate --prompt x");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("give --model or --compressor"), std::string::npos);
  result = run_bench("generate --compressor gzip --model m.bin --prompt x");
  EXPECT_EQ(result.exit_code, 2);  // one or the other
}

TEST_F(CliTest, BadConfigNamesTheKey) {
  config_["chunk_size"] = 0;
  auto result =
      run_bench("run " + write_config(config_) + " --out " + (dir_.path() / "o").string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("chunk_size: expected a positive integer"), std::string::npos)
      << result.output;

  result = run_bench("run " + write_config(config_) + " --set datasets[7].seed=1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("datasets[7] does not exist"), std::string::npos) << result.output;

  result = run_bench("run " + (dir_.path() / "absent.json").string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("absent.json: cannot open config file"), std::string::npos);

  config_.erase("chunk_size");
  config_["datasets"][1].erase("num_chunks");
  result = run_bench("run " + write_config(config_));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("datasets[1].num_chunks: required"), std::string::npos)
      << result.output;
}

TEST(Cli, ListAndVersion) {
  auto result = run_bench("list");
  EXPECT_EQ(result.exit_code, 0);
  for (const char* name : {"gzip", "lzma2", "png", "flac", "flac-paper", "zstd", "brotli", "bzip2",
                           "enwik", "imagenet", "librispeech", "random"}) {
    EXPECT_NE(result.output.find(std::string("  ") + name), std::string::npos) << name;
  }
  EXPECT_NE(result.output.find("\"num_chunks\": cap"), std::string::npos);
  EXPECT_NE(result.output.find("  copy: no compression, the harness's throughput ceiling"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("(the paper's gzip baseline) [3 repetitions by default]"),
            std::string::npos);
  EXPECT_NE(result.output.find("[1 repetition by default]"), std::string::npos);  // lm, flac
  result = run_bench("--version");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.output.find("bench (lmc-bench) 0.1.0"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("zlib 1."), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("liblzma 5."), std::string::npos) << result.output;

  result = run_bench("frobnicate");
  EXPECT_EQ(result.exit_code, 2);
}

}  // namespace
}  // namespace lmc

namespace lmc {
namespace {

TEST(Cli, GenerateContinuesAPromptGreedily) {
  LMC_REQUIRE_SHARED_DATA("models/llama2c-stories260K/stories260K.bin");
  const auto dir = test::shared_data() / "models/llama2c-stories260K";
  const auto result =
      run_bench("generate --model " + (dir / "stories260K.bin").string() + " --tokenizer " +
                (dir / "tok512.bin").string() + " --prompt 'Once upon a time' --tokens 40");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.rfind(
                "Once upon a time, there was a little girl named Lily. She loved to play outside "
                "in the park. One day, she saw a big, red ball.",
                0),
            0u)
      << result.output;
  // A llama2.c model needs its tokenizer: a usage error, exit 2.
  EXPECT_EQ(
      run_bench("generate --model " + (dir / "stories260K.bin").string() + " --prompt x").exit_code,
      2);
}

// libtorch is not linked into bench (models/torch_module.h): `bench train` reaches it through
// liblmc_torch.so, and without the module says what it needs.
TEST_F(CliTest, TrainRunsThroughTheTorchModuleThatBenchDoesNotLink) {
  const auto ldd = test::run_command("ldd " + std::string(LMC_BENCH_BINARY) + " 2>&1");
  ASSERT_EQ(ldd.exit_code, 0) << ldd.output;
  EXPECT_NE(ldd.output.find("libc.so"), std::string::npos) << ldd.output;
  EXPECT_EQ(ldd.output.find("libtorch"), std::string::npos) << ldd.output;

  const auto checkpoint = dir_.path() / "tiny.lmct";
  const nlohmann::json training = {
      {"architecture", {{"embedding_dim", 16}, {"layers", 1}, {"heads", 2}}},
      {"data", (dir_.path() / "text.txt").string()},
      {"train_fraction", 0.8},
      {"batch_size", 2},
      {"sequence_length", 64},
      {"steps", 4},
      {"threads", 1},
      {"log_every", 2},
      {"eval_every", 4},
      {"eval_sequences", 1},
      {"eval_sequence_length", 64},
      {"checkpoint", checkpoint.string()}};
  const auto config = write_config(training);
  auto result = run_bench("train " + config);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::is_regular_file(checkpoint)) << result.output;
  // The trained model codes text with the LM compressor in the same process as always.
  result = run_bench("compress " + (dir_.path() / "text.txt").string() +
                     " --quiet --chunk-size 2048 --with '{\"kind\": \"lm\", \"checkpoint\": \"" +
                     checkpoint.string() + "\"}' -o " + (dir_.path() / "text.lmcs").string());
  EXPECT_EQ(result.exit_code, 0) << result.output;

  // Without the module, bench says what it tried.
  result = run_bench("train " + config, "LMC_TORCH_MODULE=" + (dir_.path() / "none.so").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("need liblmc_torch.so; tried:\n  " +
                               (dir_.path() / "none.so").string() + ": not found"),
            std::string::npos)
      << result.output;

  // A config error thrown inside the module is an input error of bench's.
  result = run_bench("train " + write_config({{"data", "x"}}));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("architecture: required key is missing"), std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace lmc
