#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "common/error.h"
#include "compressors/arithmetic_coder.h"
#include "compressors/lm_compressor.h"
#include "compressors/order2_predictor.h"
#include "compressors/random_checkpoint.h"
#include "models/transformer/transformer_shape.h"
#include "test_support.h"

namespace lmc {
namespace {

constexpr std::size_t kChunk = 2048;

// --- data of each dataset kind's kind -----------------------------------------------------------

Bytes text_like(std::uint64_t seed) {
  static const char* const kWords[] = {"the ",     "of ",    "and ", "in ",      "[[Anarchism]] ",
                                       "<page>\n", "was ",   "a ",   "{{cite ",  "history ",
                                       "is ",      "to ",    "' ",   "&quot;",   "political ",
                                       "by ",      "which ", "it ",  "title=\"", "1911 "};
  std::mt19937_64 rng(seed);
  std::string text;
  while (text.size() < kChunk) text += kWords[rng() % std::size(kWords)];
  return Bytes(text.begin(), text.begin() + kChunk);
}

// A 32 x 64 gray tile: smooth shading plus sensor noise.
Bytes image_like(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> noise(-4, 4);
  Bytes tile(kChunk);
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 64; ++x) {
      const double v = 120 + 50 * std::sin(x / 9.0) + 40 * std::cos(y / 6.0) + noise(rng);
      tile[y * 64 + x] = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
    }
  }
  return tile;
}

// Speech-like samples as the LibriSpeech dataset maps them: high byte of a 16-bit sample + 128.
Bytes audio_like(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 300.0);
  Bytes bytes(kChunk);
  for (std::size_t i = 0; i < kChunk; ++i) {
    const double envelope = 0.5 + 0.5 * std::sin(i / 400.0);
    const double sample =
        envelope * (6000 * std::sin(i * 0.071) + 2500 * std::sin(i * 0.23)) + noise(rng);
    const auto s16 = static_cast<std::int16_t>(std::clamp(sample, -32768.0, 32767.0));
    bytes[i] = static_cast<std::uint8_t>((s16 >> 8) + 128);
  }
  return bytes;
}

Bytes random_bytes(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes bytes(kChunk);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  return bytes;
}

double rescale_factor(std::size_t raw_bytes, double masked_bits) {
  const double total_bits = 8.0 * static_cast<double>(raw_bytes);
  return total_bits / (total_bits - masked_bits);
}

std::shared_ptr<const Predictor> order2() { return std::make_shared<test::Order2Predictor>(); }

// The order-2 model's teacher-forced scores: the same floats the incremental path sees.
SequenceScorer order2_scorer() {
  return [](ByteView symbols) {
    test::Order2Predictor model;
    auto session = model.new_session();
    std::vector<float> probs(256), log_probs;
    for (auto symbol : symbols) {
      session->next_probabilities(probs);
      double sum = 0;
      for (float p : probs) sum += p;
      for (float p : probs) log_probs.push_back(static_cast<float>(std::log(p / sum)));
      session->append(symbol);
    }
    return log_probs;
  };
}

// Checks a chunk's round trip and the code length against the ideal; returns the counters.
Counters expect_round_trip(const Compressor& lm, ByteView chunk) {
  Counters counters;
  const Bytes stream = lm.compress(chunk, counters);
  const double coded = counters.at("coded_bits");
  const double ideal = counters.at("ideal_bits");
  EXPECT_EQ(stream.size(), static_cast<std::size_t>((coded + 7) / 8));
  EXPECT_GT(coded, ideal - 1.0);
  EXPECT_LE(8.0 * static_cast<double>(stream.size()), ideal + 32.0) << "more than 4 bytes over";
  EXPECT_EQ(lm.decompress(stream, chunk.size()), lm.expected_roundtrip(chunk));
  return counters;
}

// --- 7-bit mapping and rescaling -----------------------------------------------------------------

TEST(SevenBitMapping, ClearTopBitCountsOneBitPerNonAsciiByte) {
  Bytes chunk = text_like(1);
  const std::uint8_t non_ascii[10] = {0x80, 0xC3, 0xA9, 0xFF, 0xE2, 0x80, 0x94, 0xC2, 0xB0, 0x81};
  for (int i = 0; i < 10; ++i) chunk[100 + 37 * i] = non_ascii[i];

  const SevenBitImage image = map_to_seven_bits(chunk, SevenBitMapping::ClearTopBit);
  EXPECT_EQ(image.masked_bits, 10u);
  EXPECT_EQ(image.symbols[100], 0x00);       // 0x80
  EXPECT_EQ(image.symbols[100 + 37], 0x43);  // 0xC3
  EXPECT_EQ(image.symbols[100 + 3 * 37], 0x7F);
  EXPECT_EQ(image.symbols[0], chunk[0]);  // ASCII unchanged
  EXPECT_DOUBLE_EQ(rescale_factor(chunk.size(), image.masked_bits), 16384.0 / 16374.0);

  // Through the compressor: the counter the harness rescales with.
  LmCompressor lm(order2(), SevenBitMapping::ClearTopBit);
  Counters counters;
  lm.compress(chunk, counters);
  EXPECT_EQ(counters.at(kMaskedBits), 10.0);
}

TEST(SevenBitMapping, ShiftRightCountsEveryByteForExactlyEightSevenths) {
  const Bytes chunk = random_bytes(2);
  const SevenBitImage image = map_to_seven_bits(chunk, SevenBitMapping::ShiftRight);
  EXPECT_EQ(image.masked_bits, kChunk);
  for (std::size_t i = 0; i < kChunk; ++i) ASSERT_EQ(image.symbols[i], chunk[i] >> 1);
  const Bytes known = {0x00, 0x01, 0x80, 0xFF, 0x7E};
  EXPECT_EQ(map_to_seven_bits(known, SevenBitMapping::ShiftRight).symbols,
            (Bytes{0x00, 0x00, 0x40, 0x7F, 0x3F}));
  EXPECT_EQ(rescale_factor(chunk.size(), image.masked_bits), 8.0 / 7.0);
}

// --- the compressor with a small deterministic model --------------------------------------------

TEST(LmCompressor, RoundTripsEachKindOfDataWithinFourBytesOfIdeal) {
  LmCompressor text_lm(order2(), SevenBitMapping::ClearTopBit);
  LmCompressor media_lm(order2(), SevenBitMapping::ShiftRight);
  const Counters text = expect_round_trip(text_lm, text_like(3));
  // Repetitive word salad: the order-2 model gets well under the 7 bits of the raw image.
  EXPECT_LT(text.at("coded_bits"), 3.5 * kChunk);
  expect_round_trip(media_lm, image_like(3));
  expect_round_trip(media_lm, audio_like(3));
  const Counters noise = expect_round_trip(media_lm, random_bytes(3));
  // 7-bit noise under an adaptive model that starts flat: about 8 bits (the model spreads
  // mass over all 256 symbols), never much more.
  EXPECT_GT(noise.at("coded_bits"), 7.0 * kChunk);
  EXPECT_LT(noise.at("coded_bits"), 8.6 * kChunk);
}

TEST(LmCompressor, RealWikipediaChunksRoundTrip) {
  LMC_REQUIRE_SHARED_DATA("text/enwiki-2016-sample.xml");
  std::ifstream in(test::shared_data() / "text/enwiki-2016-sample.xml", std::ios::binary);
  LmCompressor lm(order2(), SevenBitMapping::ClearTopBit);
  Counters total;
  Bytes chunk(kChunk);
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(in.read(reinterpret_cast<char*>(chunk.data()), kChunk));
    for (const auto& [key, value] : expect_round_trip(lm, chunk)) total[key] += value;
  }
  EXPECT_LT(total.at("coded_bits") - total.at("ideal_bits"), 16 * 32.0);
  EXPECT_GT(total.at(kMaskedBits), 0.0);  // the sample has UTF-8 beyond ASCII
}

TEST(LmCompressor, CountersAreSumsOverChunks) {
  LmCompressor lm(order2(), SevenBitMapping::ShiftRight);
  Counters one, two, both;
  lm.compress(image_like(4), one);
  lm.compress(audio_like(4), two);
  lm.compress(image_like(4), both);
  lm.compress(audio_like(4), both);
  for (const char* key : {kMaskedBits, "ideal_bits", "coded_bits"}) {
    EXPECT_DOUBLE_EQ(both.at(key), one.at(key) + two.at(key)) << key;
  }
  EXPECT_EQ(both.at(kMaskedBits), 2.0 * kChunk);
}

TEST(LmCompressor, ReportsHowItCodes) {
  LmCompressor lm(order2(), SevenBitMapping::ClearTopBit);
  EXPECT_FALSE(lm.discounts_header());
  EXPECT_FALSE(lm.supports_unchunked());
  EXPECT_TRUE(lm.verifiable());
  const auto settings = lm.settings();
  EXPECT_EQ(settings.at("mapping"), "clear_top_bit");
  EXPECT_TRUE(settings.at("mode").get<std::string>().starts_with("decode"));
  EXPECT_EQ(settings.at("coder").at("state_bits"), 32);
  EXPECT_EQ(settings.at("coder").at("eps").get<double>(), 0x1p-23);
  EXPECT_EQ(settings.at("model").at("model"), "adaptive order-2 counts (test)");
}

TEST(LmCompressor, EstimateModeCodesTheScorersProbabilitiesButNeverDecodes) {
  LmModelInfo info;
  info.parameter_count = 1234;
  info.description = {{"model", "order-2 scorer"}};
  LmCompressor estimate(order2_scorer(), info, SevenBitMapping::ClearTopBit);
  LmCompressor decode(order2(), SevenBitMapping::ClearTopBit);
  const Bytes chunk = text_like(5);
  Counters estimated, decoded;
  const Bytes estimated_stream = estimate.compress(chunk, estimated);
  const Bytes decoded_stream = decode.compress(chunk, decoded);
  // exp(log p) is p up to the last float bit: the same model on both paths gives the same code
  // length to far below a bit, while the streams may differ after the first few bytes.
  EXPECT_NEAR(estimated.at("ideal_bits"), decoded.at("ideal_bits"), 1e-3);
  EXPECT_NEAR(estimated.at("coded_bits"), decoded.at("coded_bits"), 1.0);
  EXPECT_EQ(estimated.at(kMaskedBits), decoded.at(kMaskedBits));
  EXPECT_EQ(Bytes(estimated_stream.begin(), estimated_stream.begin() + 8),
            Bytes(decoded_stream.begin(), decoded_stream.begin() + 8));
  EXPECT_FALSE(estimate.verifiable());
  EXPECT_EQ(estimate.parameter_count(), 1234u);
  EXPECT_TRUE(
      estimate.settings().at("mode").get<std::string>().starts_with("estimate: not decoded"));
  EXPECT_THROW(estimate.decompress(Bytes{0x40}, 1), InputError);
}

TEST(LmCompressor, RejectsModelsWithoutASevenBitAlphabet) {
  EXPECT_THROW(
      LmCompressor(std::make_shared<test::Order2Predictor>(100), SevenBitMapping::ShiftRight),
      InputError);
}

// Corrupt streams decode to some bytes or throw CorruptDataError; never a crash or a hang.
// Returns how many corruptions were detected.
int corrupt_and_decode(const Compressor& lm, const std::vector<Bytes>& streams,
                       std::size_t original_size, int trials, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  int detected = 0;
  for (int trial = 0; trial < trials; ++trial) {
    Bytes damaged = streams[rng() % streams.size()];
    switch (rng() % 5) {
      case 0:  // one flipped bit
        damaged[rng() % damaged.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // a burst of random bytes
        for (int i = 0; i < 8; ++i)
          damaged[rng() % damaged.size()] = static_cast<std::uint8_t>(rng());
        break;
      case 2:  // truncated
        damaged.resize(rng() % damaged.size());
        break;
      case 3:  // trailing garbage
        for (int i = 0, n = 1 + static_cast<int>(rng() % 16); i < n; ++i) {
          damaged.push_back(static_cast<std::uint8_t>(rng()));
        }
        break;
      default:  // pure garbage of a plausible length
        for (auto& b : damaged) b = static_cast<std::uint8_t>(rng());
        break;
    }
    try {
      const Bytes out = lm.decompress(damaged, original_size);
      EXPECT_EQ(out.size(), original_size);
      for (auto b : out) EXPECT_LT(b, 128);
    } catch (const CorruptDataError&) {
      ++detected;
    }
  }
  return detected;
}

TEST(LmCompressor, CorruptedOrTruncatedStreamsThrowOrDecodeWrongBytesNeverCrash) {
  LmCompressor lm(order2(), SevenBitMapping::ClearTopBit);
  std::vector<Bytes> streams;
  for (int i = 0; i < 4; ++i) streams.push_back(lm.compress(text_like(10 + i)));
  constexpr int kTrials = 1000;
  const int detected = corrupt_and_decode(lm, streams, kChunk, kTrials, 77);
  // The length, final-bit and 7-bit-alphabet checks catch nearly everything.
  EXPECT_GT(detected, kTrials * 95 / 100);
  RecordProperty("detected", detected);
}

TEST(LmCompressor, RegistryValidatesItsOptions) {
  const CompressorKind* kind = find_compressor_kind("lm");
  ASSERT_NE(kind, nullptr);
  const CodecContext context;
  EXPECT_THROW(Options::validate(nlohmann::json::object(), kind->options, "compressors[0]"),
               InputError);  // checkpoint is required
  try {
    kind->make(Options::validate({{"checkpoint", "/nonexistent/model.lmct"}}, kind->options,
                                 "compressors[2]"),
               context);
    FAIL() << "a missing checkpoint must throw";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("compressors[2].checkpoint"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.lmct"), std::string::npos);
  }
  EXPECT_THROW(kind->make(Options::validate({{"checkpoint", "x.lmct"}, {"mode", "fast"}},
                                            kind->options, "compressors[2]"),
                          context),
               InputError);
}

// --- the real Transformer predictor --------------------------------------------------------------

// A tiny byte Transformer with seeded random weights, loaded through the registry as a config
// would load it.
class TinyTransformer : public ::testing::Test {
 protected:
  void SetUp() override {
    shape_.embedding_dim = 32;
    shape_.layers = 2;
    shape_.heads = 4;
    checkpoint_ = dir_.path() / "tiny.lmct";
    test::write_random_checkpoint(checkpoint_, shape_, 42);
  }

  std::unique_ptr<Compressor> make(SevenBitMapping mapping, const std::string& mode = "decode",
                                   const std::string& kv_cache = "binary16") {
    const CompressorKind* kind = find_compressor_kind("lm");
    const auto options = Options::validate(
        {{"checkpoint", checkpoint_.string()}, {"mode", mode}, {"kv_cache", kv_cache}},
        kind->options, "compressors[0]");
    return kind->make(options, CodecContext{kChunk, mapping});
  }

  test::TempDir dir_;
  TransformerShape shape_;
  std::filesystem::path checkpoint_;
};

TEST_F(TinyTransformer, CompressesAndDecodesEachKindOfData) {
  const auto text_lm = make(SevenBitMapping::ClearTopBit);
  const auto media_lm = make(SevenBitMapping::ShiftRight);
  EXPECT_EQ(text_lm->parameter_count(), shape_.parameter_count());
  EXPECT_TRUE(text_lm->verifiable());
  const auto model = text_lm->settings().at("model");
  EXPECT_NE(model.at("checkpoint").get<std::string>().find("tiny.lmct"), std::string::npos);
  EXPECT_EQ(model.at("checkpoint_fnv1a64").get<std::string>().size(), 16u);

  for (const Bytes& chunk : {text_like(20)}) expect_round_trip(*text_lm, chunk);
  for (const Bytes& chunk : {image_like(20), audio_like(20), random_bytes(20)}) {
    const Counters counters = expect_round_trip(*media_lm, chunk);
    EXPECT_EQ(counters.at(kMaskedBits), kChunk);
  }
}

TEST_F(TinyTransformer, DecodesIdenticallyUnderOtherThreadAndSessionCounts) {
  const auto lm = make(SevenBitMapping::ShiftRight);
  const std::vector<Bytes> chunks = {image_like(30), audio_like(31), random_bytes(32),
                                     image_like(33)};
  // Encode on this thread, one session at a time.
  std::vector<Bytes> streams;
  for (const auto& chunk : chunks) streams.push_back(lm->compress(chunk));

  // Encode again on two threads at once: the streams must not change.
  std::vector<Bytes> parallel_streams(chunks.size());
  // Decode on two threads at once, interleaved chunks.
  std::vector<Bytes> decoded(chunks.size());
  auto worker = [&](std::size_t first) {
    for (std::size_t i = first; i < chunks.size(); i += 2) {
      parallel_streams[i] = lm->compress(chunks[i]);
      decoded[i] = lm->decompress(streams[i], kChunk);
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(parallel_streams[i], streams[i]) << "chunk " << i;
    EXPECT_EQ(decoded[i], lm->expected_roundtrip(chunks[i])) << "chunk " << i;
  }
}

TEST_F(TinyTransformer, CorruptStreamsNeverCrashOrHang) {
  const auto lm = make(SevenBitMapping::ClearTopBit);
  const std::vector<Bytes> streams = {lm->compress(text_like(40)), lm->compress(text_like(41))};
  constexpr int kTrials = 60;
  const int detected = corrupt_and_decode(*lm, streams, kChunk, kTrials, 5);
  EXPECT_GT(detected, kTrials * 9 / 10);
}

TEST_F(TinyTransformer, EstimateModeSizesAgreeWithTheDecodedPath) {
  const auto decode = make(SevenBitMapping::ClearTopBit);
  const auto estimate = make(SevenBitMapping::ClearTopBit, "estimate");
  EXPECT_FALSE(estimate->verifiable());
  EXPECT_EQ(estimate->parameter_count(), decode->parameter_count());
  EXPECT_TRUE(
      estimate->settings().at("mode").get<std::string>().starts_with("estimate: not decoded"));
  EXPECT_EQ(estimate->settings().at("model").at("checkpoint_fnv1a64"),
            decode->settings().at("model").at("checkpoint_fnv1a64"));
  EXPECT_EQ(estimate->settings().at("model").at("architecture"),
            decode->settings().at("model").at("architecture"));
  // Estimate mode is the decode mode's blocked encoder without verification: same streams.
  for (const Bytes& chunk : {text_like(50), random_bytes(51)}) {
    Counters estimated, decoded;
    EXPECT_EQ(estimate->compress(chunk, estimated), decode->compress(chunk, decoded));
    EXPECT_EQ(estimated, decoded);
  }
}

// "kv_cache": "int8" codes with the 8-bit cache: recorded, round-trips alone and in lockstep, and
// gives other streams than binary16 (another model); a misspelt value names its key.
TEST_F(TinyTransformer, Int8CacheIsRecordedAndRoundTrips) {
  const auto half = make(SevenBitMapping::ClearTopBit);
  const auto int8 = make(SevenBitMapping::ClearTopBit, "decode", "int8");
  EXPECT_EQ(half->settings().at("model").at("kv_cache"), "binary16");
  EXPECT_EQ(int8->settings().at("model").at("kv_cache"), "int8");
  const std::vector<Bytes> chunks = {text_like(70), random_bytes(71), text_like(72)};
  std::vector<Bytes> streams;
  std::vector<std::size_t> sizes;
  for (const auto& chunk : chunks) {
    expect_round_trip(*int8, chunk);
    streams.push_back(int8->compress(chunk));
    sizes.push_back(chunk.size());
  }
  EXPECT_NE(streams[0], half->compress(chunks[0]));
  const std::vector<ByteView> views(streams.begin(), streams.end());
  const auto decoded = int8->decompress_batch(views, sizes);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(decoded[i].bytes, int8->expected_roundtrip(chunks[i])) << "chunk " << i;
  }
  try {
    make(SevenBitMapping::ClearTopBit, "decode", "fp8");
    FAIL() << "an unknown cache precision must throw";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("compressors[0].kv_cache"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"fp8\""), std::string::npos) << e.what();
  }
}

// The lockstep width is measured at first use (1, 2, 4 or 8 chunks, whichever decodes fastest
// here), or forced by LMC_LOCKSTEP_WIDTH; it never enters the settings that decide the bytes.
TEST_F(TinyTransformer, LockstepWidthIsMeasuredOrForced) {
  const auto lm = make(SevenBitMapping::ClearTopBit);
  const auto settings = lm->settings();
  ::setenv("LMC_LOCKSTEP_WIDTH", "3", 1);
  EXPECT_EQ(lm->decode_batch_size(), 3u);
  ::setenv("LMC_LOCKSTEP_WIDTH", "0", 1);
  EXPECT_THROW(lm->decode_batch_size(), std::invalid_argument);
  ::unsetenv("LMC_LOCKSTEP_WIDTH");
  const std::size_t measured = lm->decode_batch_size();
  EXPECT_TRUE(std::set<std::size_t>({1, 2, 4, 8}).count(measured)) << measured;
  EXPECT_EQ(lm->decode_batch_size(), measured);  // measured once per process
  EXPECT_EQ(lm->settings(), settings);
}

// The harness verifies groups of chunks with one lockstep decoder: every stream decodes as it
// would alone, whatever its length, and a corrupt stream fails on its own without stopping the
// others.
TEST_F(TinyTransformer, LockstepDecodingOfAGroupMatchesDecodingEachChunk) {
  const auto lm = make(SevenBitMapping::ClearTopBit);
  // The harness's group size is the width measured on this machine; the group below is decoded
  // together whatever it is.
  EXPECT_TRUE(std::set<std::size_t>({1, 2, 4, 8}).count(lm->decode_batch_size()))
      << lm->decode_batch_size();
  EXPECT_NE(lm->settings().at("mode").get<std::string>().find("lockstep"), std::string::npos);
  EXPECT_FALSE(lm->settings().at("model").at("kernels").get<std::string>().empty());
  std::vector<Bytes> chunks = {text_like(60), random_bytes(61), text_like(62), image_like(63)};
  chunks[1].resize(700);  // shorter chunks drop out of the lockstep early
  chunks.push_back({});
  std::vector<Bytes> streams;
  std::vector<std::size_t> sizes;
  for (const auto& chunk : chunks) {
    streams.push_back(lm->compress(chunk));
    sizes.push_back(chunk.size());
  }
  streams[2][40] ^= 0x10;  // damaged
  const std::vector<ByteView> views(streams.begin(), streams.end());
  const auto decoded = lm->decompress_batch(views, sizes);
  ASSERT_EQ(decoded.size(), chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (i == 2) continue;
    EXPECT_EQ(decoded[i].error, "") << "chunk " << i;
    EXPECT_EQ(decoded[i].bytes, lm->expected_roundtrip(chunks[i])) << "chunk " << i;
    EXPECT_EQ(decoded[i].bytes, lm->decompress(streams[i], sizes[i])) << "chunk " << i;
  }
  // The damaged chunk: the same outcome as decoding it alone.
  try {
    const Bytes alone = lm->decompress(streams[2], sizes[2]);
    EXPECT_EQ(decoded[2].error, "");
    EXPECT_EQ(decoded[2].bytes, alone);
  } catch (const CorruptDataError& e) {
    EXPECT_EQ(decoded[2].error, e.what());
  }
}

}  // namespace
}  // namespace lmc
