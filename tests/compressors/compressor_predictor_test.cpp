// Compressors as generative models (docs/PROTOCOL.md section 6.5): probabilities from code lengths.
#include "compressors/compressor_predictor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "codec_checks.h"
#include "models/pretrained/pretrained_model.h"
#include "models/sampling.h"

namespace lmc {
namespace {

std::shared_ptr<const Compressor> gzip() { return test::make_codec(gzip_kind()); }

TEST(CompressorPredictor, ProbabilitiesArePowersOfTwoOfTheCodeLengthDifferences) {
  const auto codec = gzip();
  const CompressorPredictor predictor(codec, "gzip");
  auto session = predictor.new_session();
  const std::string context = "abracadabra abracadabr";
  for (char c : context) session->append(static_cast<unsigned char>(c));
  std::vector<float> probabilities(256);
  session->next_probabilities(probabilities);

  std::vector<double> bits(256);
  for (int b = 0; b < 256; ++b) {
    Bytes extended(context.begin(), context.end());
    extended.push_back(static_cast<std::uint8_t>(b));
    bits[b] = 8.0 * static_cast<double>(codec->compress(extended).size());
  }
  const double shortest = *std::min_element(bits.begin(), bits.end());
  for (int b = 0; b < 256; ++b) {
    EXPECT_FLOAT_EQ(probabilities[b], static_cast<float>(std::exp2(shortest - bits[b]))) << b;
  }
  // Continuing the repeat ('a') costs no more than any other byte.
  EXPECT_EQ(probabilities['a'], 1.0f);
}

TEST(CompressorPredictor, GreedyGzipContinuesARepeatedPhrase) {
  PretrainedModel model;
  model.format = "compressor";
  model.predictor = std::make_shared<const CompressorPredictor>(gzip(), "gzip");
  model.tokenizer = std::make_shared<const ByteTokenizer>();
  const std::string prompt = "The quick brown fox jumps over the lazy dog. The quick brown";
  EXPECT_EQ(generate_text(model, prompt, 40, {}),
            prompt + " fox jumps over the lazy dog. The quick ");
  EXPECT_EQ(model.predictor->vocab_size(), 256);
  EXPECT_EQ(model.predictor->describe()["compressor"], "gzip");
}

// Every tenth to twentieth byte of a 300-byte text is sampled; gzip fills them in.
std::vector<bool> every_other_ten(std::size_t size) {
  std::vector<bool> sampled(size);
  for (std::size_t i = 0; i < size; ++i) sampled[i] = (i / 10) % 2 == 1;
  return sampled;
}

TEST(FillSampledBytes, KeepsTheGivenBytesAndRepeatsForASeed) {
  const CompressorPredictor predictor(gzip(), "gzip");
  std::string text;
  while (text.size() < 300) text += "the cat sat on the mat; ";
  const Bytes original(text.begin(), text.begin() + 300);
  const auto sampled = every_other_ten(original.size());
  const Bytes first = fill_sampled_bytes(predictor, original, sampled, std::nullopt, {1.0, 7});
  ASSERT_EQ(first.size(), original.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    if (!sampled[i]) {
      EXPECT_EQ(first[i], original[i]) << "given byte " << i;
    }
  }
  EXPECT_EQ(fill_sampled_bytes(predictor, original, sampled, std::nullopt, {1.0, 7}), first);
  EXPECT_NE(fill_sampled_bytes(predictor, original, sampled, std::nullopt, {1.0, 8}), first);
  int draws = 0;
  fill_sampled_bytes(predictor, original, sampled, std::nullopt, {1.0, 7}, [&] { ++draws; });
  EXPECT_EQ(draws, 150);
}

// A language model over 7-bit text: all its mass on a symbol it never sees (200), then on 'A'.
// It must see the 7-bit image of the bytes and only draw among the 128 symbols.
class SevenBitRecorder final : public Predictor {
 public:
  struct Log {
    std::vector<int> seen;
  };
  explicit SevenBitRecorder(std::shared_ptr<Log> log) : log_(std::move(log)) {}
  int vocab_size() const override { return 256; }
  std::uint64_t parameter_count() const override { return 0; }
  nlohmann::json describe() const override { return {}; }
  std::unique_ptr<PredictorSession> new_session() const override {
    struct Session final : PredictorSession {
      explicit Session(std::shared_ptr<Log> log) : log(std::move(log)) {}
      void next_probabilities(std::span<float> p) override {
        std::fill(p.begin(), p.end(), 0.0f);
        p[200] = 1.0f;
        p['A'] = 1e-3f;
      }
      void append(int symbol) override { log->seen.push_back(symbol); }
      std::shared_ptr<Log> log;
    };
    return std::make_unique<Session>(log_);
  }

 private:
  std::shared_ptr<Log> log_;
};

TEST(FillSampledBytes, ALanguageModelSeesAndDrawsSevenBitSymbols) {
  const auto log = std::make_shared<SevenBitRecorder::Log>();
  const SevenBitRecorder predictor(log);
  const Bytes original = {0xFF, 0x80, 0x11, 0x00, 0x00};
  const std::vector<bool> sampled = {false, false, false, true, true};
  const Bytes image =
      fill_sampled_bytes(predictor, original, sampled, SevenBitMapping::ShiftRight, {1.0, 1});
  EXPECT_EQ(image, (Bytes{0xFF, 0x80, 0x11, 'A' << 1, 'A' << 1}));
  EXPECT_EQ(log->seen, (std::vector<int>{0x7F, 0x40, 0x08, 'A', 'A'}));
  log->seen.clear();
  const Bytes text =
      fill_sampled_bytes(predictor, original, sampled, SevenBitMapping::ClearTopBit, {1.0, 1});
  EXPECT_EQ(text, (Bytes{0xFF, 0x80, 0x11, 'A', 'A'}));
  EXPECT_EQ(log->seen, (std::vector<int>{0x7F, 0x00, 0x11, 'A', 'A'}));
}

TEST(FillSampledBytes, OneFlagPerByte) {
  const CompressorPredictor predictor(gzip(), "gzip");
  EXPECT_THROW(fill_sampled_bytes(predictor, Bytes(4), std::vector<bool>(3), std::nullopt, {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace lmc
