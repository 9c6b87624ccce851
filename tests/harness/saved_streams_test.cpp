// Saved streams (docs/PROTOCOL.md section 8): the container's writer and reader, `bench run
// --save-compressed`, `bench decode`, and `bench compress` / `bench decompress` round trips.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/stream_container.h"
#include "harness/bench_cli.h"
#include "test_support.h"

namespace lmc {
namespace {

using test::run_bench;

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::filesystem::path& path, ByteView bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 generator(seed);
  Bytes bytes(n);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(generator());
  return bytes;
}

// A container of three chunks, added out of order.
Bytes sample_container(const std::filesystem::path& dir) {
  StreamContainerWriter writer(dir / "spill", {{"compressor", {{"kind", "gzip"}}}});
  const Bytes a = random_bytes(100, 1), b = random_bytes(7, 2), c = random_bytes(0, 3);
  writer.add(2, c, c, as_bytes("zz"));
  writer.add(0, a, a, as_bytes("first"));
  writer.add(1, b, b, as_bytes(""));
  std::ostringstream out;
  writer.write(out, 3);
  const std::string text = out.str();
  return Bytes(text.begin(), text.end());
}

// The container's 16-byte prefix, header and count: where the chunk table starts.
std::size_t table_offset(const Bytes& container) {
  const std::uint32_t header = container[12] | container[13] << 8 | container[14] << 16 |
                               static_cast<std::uint32_t>(container[15]) << 24;
  return 16 + header + 8;
}

// Sets the index CRC after an edit to the header or table, so that only the edit is wrong.
void reseal(Bytes& container, std::size_t chunks) {
  const std::size_t end = table_offset(container) + chunks * kStreamRecordBytes;
  const std::uint32_t crc = crc32_of(ByteView(container).first(end));
  for (int i = 0; i < 4; ++i) container[end + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

std::string message_of(const Bytes& container) {
  try {
    const auto reader = StreamContainerReader::from_memory(container, "c.lmcs");
    for (std::size_t i = 0; i < reader.chunks().size(); ++i) reader.stream(i);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(StreamContainer, ChunksComeBackInOrderWithTheirRecords) {
  test::TempDir dir;
  const Bytes container = sample_container(dir.path());
  const auto reader = StreamContainerReader::from_memory(container, "c.lmcs");
  EXPECT_EQ(reader.header()["compressor"]["kind"], "gzip");
  ASSERT_EQ(reader.chunks().size(), 3u);
  EXPECT_EQ(reader.chunks()[0].original_size, 100u);
  EXPECT_EQ(reader.chunks()[0].original_crc, crc32_of(random_bytes(100, 1)));
  EXPECT_EQ(reader.stream(0), Bytes(as_bytes("first").begin(), as_bytes("first").end()));
  EXPECT_TRUE(reader.stream(1).empty());
  EXPECT_EQ(reader.stream(2).size(), 2u);
}

TEST(StreamContainer, EveryTruncationIsAClearError) {
  test::TempDir dir;
  const Bytes container = sample_container(dir.path());
  for (std::size_t n = 0; n < container.size(); ++n) {
    const std::string message = message_of(Bytes(container.begin(), container.begin() + n));
    EXPECT_NE(message.find("c.lmcs: "), std::string::npos) << n;
  }
}

TEST(StreamContainer, DamageIsNamed) {
  test::TempDir dir;
  const Bytes good = sample_container(dir.path());
  Bytes bad = good;
  bad[0] = 'X';
  EXPECT_NE(message_of(bad).find("bad magic"), std::string::npos);
  bad = good;
  bad[8] = 2;
  EXPECT_NE(message_of(bad).find("format version 2"), std::string::npos);
  bad = good;
  bad[table_offset(good) + 4] ^= 1;  // chunk 0's compressed length, CRC not updated
  EXPECT_NE(message_of(bad).find("fails its CRC-32"), std::string::npos);
  reseal(bad, 3);  // a lying length under a valid CRC
  EXPECT_NE(message_of(bad).find("damaged"), std::string::npos);
  bad = good;
  bad[table_offset(good) - 8] = 0xFF;  // a lying chunk count
  EXPECT_NE(message_of(bad).find("does not fit"), std::string::npos);
  bad = good;
  bad.back() ^= 0x40;  // a stream byte
  EXPECT_NE(message_of(bad).find("chunk 2's compressed stream fails its CRC-32"),
            std::string::npos);
}

class SavedStreamsCli : public ::testing::Test {
 protected:
  std::string write_config(const nlohmann::json& config) {
    const auto path = dir_.path() / "config.json";
    std::ofstream(path) << config.dump(2);
    return path.string();
  }
  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }

  test::TempDir dir_;
};

TEST_F(SavedStreamsCli, RunSavesEveryChunkedRowAndDecodeChecksIt) {
  const nlohmann::json config = {
      {"name", "saved"},
      {"chunk_size", 512},
      {"threads", 2},
      {"datasets", {{{"name", "random"}, {"kind", "random"}, {"num_chunks", 40}, {"seed", 3}}}},
      {"compressors", {{{"name", "gzip"}}, {{"name", "bzip2"}, {"num_chunks", 5}}}},
      {"modes", {"chunked", "unchunked"}}};
  const std::string streams = path("streams");
  auto result = run_bench("run " + write_config(config) + " --quiet --no-figures --out " +
                          path("out") + " --save-compressed " + streams);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  ASSERT_TRUE(std::filesystem::exists(streams + "/random__gzip.lmcs"));
  ASSERT_TRUE(std::filesystem::exists(streams + "/random__bzip2.lmcs"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(streams), {}), 2);  // no spill

  result = run_bench("decode " + streams + " --quiet");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("40 chunks decoded, every checksum matches, bytes equal the"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("2 of 2 containers decoded"), std::string::npos);

  // A damaged container: exit 2 naming the file.
  Bytes bytes = read_file(streams + "/random__bzip2.lmcs");
  bytes.resize(bytes.size() - 1);
  write_file(streams + "/random__bzip2.lmcs", bytes);
  result = run_bench("decode " + streams + " --quiet");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("random__bzip2.lmcs: truncated or damaged"), std::string::npos)
      << result.output;

  // A chunk whose decoded bytes differ from what was coded: exit 3 naming the row and chunk.
  bytes = read_file(streams + "/random__gzip.lmcs");
  bytes[table_offset(bytes) + 3 * kStreamRecordBytes + 12] ^= 1;  // chunk 3's decoded CRC
  reseal(bytes, 40);
  write_file(path("mismatch.lmcs"), bytes);
  result = run_bench("decode " + path("mismatch.lmcs") + " --quiet");
  EXPECT_EQ(result.exit_code, 3) << result.output;
  EXPECT_NE(result.output.find("mismatch.lmcs: chunk 3"), std::string::npos) << result.output;

  result = run_bench("run " + write_config(config) + " --quiet --resume --out " + path("out2") +
                     " --save-compressed " + streams);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--save-compressed cannot be combined with --resume"),
            std::string::npos);
}

TEST_F(SavedStreamsCli, WrongOrMissingModelIsAnInputError) {
  const auto source = test::source_dir() / "models/checkpoints";
  std::filesystem::copy_file(source / "transformer-200k.lmct", path("model.lmct"));
  write_file(path("input.txt"), as_bytes("A short text for the model to code, twice. A short."));
  auto result = run_bench("compress " + path("input.txt") +
                          " --quiet --with '{\"kind\": \"lm\", "
                          "\"checkpoint\": \"" +
                          path("model.lmct") + "\"}'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::filesystem::remove(path("model.lmct"));
  result = run_bench("decompress " + path("input.txt.lmcs") + " -o " + path("back") + " --quiet");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("not found: name its new place with --model"), std::string::npos)
      << result.output;
  result = run_bench("decompress " + path("input.txt.lmcs") + " -o " + path("back") +
                     " --quiet --model " + (source / "transformer-800k.lmct").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("wrong model"), std::string::npos) << result.output;
  result = run_bench("decompress " + path("input.txt.lmcs") + " -o " + path("back") +
                     " --quiet --model " + (source / "transformer-200k.lmct").string());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(read_file(path("back")), read_file(path("input.txt")));
}

// Round trips of random bytes, the start of a binary and a text through `bench compress` and
// `bench decompress` with `with`; small chunks so that every input spans several.
void expect_round_trips(const std::filesystem::path& dir, const std::string& with,
                        std::size_t bytes) {
  const Bytes binary = read_file(LMC_BENCH_BINARY);
  const Bytes text = read_file(test::source_dir() / "docs/PROTOCOL.md");
  const std::vector<std::pair<std::string, Bytes>> inputs = {
      {"random", random_bytes(bytes, 7)},
      {"binary", Bytes(binary.begin(), binary.begin() + static_cast<std::ptrdiff_t>(bytes))},
      {"text", Bytes(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bytes))}};
  for (const auto& [name, input] : inputs) {
    const auto file = dir / name;
    write_file(file, input);
    auto result =
        run_bench("compress " + file.string() + " --quiet --chunk-size 700 --with '" + with + "'");
    ASSERT_EQ(result.exit_code, 0) << with << " " << name << ": " << result.output;
    std::filesystem::remove(file);
    result = run_bench("decompress " + file.string() + ".lmcs --quiet");
    ASSERT_EQ(result.exit_code, 0) << with << " " << name << ": " << result.output;
    EXPECT_EQ(read_file(file), input) << with << " " << name;
    std::filesystem::remove(file.string() + ".lmcs");
  }
}

TEST_F(SavedStreamsCli, EveryClassicalCodecRoundTripsAnyFile) {
  for (const CompressorKind& kind : compressor_kinds()) {
    // Kinds that need an option without a default (a model, a program: lm, pretrained, command)
    // cannot be named alone; they are tested with their options.
    const bool needs_options =
        std::any_of(kind.options.begin(), kind.options.end(),
                    [](const OptionSpec& option) { return option.default_value.is_null(); });
    if (needs_options) continue;
    expect_round_trips(dir_.path(), kind.name, 64 * 1024);
  }
}

TEST_F(SavedStreamsCli, EveryShippedTransformerRoundTripsAllEightBits) {
  for (const std::string model : {"transformer-200k", "transformer-800k", "transformer-3.2m"}) {
    for (const std::string cache : {"binary16", "int8"}) {
      if (model == "transformer-3.2m" && cache == "int8") continue;  // slow; the cache is tested
      const auto checkpoint = test::source_dir() / "models/checkpoints" / (model + ".lmct");
      expect_round_trips(dir_.path(),
                         R"({"kind": "lm", "checkpoint": ")" + checkpoint.string() +
                             R"(", "kv_cache": ")" + cache + "\"}",
                         model == "transformer-3.2m" ? 800 : 1500);
    }
  }
}

// stories260K codes bytes that are no text through its byte-fallback tokens, the tiny RWKV
// through its byte vocabulary: both round-trip any file.
TEST_F(SavedStreamsCli, PretrainedModelsRoundTripAllEightBits) {
  LMC_REQUIRE_SHARED_DATA("models/llama2c-stories260K");
  LMC_REQUIRE_SHARED_DATA("models/tiny-rwkv");
  const auto models = test::shared_data() / "models";
  expect_round_trips(dir_.path(),
                     R"({"kind": "pretrained", "format": "llama2c", "checkpoint": ")" +
                         (models / "llama2c-stories260K/stories260K.bin").string() +
                         R"(", "tokenizer": ")" +
                         (models / "llama2c-stories260K/tok512.bin").string() + "\"}",
                     1500);
  expect_round_trips(dir_.path(),
                     R"({"kind": "pretrained", "format": "rwkv", "checkpoint": ")" +
                         (models / "tiny-rwkv/tiny-rwkv-4v0-660K-FP32.bin").string() + "\"}",
                     1500);

  // A damaged stream (the streams end the container) is an error naming the damage.
  write_file(path("in"), random_bytes(1000, 5));
  auto result = run_bench("compress " + path("in") +
                          " --quiet --chunk-size 400 --with '{\"kind\": \"pretrained\", "
                          "\"format\": \"rwkv\", \"checkpoint\": \"" +
                          (models / "tiny-rwkv/tiny-rwkv-4v0-660K-FP32.bin").string() + "\"}'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  Bytes damaged = read_file(path("in.lmcs"));
  damaged[damaged.size() - 5] ^= 0x01;
  write_file(path("in.lmcs"), damaged);
  result = run_bench("decompress " + path("in.lmcs") + " -o " + path("out") + " --quiet");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("chunk 2's compressed stream fails its CRC-32"), std::string::npos)
      << result.output;
}

TEST_F(SavedStreamsCli, StdinToStdoutAndDamagedInput) {
  const Bytes input = random_bytes(300000, 11);
  write_file(path("in"), input);
  // Through the shell, so that stdout is the data and stderr goes elsewhere.
  const std::string bench = LMC_BENCH_BINARY;
  ASSERT_EQ(std::system((bench + " compress - --quiet --with zstd < " + path("in") + " > " +
                         path("c") + " 2> " + path("log"))
                            .c_str()),
            0);
  ASSERT_EQ(std::system((bench + " decompress - --quiet < " + path("c") + " > " + path("out") +
                         " 2> " + path("log"))
                            .c_str()),
            0);
  EXPECT_EQ(read_file(path("out")), input);
  auto result = run_bench("decode " + path("c") + " --quiet");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("dataset not at hand"), std::string::npos) << result.output;

  Bytes damaged = read_file(path("c"));
  damaged[damaged.size() / 2] ^= 0x10;
  write_file(path("damaged.lmcs"), damaged);
  result = run_bench("decompress " + path("damaged.lmcs") + " --quiet");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("damaged"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(path("damaged")));
  write_file(path("text.lmcs"), as_bytes("plain text, not a container at all"));
  result = run_bench("decompress " + path("text.lmcs") + " --quiet");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("bad magic"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace lmc
