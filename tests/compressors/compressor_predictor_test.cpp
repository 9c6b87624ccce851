// Compressors as generative models (docs/PROTOCOL.md section 6.5): probabilities from code lengths.
#include "compressors/compressor_predictor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "codec_checks.h"
#include "models/pretrained_model.h"
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

}  // namespace
}  // namespace lmc
