#include "compressors/arithmetic_coder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "common/error.h"
#include "compressors/order2_predictor.h"
#include "test_support.h"

namespace lmc {
namespace {

constexpr int kVocab = 256;

// Distributions from easy to nasty: smooth, peaked near one, mostly exact zeros, tiny values.
std::vector<float> random_distribution(std::mt19937_64& rng) {
  std::vector<float> p(kVocab);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, kVocab - 1);
  switch (rng() % 5) {
    case 0:  // smooth
      for (auto& x : p) x = unit(rng);
      break;
    case 1:  // heavy-tailed (Dirichlet-like with a small concentration)
      for (auto& x : p) x = std::pow(unit(rng), 12.0f);
      break;
    case 2:  // one symbol near one, the rest near zero
      for (auto& x : p) x = 1e-9f * unit(rng);
      p[pick(rng)] = 1.0f;
      break;
    case 3:  // a handful of nonzero symbols, exact zeros elsewhere
      std::fill(p.begin(), p.end(), 0.0f);
      for (int i = 0; i < 3; ++i) p[pick(rng)] = unit(rng) + 1e-3f;
      break;
    default:  // all values tiny, some denormal: normalisation must still work
      for (auto& x : p) x = 1e-38f * unit(rng) + 1e-44f;
      break;
  }
  return p;
}

// Mostly draws from the distribution (what a real model sees); one step in ten codes a
// uniformly chosen symbol, so floor-probability symbols get coded too.
int draw_symbol(const CodingDistribution& d, std::mt19937_64& rng) {
  if (rng() % 10 == 0) return static_cast<int>(rng() % kVocab);
  std::uniform_int_distribution<std::uint64_t> target(0, d.total() - 1);
  return d.symbol_at(target(rng));
}

struct CodedRun {
  Bytes stream;
  std::uint64_t coded_bits = 0;
  double ideal_bits = 0;
};

TEST(CodingDistribution, FloorsQuantisesAndGivesEverySymbolARange) {
  std::vector<float> p(kVocab, 0.0f);
  p[7] = 1.0f;
  CodingDistribution d;
  d.assign(p);
  const double eps = 0x1p-23;
  EXPECT_DOUBLE_EQ(d.floored_probability(0), eps);
  EXPECT_DOUBLE_EQ(d.floored_probability(7), 1.0 - 2.0 * kVocab * eps + eps);
  EXPECT_NEAR(d.ideal_bits(0), 23.0, 1e-12);
  for (int s = 0; s < kVocab; ++s) {
    EXPECT_GE(d.cumulative_high(s) - d.cumulative_low(s), 128u) << s;
  }
  EXPECT_LE(d.total(), 1u << 30);
  EXPECT_EQ(d.symbol_at(d.cumulative_low(7)), 7);
  EXPECT_EQ(d.symbol_at(d.cumulative_high(7) - 1), 7);
  EXPECT_EQ(d.symbol_at(d.cumulative_high(7)), 8);
  EXPECT_EQ(d.symbol_at(d.total() - 1), kVocab - 1);
}

TEST(CodingDistribution, UnnormalisedInputGivesTheSameIntegers) {
  std::mt19937_64 rng(5);
  std::vector<float> p = random_distribution(rng);
  std::vector<float> scaled = p;
  for (auto& x : scaled) x *= 4.0f;  // exact in binary floating point
  CodingDistribution a, b;
  a.assign(p);
  b.assign(scaled);
  for (int s = 0; s <= kVocab - 1; ++s) EXPECT_EQ(a.cumulative_high(s), b.cumulative_high(s));
}

TEST(CodingDistribution, RejectsBrokenModels) {
  CodingDistribution d;
  std::vector<float> zeros(kVocab, 0.0f);
  EXPECT_THROW(d.assign(zeros), std::invalid_argument);
  std::vector<float> nan(kVocab, 1.0f);
  nan[3] = std::nanf("");
  EXPECT_THROW(d.assign(nan), std::invalid_argument);
  std::vector<float> negative(kVocab, 1.0f);
  negative[3] = -0.5f;
  EXPECT_THROW(d.assign(negative), std::invalid_argument);
  EXPECT_THROW(d.assign({}), std::invalid_argument);
}

TEST(ArithmeticCoder, EmptyMessageIsOneByte) {
  ArithmeticEncoder encoder;
  const Bytes stream = encoder.finish();
  EXPECT_EQ(encoder.bit_count(), 2u);
  ASSERT_EQ(stream.size(), 1u);
  ArithmeticDecoder decoder(stream);
  EXPECT_NO_THROW(decoder.finish());
}

TEST(ArithmeticCoder, RoundTripsHundredThousandRandomDistributions) {
  constexpr int kSteps = 100'000;
  std::mt19937_64 rng(2023);
  std::vector<std::vector<float>> distributions;
  std::vector<int> symbols;
  ArithmeticEncoder encoder;
  CodingDistribution d;
  double ideal = 0;
  for (int t = 0; t < kSteps; ++t) {
    distributions.push_back(random_distribution(rng));
    d.assign(distributions.back());
    symbols.push_back(draw_symbol(d, rng));
    ideal += d.ideal_bits(symbols.back());
    encoder.encode(d, symbols.back());
  }
  const Bytes stream = encoder.finish();
  EXPECT_EQ(stream.size(), (encoder.bit_count() + 7) / 8);

  ArithmeticDecoder decoder(stream);
  for (int t = 0; t < kSteps; ++t) {
    d.assign(distributions[t]);
    ASSERT_EQ(decoder.decode(d), symbols[t]) << "step " << t;
  }
  EXPECT_NO_THROW(decoder.finish());
  // Over 100k steps the quantisation of floor-probability symbols (frequency >= 128 on a 2^30
  // grid, so at most 1/128 relative error) may add a little on top of the 2 final bits.
  const double overhead = static_cast<double>(encoder.bit_count()) - ideal;
  RecordProperty("ideal_bits", std::to_string(ideal));
  RecordProperty("coded_bits", std::to_string(encoder.bit_count()));
  EXPECT_GT(overhead, -1.0);
  EXPECT_LT(overhead, 0.001 * kSteps);
}

// Codes every 2048-symbol chunk of `symbols` on its own with the order-2 model, as the LM
// compressor does, and checks round trip and overhead per chunk.
void check_chunks_with_order2(const std::vector<std::uint8_t>& symbols, std::size_t chunk_size,
                              double* worst_overhead_bits) {
  test::Order2Predictor model;
  std::vector<float> probs(kVocab);
  CodingDistribution d;
  for (std::size_t start = 0; start + chunk_size <= symbols.size(); start += chunk_size) {
    auto session = model.new_session();
    ArithmeticEncoder encoder;
    double ideal = 0;
    for (std::size_t i = start; i < start + chunk_size; ++i) {
      session->next_probabilities(probs);
      d.assign(probs);
      ideal += d.ideal_bits(symbols[i]);
      encoder.encode(d, symbols[i]);
      session->append(symbols[i]);
    }
    const Bytes stream = encoder.finish();
    const double overhead = static_cast<double>(encoder.bit_count()) - ideal;
    *worst_overhead_bits = std::max(*worst_overhead_bits, overhead);
    ASSERT_LE(static_cast<double>(stream.size()) * 8, ideal + 32) << "chunk at " << start;
    ASSERT_GT(overhead, -1.0);

    auto decode_session = model.new_session();
    ArithmeticDecoder decoder(stream);
    for (std::size_t i = start; i < start + chunk_size; ++i) {
      decode_session->next_probabilities(probs);
      d.assign(probs);
      const int symbol = decoder.decode(d);
      ASSERT_EQ(symbol, symbols[i]) << "chunk at " << start << ", byte " << i - start;
      decode_session->append(symbol);
    }
    ASSERT_NO_THROW(decoder.finish());
  }
}

TEST(ArithmeticCoder, SkewedTextDistributionsStayWithinFourBytesOfIdeal) {
  LMC_REQUIRE_SHARED_DATA("text/enwiki-2016-sample.xml");
  std::ifstream in(test::shared_data() / "text/enwiki-2016-sample.xml", std::ios::binary);
  std::vector<std::uint8_t> text(256 * 1024);
  in.read(reinterpret_cast<char*>(text.data()), static_cast<std::streamsize>(text.size()));
  ASSERT_EQ(in.gcount(), static_cast<std::streamsize>(text.size()));
  for (auto& b : text) b &= 0x7F;  // the enwik 7-bit mapping

  double worst = -1e9;
  check_chunks_with_order2(text, 2048, &worst);
  RecordProperty("worst_overhead_bits", std::to_string(worst));
  EXPECT_LT(worst, 32.0);
}

TEST(ArithmeticCoder, RandomBytesCostEightBitsEachPlusLittle) {
  std::mt19937_64 rng(11);
  std::vector<std::uint8_t> noise(64 * 2048);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  double worst = -1e9;
  check_chunks_with_order2(noise, 2048, &worst);
  EXPECT_LT(worst, 32.0);
}

// Arbitrary bytes fed to the decoder: some symbols or a CorruptDataError, never a crash or hang.
TEST(ArithmeticDecoder, GarbageDecodesOrThrowsButNeverHangs) {
  std::mt19937_64 rng(99);
  std::vector<float> probs(kVocab);
  CodingDistribution d;
  int rejected = 0;
  constexpr int kTrials = 2000;
  for (int trial = 0; trial < kTrials; ++trial) {
    Bytes garbage(rng() % 64);
    for (auto& b : garbage) b = static_cast<std::uint8_t>(rng());
    const auto dist = random_distribution(rng);
    d.assign(dist);
    ArithmeticDecoder decoder(garbage);
    for (int i = 0; i < 500; ++i) {
      const int symbol = decoder.decode(d);
      ASSERT_GE(symbol, 0);
      ASSERT_LT(symbol, kVocab);
    }
    try {
      decoder.finish();
    } catch (const CorruptDataError&) {
      ++rejected;
    }
  }
  // Almost all garbage is caught by the length and final-bits checks.
  EXPECT_GT(rejected, kTrials * 9 / 10);
}

TEST(ArithmeticDecoder, DetectsTruncationAndTrailingBytes) {
  std::mt19937_64 rng(3);
  std::vector<std::vector<float>> distributions;
  std::vector<int> symbols;
  ArithmeticEncoder encoder;
  CodingDistribution d;
  for (int t = 0; t < 2048; ++t) {
    distributions.push_back(random_distribution(rng));
    d.assign(distributions.back());
    symbols.push_back(draw_symbol(d, rng));
    encoder.encode(d, symbols.back());
  }
  const Bytes stream = encoder.finish();
  auto decode_all = [&](ByteView s) {
    ArithmeticDecoder decoder(s);
    for (const auto& dist : distributions) {
      d.assign(dist);
      decoder.decode(d);
    }
    decoder.finish();
  };
  EXPECT_NO_THROW(decode_all(stream));
  EXPECT_THROW(decode_all(ByteView(stream).first(stream.size() - 1)), CorruptDataError);
  Bytes longer = stream;
  longer.push_back(0);
  EXPECT_THROW(decode_all(longer), CorruptDataError);
  Bytes flipped = stream;
  flipped.back() ^= 0x01;  // a padding or final bit
  EXPECT_THROW(decode_all(flipped), CorruptDataError);
}

}  // namespace
}  // namespace lmc
