#include "harness/run/runner.h"

#include <gtest/gtest.h>

#include <cstring>

#include "common/error.h"
#include "harness/experiments/in_context.h"
#include "harness/run/journal.h"
#include "harness/run/resident_memory.h"
#include "test_support.h"

namespace lmc {
namespace {

// Chunk i is filled with the byte value i % 251, so every chunk is identifiable.
class CountingDataset : public Dataset {
 public:
  CountingDataset(std::uint64_t chunks, std::size_t chunk_size)
      : chunks_(chunks), chunk_size_(chunk_size) {}
  std::size_t chunk_size() const override { return chunk_size_; }
  std::uint64_t available_chunks() const override { return chunks_; }
  std::unique_ptr<ChunkReader> open(std::uint64_t first) const override {
    struct Reader : ChunkReader {
      std::uint64_t next_chunk, end;
      bool next(std::span<std::uint8_t> chunk) override {
        if (next_chunk >= end) return false;
        std::memset(chunk.data(), static_cast<int>(next_chunk++ % 251), chunk.size());
        return true;
      }
    };
    auto reader = std::make_unique<Reader>();
    reader->next_chunk = first;
    reader->end = chunks_;
    return reader;
  }
  nlohmann::json provenance() const override { return {{"kind", "counting"}}; }

 private:
  std::uint64_t chunks_;
  std::size_t chunk_size_;
};

// Run-length "codec": a chunk of identical bytes becomes (value, count); a header of 2 bytes.
// Optionally decodes chunk `corrupt_value` wrongly, to exercise verification.
class RunLengthCodec : public Compressor {
 public:
  explicit RunLengthCodec(int corrupt_value = -1) : corrupt_value_(corrupt_value) {}
  Bytes compress(ByteView data, Counters& counters) const override {
    counters["calls"] += 1;
    Bytes out = {'R', 'L'};
    for (std::size_t i = 0; i < data.size();) {
      std::size_t run = 1;
      while (i + run < data.size() && data[i + run] == data[i] && run < 255) ++run;
      out.push_back(data[i]);
      out.push_back(static_cast<std::uint8_t>(run));
      i += run;
    }
    return out;
  }
  Bytes decompress(ByteView compressed, std::size_t) const override {
    if (compressed.size() < 2 || compressed[0] != 'R' || compressed.size() % 2 != 0) {
      throw CorruptDataError("not a run-length stream");
    }
    Bytes out;
    for (std::size_t i = 2; i < compressed.size(); i += 2) {
      out.insert(out.end(), compressed[i + 1], compressed[i]);
    }
    if (!out.empty() && out[0] == corrupt_value_) out.back() ^= 1;
    return out;
  }
  nlohmann::json settings() const override { return {{"codec", "run-length"}}; }

 private:
  int corrupt_value_;
};

TEST(Runner, RangesCoverEveryChunkOnce) {
  const auto ranges = split_into_ranges(10, 4);
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].first, 0u);
  EXPECT_EQ(ranges[2].first, 8u);
  EXPECT_EQ(ranges[2].count, 2u);
  EXPECT_TRUE(split_into_ranges(0, 4).empty());
}

TEST(Runner, SplitRangesMergeToTheSameTotals) {
  CountingDataset dataset(37, 64);
  RunLengthCodec codec;
  const Compressor* codecs[] = {&codec};
  const EvaluationRows label{.dataset = "counting", .compressors = {"rle"}};
  const auto whole = evaluate_range(dataset, {0, 37}, codecs, label, true, nullptr, nullptr);
  PartialResult merged;
  for (const auto& range : split_into_ranges(37, 5)) {
    merged += evaluate_range(dataset, range, codecs, label, true, nullptr, nullptr)[0];
  }
  EXPECT_EQ(merged.chunks, 37u);
  EXPECT_EQ(merged.raw_bytes, 37u * 64);
  EXPECT_EQ(merged.compressed_bytes, whole[0].compressed_bytes);
  EXPECT_EQ(merged.compressed_bytes, 37u * 4);  // header 2 + one (value, 64) pair
  EXPECT_EQ(merged.verified_chunks, 37u);
  EXPECT_EQ(merged.counters.at("calls"), 37);
}

TEST(Runner, ChunkedMismatchNamesCompressorDatasetAndChunk) {
  CountingDataset dataset(20, 64);
  RunLengthCodec broken(/*corrupt_value=*/13);
  const Compressor* codecs[] = {&broken};
  try {
    evaluate_range(dataset, {10, 10}, codecs,
                   {.dataset = "counting", .compressors = {"broken-rle"}}, true, nullptr, nullptr);
    FAIL() << "expected a RoundTripError";
  } catch (const RoundTripError& e) {
    EXPECT_STREQ(e.what(),
                 "round trip failed: compressor 'broken-rle' on dataset 'counting', chunk 13: "
                 "decoded bytes differ from the input (64 bytes decoded)");
  }
  // Without verification the same run completes.
  EXPECT_NO_THROW(evaluate_range(dataset, {10, 10}, codecs,
                                 {.dataset = "counting", .compressors = {"broken-rle"}}, false,
                                 nullptr, nullptr));
}

TEST(Runner, UnchunkedStreamIsVerifiedAndMismatchNamesTheChunk) {
  CountingDataset dataset(20, 64);
  RunLengthCodec codec;
  const PartialResult ok = evaluate_unchunked(
      dataset, 20, codec, {.dataset = "counting", .compressor = "rle"}, true, nullptr, nullptr);
  EXPECT_EQ(ok.chunks, 20u);
  EXPECT_EQ(ok.verified_chunks, 20u);
  EXPECT_EQ(ok.compressed_bytes, 2u + 20 * 2);

  RunLengthCodec broken(/*corrupt_value=*/0);  // the decoded stream starts with value 0
  try {
    evaluate_unchunked(dataset, 20, broken, {.dataset = "counting", .compressor = "rle"}, true,
                       nullptr, nullptr);
    FAIL() << "expected a RoundTripError";
  } catch (const RoundTripError& e) {
    // The last byte of the whole stream is flipped: chunk 19.
    EXPECT_NE(std::string(e.what()).find("chunk 19 (unchunked stream, byte 1279)"),
              std::string::npos)
        << e.what();
  }
}

// The run-length codec, except that every second call to compress() appends a stray byte: a codec
// whose output depends on more than its input.
class AlternatingCodec : public RunLengthCodec {
 public:
  Bytes compress(ByteView data, Counters& counters) const override {
    Bytes out = RunLengthCodec::compress(data, counters);
    if (calls_++ % 2 == 1) out.push_back('!');
    return out;
  }

 private:
  mutable std::atomic<unsigned> calls_{0};
};

TEST(Runner, RepetitionsTimeEachPassAndCountEverythingOnce) {
  CountingDataset dataset(37, 64);
  RunLengthCodec codec;
  const Compressor* codecs[] = {&codec};
  const EvaluationRows three{.dataset = "counting", .compressors = {"rle"}, .repetitions = {3}};
  const auto repeated = evaluate_range(dataset, {0, 37}, codecs, three, true, nullptr, nullptr);
  const auto once =
      evaluate_range(dataset, {0, 37}, codecs, {.dataset = "counting", .compressors = {"rle"}},
                     true, nullptr, nullptr);
  EXPECT_EQ(repeated[0].compress_seconds.repetitions(), 3u);
  EXPECT_EQ(repeated[0].decompress_seconds.repetitions(), 3u);
  EXPECT_EQ(once[0].compress_seconds.repetitions(), 1u);
  for (double seconds : repeated[0].compress_seconds.passes) EXPECT_GT(seconds, 0);
  for (double seconds : repeated[0].decompress_seconds.passes) EXPECT_GT(seconds, 0);
  EXPECT_EQ(repeated[0].chunks, 37u);
  EXPECT_EQ(repeated[0].compressed_bytes, once[0].compressed_bytes);
  EXPECT_EQ(repeated[0].verified_chunks, 37u);
  EXPECT_EQ(repeated[0].counters.at("calls"), 37);  // the first pass's

  const PartialResult stream = evaluate_unchunked(
      dataset, 37, codec, {.dataset = "counting", .compressor = "rle", .repetitions = 3}, true,
      nullptr, nullptr);
  EXPECT_EQ(stream.compress_seconds.repetitions(), 3u);
  EXPECT_EQ(stream.decompress_seconds.repetitions(), 3u);
  EXPECT_EQ(stream.chunks, 37u);
  EXPECT_EQ(stream.verified_chunks, 37u);
  EXPECT_EQ(stream.compressed_bytes, 2u + 37 * 2);
}

TEST(Runner, PassesThatGiveOtherBytesNameTheCompressorAndChunk) {
  CountingDataset dataset(20, 64);
  AlternatingCodec codec;
  const Compressor* codecs[] = {&codec};
  try {
    evaluate_range(dataset, {5, 3}, codecs,
                   {.dataset = "counting", .compressors = {"alternating"}, .repetitions = {3}},
                   true, nullptr, nullptr);
    FAIL() << "expected a RoundTripError";
  } catch (const RoundTripError& e) {
    EXPECT_STREQ(e.what(),
                 "not deterministic: compressor 'alternating' on dataset 'counting', chunk 5: pass "
                 "2 of 3 gave 5 bytes, pass 1 gave 4, first difference at byte 4");
  }
  AlternatingCodec streaming;  // the default stream encoder compresses everything at the end
  try {
    evaluate_unchunked(dataset, 20, streaming,
                       {.dataset = "counting", .compressor = "alternating", .repetitions = 2},
                       false, nullptr, nullptr);
    FAIL() << "expected a RoundTripError";
  } catch (const RoundTripError& e) {
    EXPECT_NE(std::string(e.what()).find("not deterministic: compressor 'alternating' on dataset "
                                         "'counting' (unchunked stream): pass 2 of 2 gave 43 "
                                         "bytes"),
              std::string::npos)
        << e.what();
  }
}

// A run over 300 counting chunks of 64 bytes with one run-length codec per compressor entry.
PreparedRun prepare_counting_run(RunConfig& config) {
  config.name = "t";
  config.chunk_size = 64;
  DatasetEntry dataset;
  dataset.name = dataset.kind = "counting";
  dataset.num_chunks = 500;
  config.datasets = {dataset};
  PreparedRun run{&config, {}};
  PreparedDataset prepared;
  prepared.entry = &config.datasets[0];
  prepared.dataset = std::make_unique<CountingDataset>(300, 64);
  prepared.available_chunks = prepared.chunks = 300;
  for (std::size_t c = 0; c < config.compressors.size(); ++c) {
    prepared.compressors.push_back(std::make_unique<RunLengthCodec>());
  }
  run.datasets.push_back(std::move(prepared));
  return run;
}

std::vector<RowResult> execute_counting_run(RunConfig& config, RunOptions options = {}) {
  const PreparedRun run = prepare_counting_run(config);
  options.threads = 2;
  return execute_run(run, options);
}

CompressorEntry compressor_entry(const std::string& name) {
  CompressorEntry entry;
  entry.name = entry.kind = name;
  return entry;
}

TEST(Runner, ExecuteRunFillsEveryRowAndUsesThreads) {
  RunConfig config;
  config.modes = {Mode::Unchunked, Mode::Chunked};
  config.compressors = {compressor_entry("rle")};
  const auto rows = execute_counting_run(config);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].mode, Mode::Unchunked);
  EXPECT_EQ(rows[1].mode, Mode::Chunked);
  const RowResult& chunked = rows[1];
  EXPECT_EQ(chunked.totals.chunks, 300u);
  EXPECT_EQ(chunked.totals.verified_chunks, 300u);
  EXPECT_EQ(chunked.rule.header_bytes, 4u);  // compress(one zero byte) = "RL" + (0, 1)
  // 300 x 4 bytes, header counted once: 1200 - 299 x 4 = 4.
  EXPECT_DOUBLE_EQ(chunked.rates.compressed_bytes, 4);
  EXPECT_EQ(chunked.requested_chunks, 500u);
}

TEST(Runner, RowsRecordTheirRepetitionsAndPeakMemory) {
  RunConfig config;
  config.modes = {Mode::Unchunked, Mode::Chunked};
  config.compressors = {compressor_entry("rle"), compressor_entry("rle-once")};
  config.repetitions = 3;
  config.compressors[1].repetitions = 1;
  const auto rows = execute_counting_run(config);
  ASSERT_EQ(rows.size(), 4u);
  const bool measurable = MemoryWindows().available();
  for (const RowResult& row : rows) {
    const std::string what = row.compressor + " " + std::string(to_string(row.mode));
    EXPECT_EQ(row.totals.compress_seconds.repetitions(), row.compressor == "rle" ? 3u : 1u) << what;
    EXPECT_EQ(row.totals.verified_chunks, 300u) << what;
    // Each row's first window ran alone and measured the whole process: well above a megabyte.
    if (measurable) {
      EXPECT_GT(row.totals.peak_rss_bytes, 1'000'000u) << what;
    } else {
      EXPECT_EQ(row.totals.peak_rss_bytes, 0u) << what;
    }
  }
}

// Both modes, a run-length codec on all 300 chunks and one capped at the first 40: 680 chunk
// evaluations in all.
RunConfig two_codec_config() {
  RunConfig config;
  config.modes = {Mode::Chunked, Mode::Unchunked};
  config.compressors = {compressor_entry("rle"), compressor_entry("rle-capped")};
  config.compressors[1].num_chunks = 40;
  return config;
}

TEST(Runner, CompressorNumChunksCapsOnlyThatCompressor) {
  RunConfig config = two_codec_config();
  const auto rows = execute_counting_run(config);
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    const std::uint64_t expected = row.compressor == "rle-capped" ? 40 : 300;
    EXPECT_EQ(row.totals.chunks, expected) << row.compressor << " " << to_string(row.mode);
    EXPECT_EQ(row.totals.verified_chunks, expected);
    EXPECT_EQ(row.dataset_chunks, 300u);
  }
}

// Raises the interrupt flag once `after` chunk evaluations have been reported, as Ctrl-C would.
class InterruptAfter : public ProgressSink {
 public:
  InterruptAfter(std::uint64_t after, std::atomic<bool>& flag) : after_(after), flag_(flag) {}
  void start(std::span<const std::uint64_t> lane_units, std::uint64_t) override {
    for (auto units : lane_units) planned_ += units;
  }
  void advance(std::size_t, std::uint64_t units, std::uint64_t, double) override {
    if ((done_ += units) >= after_) flag_ = true;
  }
  void finish() override {}
  std::uint64_t planned() const { return planned_; }

 private:
  std::uint64_t after_;
  std::atomic<bool>& flag_;
  std::atomic<std::uint64_t> done_{0};
  std::uint64_t planned_ = 0;
};

TEST(Runner, AnInterruptedRunResumesToTheSameTotals) {
  RunConfig config = two_codec_config();
  const auto reference = execute_counting_run(config);

  test::TempDir dir;
  std::atomic<bool> interrupt{false};
  {
    RunJournal journal = RunJournal::start(dir.path(), "run-1");
    // 680 evaluations in all; an unchunked stream in flight (up to 300) is lost, ranges are kept.
    InterruptAfter progress(600, interrupt);
    RunOptions options;
    options.journal = &journal;
    options.interrupt = &interrupt;
    options.progress = &progress;
    EXPECT_THROW(execute_counting_run(config, options), RunInterrupted);
    EXPECT_EQ(progress.planned(), 2 * (300u + 40u));
  }
  RunJournal journal = RunJournal::resume(dir.path(), "run-1");
  std::uint64_t saved = 0;
  for (const auto& entry : journal.entries()) saved += entry.count * entry.compressors.size();
  EXPECT_GE(saved, 300u);
  EXPECT_LT(saved, 2 * (300u + 40u));

  interrupt = false;
  InterruptAfter never(~0ull, interrupt);
  RunOptions options;
  options.journal = &journal;
  options.progress = &never;
  const auto resumed = execute_counting_run(config, options);
  EXPECT_EQ(never.planned() + saved, 2 * (300u + 40u));  // only the missing work ran again
  ASSERT_EQ(resumed.size(), reference.size());
  for (std::size_t i = 0; i < resumed.size(); ++i) {
    const std::string what = resumed[i].compressor + " " + std::string(to_string(resumed[i].mode));
    EXPECT_EQ(resumed[i].totals.chunks, reference[i].totals.chunks) << what;
    EXPECT_EQ(resumed[i].totals.verified_chunks, reference[i].totals.verified_chunks) << what;
    EXPECT_EQ(resumed[i].totals.raw_bytes, reference[i].totals.raw_bytes) << what;
    EXPECT_EQ(resumed[i].totals.compressed_bytes, reference[i].totals.compressed_bytes) << what;
    EXPECT_EQ(resumed[i].rates.compressed_bytes, reference[i].rates.compressed_bytes) << what;
  }
}

TEST(Runner, LongRangesAreJournaledInPiecesThatAddUp) {
  RunConfig config = two_codec_config();
  config.repetitions = 2;
  const auto reference = execute_counting_run(config);

  test::TempDir dir;
  {
    RunJournal journal = RunJournal::start(dir.path(), "run-1");
    RunOptions options;
    options.journal = &journal;
    options.journal_interval = std::chrono::milliseconds(0);  // a piece after every chunk
    const auto rows = execute_counting_run(config, options);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i].totals.compressed_bytes, reference[i].totals.compressed_bytes);
    }
  }
  RunJournal journal = RunJournal::resume(dir.path(), "run-1");
  std::size_t chunked_pieces = 0;
  for (const auto& entry : journal.entries()) {
    if (entry.mode == "chunked") {
      EXPECT_EQ(entry.count, 1u);
      ++chunked_pieces;
    }
  }
  EXPECT_EQ(chunked_pieces, 300u + 40u);  // one piece per chunk of each chunked group
  // Resuming a finished journal runs nothing and gives the same totals.
  std::atomic<bool> never{false};
  InterruptAfter progress(~0ull, never);
  RunOptions options;
  options.journal = &journal;
  options.progress = &progress;
  const auto resumed = execute_counting_run(config, options);
  EXPECT_EQ(progress.planned(), 0u);
  const bool measurable = MemoryWindows().available();
  for (std::size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_EQ(resumed[i].totals.chunks, reference[i].totals.chunks);
    EXPECT_EQ(resumed[i].totals.compressed_bytes, reference[i].totals.compressed_bytes);
    // Every piece's two passes added up pass by pass, and the peak of the piece that measured it.
    const RepeatedSeconds& seconds = resumed[i].totals.compress_seconds;
    ASSERT_EQ(seconds.repetitions(), 2u) << i;
    EXPECT_GT(seconds.min(), 0) << i;
    EXPECT_LE(seconds.min(), seconds.median());
    EXPECT_LE(seconds.median(), seconds.max());
    EXPECT_EQ(resumed[i].totals.peak_rss_bytes > 0, measurable) << i;
  }
}

TEST(Runner, AJournalThatDoesNotFitTheRunIsRefused) {
  RunConfig config;
  config.modes = {Mode::Chunked};
  config.compressors = {compressor_entry("rle")};
  test::TempDir dir;
  {
    RunJournal journal = RunJournal::start(dir.path(), "run-1");
    PartialResult piece;
    piece.chunks = 100;
    journal.append({"counting", "chunked", {"rle"}, 250, 100, {piece}});  // past chunk 300
  }
  RunJournal journal = RunJournal::resume(dir.path(), "run-1");
  RunOptions options;
  options.journal = &journal;
  try {
    execute_counting_run(config, options);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("chunks 250..350 of dataset 'counting'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Runner, ShardsSplitTheWorkAndSumToTheWholeRun) {
  RunConfig config = two_codec_config();
  const auto reference = execute_counting_run(config);

  std::vector<RowResult> summed;
  std::uint64_t evaluated = 0;
  for (std::size_t shard = 0; shard < 3; ++shard) {
    std::atomic<bool> never{false};
    InterruptAfter progress(~0ull, never);
    RunOptions options;
    options.shard = shard;
    options.shards = 3;
    options.progress = &progress;
    const auto rows = execute_counting_run(config, options);
    EXPECT_GT(progress.planned(), 0u) << "shard " << shard << " got no work";
    evaluated += progress.planned();
    if (summed.empty()) {
      summed = rows;
    } else {
      for (std::size_t i = 0; i < rows.size(); ++i) summed[i].totals += rows[i].totals;
    }
  }
  EXPECT_EQ(evaluated, 2 * (300u + 40u));  // every chunk evaluation by exactly one shard
  for (std::size_t i = 0; i < summed.size(); ++i) {
    EXPECT_EQ(summed[i].totals.chunks, reference[i].totals.chunks) << i;
    EXPECT_EQ(summed[i].totals.compressed_bytes, reference[i].totals.compressed_bytes) << i;
    EXPECT_EQ(summed[i].totals.verified_chunks, reference[i].totals.verified_chunks) << i;
  }
}

TEST(InContext, PrefixGridDoublesAndEndsAtTheChunkSize) {
  EXPECT_EQ(prefix_grid(2048),
            (std::vector<std::size_t>{1,  2,  3,   4,   6,   8,   12,  16,  24,   32,   48,
                                      64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048}));
  EXPECT_EQ(prefix_grid(10), (std::vector<std::size_t>{1, 2, 3, 4, 6, 8, 10}));
  EXPECT_EQ(prefix_grid(1), (std::vector<std::size_t>{1}));
}

// Reports the 7-bit mapping's dropped bits as a language model does: one per byte.
class MaskingCodec : public RunLengthCodec {
 public:
  Bytes compress(ByteView data, Counters& counters) const override {
    counters[kMaskedBits] += static_cast<double>(data.size());
    return Bytes(data.begin(), data.end());
  }
};

TEST(InContext, PrefixSizesIncludeHeadersAndRescaleMaskedBits) {
  const Bytes chunk(64, 7);
  const std::vector<std::size_t> grid = {1, 10, 64};
  // Run-length: the 2-byte header plus one (value, count) pair, whatever the prefix.
  EXPECT_EQ(prefix_sizes(RunLengthCodec(), chunk, grid), (std::vector<double>{4, 4, 4}));
  // k bytes out with k bits masked: k x 8k / (8k - k) = 8k / 7, as Table 1 rescales.
  const auto masked = prefix_sizes(MaskingCodec(), chunk, grid);
  EXPECT_DOUBLE_EQ(masked[0], 8.0 / 7);
  EXPECT_DOUBLE_EQ(masked[2], 64.0 * 8 / 7);
}

TEST(InContext, CurvesAverageTheFirstChunksOfEachDataset) {
  RunConfig config;
  config.compressors = {compressor_entry("rle"), compressor_entry("rle-capped")};
  config.compressors[1].num_chunks = 3;
  const PreparedRun run = prepare_counting_run(config);
  const auto curves = measure_in_context(run, 10, 2, nullptr);
  ASSERT_EQ(curves.size(), 2u);
  EXPECT_EQ(curves[0].chunks, 10u);
  EXPECT_EQ(curves[1].chunks, 3u);  // the compressor's own cap
  EXPECT_EQ(curves[0].prefix_bytes, prefix_grid(64));
  // Every counting chunk is one byte value repeated: 4 bytes for any prefix.
  EXPECT_DOUBLE_EQ(curves[0].rates.front(), 400.0);          // k = 1
  EXPECT_DOUBLE_EQ(curves[0].rates.back(), 100.0 * 4 / 64);  // k = 64
  const auto json = in_context_json(curves, 64, {}, {});
  EXPECT_EQ(json["schema"], "lmc-bench/in-context/1");
  EXPECT_EQ(json["curves"][1]["chunks"], 3);
  EXPECT_EQ(json["curves"][0]["points"][0]["rate"], 400.0);
  EXPECT_NE(in_context_csv(curves).find("counting,rle-capped,64,6.250000,3\n"), std::string::npos);
}

}  // namespace
}  // namespace lmc
