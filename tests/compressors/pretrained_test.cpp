// The "pretrained" compressor on the real pretrained models: round trips, escapes, damaged
// streams, options, and the rates on the first enwik9 chunks.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "compressors/lm_compressor.h"
#include "compressors/pretrained_compressor.h"
#include "test_support.h"

namespace lmc {
namespace {

constexpr std::size_t kChunk = 2048;

struct ModelFiles {
  const char* label;
  const char* format;
  const char* checkpoint;  // under ../shared/data/models
  const char* tokenizer;   // "" for byte-level models
};

const ModelFiles kStories{"stories260K", "llama2c", "llama2c-stories260K/stories260K.bin",
                          "llama2c-stories260K/tok512.bin"};
const ModelFiles kRwkv4{"rwkv-4 660K", "rwkv", "tiny-rwkv/tiny-rwkv-4v0-660K-FP32.bin", ""};
const ModelFiles kRwkv5{"rwkv-5.2 730K", "rwkv", "tiny-rwkv/tiny-rwkv-5v2-730K-FP32.bin", ""};

std::filesystem::path model_path(const char* relative) {
  return test::shared_data() / "models" / relative;
}

nlohmann::json options_json(const ModelFiles& files, int top_k = 100) {
  nlohmann::json options = {{"format", files.format},
                            {"checkpoint", model_path(files.checkpoint).string()},
                            {"top_k", top_k}};
  if (*files.tokenizer) options["tokenizer"] = model_path(files.tokenizer).string();
  return options;
}

std::unique_ptr<Compressor> make(const ModelFiles& files, int top_k = 100,
                                 SevenBitMapping mapping = SevenBitMapping::ClearTopBit) {
  const CompressorKind* kind = find_compressor_kind("pretrained");
  EXPECT_NE(kind, nullptr);
  const Options options =
      Options::validate(options_json(files, top_k), kind->options, "compressors[0]", {"kind"});
  return kind->make(options, CodecContext{kChunk, mapping});
}

const Compressor& cached(const ModelFiles& files) {
  static std::map<std::string, std::unique_ptr<Compressor>> compressors;
  auto& compressor = compressors[files.label];
  if (!compressor) compressor = make(files);
  return *compressor;
}

Bytes enwik_head() {
  std::ifstream in(test::shared_data() / "text/enwik9-head-10000", std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes random_seven_bit(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes bytes(size);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng() & 0x7F);
  return bytes;
}

#define LMC_REQUIRE_MODEL(files)                                          \
  do {                                                                    \
    LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");                    \
    LMC_REQUIRE_SHARED_DATA(std::string("models/") + (files).checkpoint); \
  } while (0)

TEST(Pretrained, Stories260KRoundTripsAnEnwikChunk) {
  LMC_REQUIRE_MODEL(kStories);
  const Compressor& compressor = cached(kStories);
  const Bytes all = enwik_head();
  const ByteView chunk = ByteView(all).first(kChunk);
  Counters counters;
  const Bytes stream = compressor.compress(chunk, counters);
  EXPECT_EQ(compressor.decompress(stream, kChunk), compressor.expected_roundtrip(chunk));
  EXPECT_GT(counters["tokens"], 1000);  // about 1.4 bytes per token on Wikipedia XML
  EXPECT_LT(counters["tokens"], 2000);
  EXPECT_EQ(counters["masked_bits"], 0);  // the first 2048 bytes of enwik are ASCII
  // The coder spends its ideal length plus at most a few bits.
  EXPECT_NEAR(counters["coded_bits"], counters["ideal_bits"], 2 + 1e-3 * counters["ideal_bits"]);
  EXPECT_EQ(stream.size(), static_cast<std::size_t>((counters["coded_bits"] + 7) / 8));
  // A 260K model trained on children's stories finds Wikipedia XML harder than uniform over
  // its 512 tokens (full-softmax ideal about 120% on these chunks); the escape bounds the damage.
  EXPECT_LT(stream.size(), kChunk * 6 / 5);
  EXPECT_GT(counters["window_slides"], 0);  // more tokens than the 512-token context
  EXPECT_LE(counters["escape_bits"], counters["ideal_bits"]);
}

TEST(Pretrained, Stories260KCompressesAStoryWell) {
  LMC_REQUIRE_MODEL(kStories);
  const Compressor& compressor = cached(kStories);
  const std::string story =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
      "park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.";
  const Bytes text(story.begin(), story.end());
  Counters counters;
  const Bytes stream = compressor.compress(text, counters);
  EXPECT_EQ(compressor.decompress(stream, text.size()), text);
  EXPECT_EQ(counters["escapes"], 0);
  EXPECT_LT(stream.size(), text.size() / 8);  // its own greedy story: under 1 bit per byte
}

TEST(Pretrained, RandomSevenBitBytesEscapeAndStillDecode) {
  LMC_REQUIRE_MODEL(kStories);
  const Compressor& compressor = cached(kStories);
  const Bytes noise = random_seven_bit(kChunk, 11);
  Counters counters;
  const Bytes stream = compressor.compress(noise, counters);
  EXPECT_GT(counters["escapes"], 10);
  EXPECT_GT(counters["escape_bits"], 8 * counters["escapes"]);
  EXPECT_EQ(compressor.decompress(stream, noise.size()), noise);
  // Noise costs more than its 7 bits per byte.
  EXPECT_GT(stream.size(), kChunk * 7 / 8);
}

TEST(Pretrained, ByteLevelRwkvRoundTripsTextAndNoise) {
  LMC_REQUIRE_MODEL(kRwkv5);
  for (const ModelFiles* files : {&kRwkv4, &kRwkv5}) {
    SCOPED_TRACE(files->label);
    const Compressor& compressor = cached(*files);
    const Bytes all = enwik_head();
    const ByteView text = ByteView(all).subspan(kChunk, 700);
    Counters counters;
    const Bytes stream = compressor.compress(text, counters);
    EXPECT_EQ(compressor.decompress(stream, text.size()), compressor.expected_roundtrip(text));
    EXPECT_EQ(counters["tokens"], 700);  // one token per byte, no prefix
    EXPECT_EQ(counters["window_slides"], 0);
    EXPECT_LT(stream.size(), 700u * 7 / 8);

    const Bytes noise = random_seven_bit(400, 5);
    Counters noise_counters;
    const Bytes noise_stream = compressor.compress(noise, noise_counters);
    EXPECT_GT(noise_counters["escapes"], 0);
    EXPECT_EQ(compressor.decompress(noise_stream, noise.size()), noise);
  }
}

TEST(Pretrained, ShiftRightMappingCountsEveryByte) {
  LMC_REQUIRE_MODEL(kStories);
  const auto compressor = make(kStories, 100, SevenBitMapping::ShiftRight);
  Bytes data(300);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 37);
  Counters counters;
  const Bytes stream = compressor->compress(data, counters);
  EXPECT_EQ(counters["masked_bits"], 300);
  EXPECT_EQ(compressor->decompress(stream, data.size()), compressor->expected_roundtrip(data));
  EXPECT_EQ(compressor->decompress(compressor->compress(Bytes{}), 0), Bytes{});
}

// Damaged streams of `chunk`: how many decoding reports as corrupt (the rest must decode to
// other bytes, never crash or hang).
int damage_detected(const Compressor& compressor, ByteView chunk) {
  const Bytes expected = compressor.expected_roundtrip(chunk);
  const Bytes stream = compressor.compress(chunk);
  std::mt19937_64 rng(3);
  std::vector<Bytes> damaged = {Bytes(stream.begin(), stream.begin() + stream.size() / 2), Bytes{},
                                Bytes(stream.size(), 0xFF)};
  Bytes flipped = stream;
  flipped[flipped.size() / 3] ^= 0x10;
  damaged.push_back(flipped);
  Bytes longer = stream;
  longer.push_back(0x5A);
  damaged.push_back(longer);
  Bytes garbage(200);
  for (auto& b : garbage) b = static_cast<std::uint8_t>(rng());
  damaged.push_back(garbage);
  int detected = 0;
  for (const Bytes& bad : damaged) {
    try {
      EXPECT_NE(compressor.decompress(bad, chunk.size()), expected);
    } catch (const CorruptDataError&) {
      ++detected;
    }
  }
  return detected;
}

TEST(Pretrained, DamagedStreamsFailOrDecodeOtherBytesButNeverCrash) {
  LMC_REQUIRE_MODEL(kStories);
  const Bytes all = enwik_head();
  // Most damage is caught, the rest decodes to other bytes.
  EXPECT_GE(damage_detected(cached(kStories), ByteView(all).subspan(3 * kChunk, 400)), 4);
}

// The identity mapping (bench compress): all 8 bits of any bytes, through byte-fallback tokens
// (stories260K) or the byte vocabulary (RWKV); every token with text is a candidate.
TEST(Pretrained, IdentityMappingCodesAnyBytesExactly) {
  LMC_REQUIRE_MODEL(kStories);
  LMC_REQUIRE_MODEL(kRwkv4);
  const Bytes all = enwik_head();
  std::mt19937_64 rng(13);
  Bytes noise(700);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  for (const ModelFiles* files : {&kStories, &kRwkv4}) {
    SCOPED_TRACE(files->label);
    const auto compressor = make(*files, 100, SevenBitMapping::Identity);
    EXPECT_EQ(compressor->settings()["candidates"]["count"], files == &kStories ? 509 : 256)
        << "every token but <unk>, <s>, </s>";
    EXPECT_EQ(compressor->settings()["mapping"], "identity");
    for (const ByteView data : {ByteView(noise), ByteView(all).subspan(kChunk, 700)}) {
      Counters counters;
      const Bytes stream = compressor->compress(data, counters);
      EXPECT_EQ(compressor->expected_roundtrip(data), Bytes(data.begin(), data.end()));
      EXPECT_EQ(compressor->decompress(stream, data.size()), Bytes(data.begin(), data.end()));
      EXPECT_EQ(counters["masked_bits"], 0);
    }
    // Random bytes escape often: their bytes from 0x80 are far outside the top 100.
    Counters counters;
    const Bytes stream = compressor->compress(noise, counters);
    EXPECT_GT(counters["escapes"], 100);
    EXPECT_GT(stream.size(), noise.size());
    // Damage never crashes; stories260K's variable-length tokens overshoot the chunk's length
    // and are caught, RWKV's bytes always fill it exactly.
    const int detected = damage_detected(*compressor, noise);
    if (files == &kStories) {
      EXPECT_GE(detected, 3);
    }
  }
}

TEST(Pretrained, OptionsAreCheckedWithTheirKeyPath) {
  LMC_REQUIRE_MODEL(kStories);
  const CompressorKind* kind = find_compressor_kind("pretrained");
  ASSERT_NE(kind, nullptr);
  const auto make_with = [&](nlohmann::json options) {
    return kind->make(Options::validate(options, kind->options, "compressors[2]", {"kind"}),
                      CodecContext{});
  };
  const auto expect_error = [&](nlohmann::json options, const std::string& key) {
    try {
      make_with(options);
      ADD_FAILURE() << options.dump() << " accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("compressors[2]." + key), std::string::npos) << e.what();
    }
  };
  const auto patched = [](nlohmann::json base, const nlohmann::json& patch) {
    base.merge_patch(patch);
    return base;
  };
  nlohmann::json options = options_json(kStories);
  expect_error(patched(options, R"({"format": "sentencepiece"})"_json), "format");
  expect_error(patched(options, R"({"top_k": 0})"_json), "top_k");
  expect_error(patched(options, R"({"top_k": 100000})"_json), "top_k");
  expect_error(patched(options, R"({"tokenizer": ""})"_json), "checkpoint");
  expect_error(patched(options, R"({"checkpoint": "/no/such.bin"})"_json), "checkpoint");
  nlohmann::json rwkv = options_json(kRwkv4);
  expect_error(patched(rwkv, R"({"format": "llama2c"})"_json), "checkpoint");

  const auto compressor = make_with(options);
  EXPECT_FALSE(compressor->discounts_header());
  EXPECT_FALSE(compressor->supports_unchunked());
  EXPECT_TRUE(compressor->verifiable());
  EXPECT_EQ(compressor->parameter_count(), 260032u);
  const nlohmann::json settings = compressor->settings();
  EXPECT_EQ(settings["top_k"], 100);
  EXPECT_EQ(settings["model"]["format"], "llama2c");
  EXPECT_EQ(settings["model"]["checkpoint_fnv1a64"].get<std::string>().size(), 16u);
  EXPECT_EQ(settings["model"]["tokenizer"]["vocab_size"], 512);
  EXPECT_NE(settings["window"].get<std::string>().find("256"), std::string::npos);
  EXPECT_TRUE(settings.contains("escape"));
}

// The rates of each model on the 2048-byte chunks of enwik9's first 10,000 bytes, with the
// throughput of compress + verify and where the time goes. Prints; asserts only what must hold.
TEST(Pretrained, RatesOnTheEnwik9HeadChunks) {
  LMC_REQUIRE_MODEL(kRwkv5);
  LMC_REQUIRE_MODEL(kStories);
  const Bytes all = enwik_head();
  for (const ModelFiles* files : {&kStories, &kRwkv4, &kRwkv5}) {
    const auto& compressor = dynamic_cast<const PretrainedCompressor&>(cached(*files));
    const PretrainedModel& model = compressor.model();
    std::size_t raw = 0, coded = 0;
    Counters counters;
    double tokenize_seconds = 0, model_seconds = 0, total_seconds = 0;
    using Clock = std::chrono::steady_clock;
    const auto seconds = [](Clock::time_point since) {
      return std::chrono::duration<double>(Clock::now() - since).count();
    };
    for (std::size_t offset = 0; offset + kChunk <= all.size(); offset += kChunk) {
      const ByteView chunk = ByteView(all).subspan(offset, kChunk);
      auto start = Clock::now();
      const Bytes stream = compressor.compress(chunk, counters);
      ASSERT_EQ(compressor.decompress(stream, kChunk), compressor.expected_roundtrip(chunk));
      total_seconds += seconds(start);
      raw += kChunk;
      coded += stream.size();

      // The same work without the coder: tokenise, and step the model over the tokens.
      const Bytes mapped = compressor.expected_roundtrip(chunk);
      start = Clock::now();  // only the encoder tokenises
      const std::vector<int> tokens =
          model.tokenizer->encode(std::string(mapped.begin(), mapped.end()));
      tokenize_seconds += seconds(start);
      start = Clock::now();
      SlidingContext context(model);
      std::vector<float> probabilities(model.predictor->vocab_size());
      for (int token : tokens) {
        context.next_probabilities(probabilities);
        context.append(token);
      }
      model_seconds += 2 * seconds(start);  // encoder and decoder each step the model
    }
    const double rate = 100.0 * static_cast<double>(coded) / static_cast<double>(raw);
    const double tokens = counters["tokens"];
    std::printf(
        "%-14s %zu chunks: rate %.2f%% (ideal %.2f%%), %.0f tokens (%.2f bytes/token), %.0f "
        "escapes (%.0f bits), %.0f window slides; compress+verify %.1f tokens/s, %.0f bytes/s; "
        "time: model %.0f%%, tokenizer %.1f%%, coder+top-k %.0f%%\n",
        files->label, raw / kChunk, rate, 100.0 * counters["ideal_bits"] / 8 / raw, tokens,
        raw / tokens, counters["escapes"], counters["escape_bits"], counters["window_slides"],
        2 * tokens / total_seconds, raw / total_seconds, 100 * model_seconds / total_seconds,
        100 * tokenize_seconds / total_seconds,
        100 * (total_seconds - model_seconds - tokenize_seconds) / total_seconds);
    // The byte models beat storing 7 bits per byte; the story model stays near it (see above).
    EXPECT_LT(rate, files == &kStories ? 110.0 : 87.5);
    EXPECT_GT(rate, 10.0);
  }
}

}  // namespace
}  // namespace lmc
