// llama2.c checkpoint + tokenizer on the real stories260K model (../shared/data).
#include "models/pretrained/llama2c.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "models/pretrained/pretrained_model.h"
#include "models/sampling.h"
#include "models/tokenizers/llama2c_tokenizer.h"
#include "test_support.h"

namespace lmc {
namespace {

const char* const kModelDir = "models/llama2c-stories260K";

std::filesystem::path checkpoint() { return test::shared_data() / kModelDir / "stories260K.bin"; }
std::filesystem::path tokenizer_file() { return test::shared_data() / kModelDir / "tok512.bin"; }

const PretrainedModel& stories260k() {
  static const PretrainedModel model =
      load_pretrained_model("llama2c", checkpoint(), tokenizer_file());
  return model;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A copy of `source` cut to `size` bytes, in `dir`.
std::filesystem::path truncated_copy(const std::filesystem::path& source, std::size_t size,
                                     const std::filesystem::path& dir) {
  const std::string bytes = read_text(source);
  const auto path = dir / ("cut-" + source.filename().string());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
  return path;
}

TEST(Llama2c, ReadsTheStories260KHeader) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const auto model = Llama2cPredictor::load(checkpoint());
  const Llama2cConfig& c = model->config();
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.seq_len, 512);
  EXPECT_TRUE(c.shared_classifier);
  // Embedding 512x64 + 5 x (2 norms + wq, wo 64x64 + wk, wv 32x64 + 3 FFN 172x64) + final norm;
  // the RoPE tables stored in the file are not parameters.
  EXPECT_EQ(model->parameter_count(), 32768u + 5u * (128 + 8192 + 4096 + 33024) + 64);
  EXPECT_EQ(model->describe()["checkpoint_fnv1a64"].get<std::string>().size(), 16u);
}

TEST(Llama2c, GreedyStoryFromOnceUponATimeMatchesLlama2c) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const std::string story = generate_text(stories260k(), "Once upon a time", 40, {});
  const std::string golden =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
      "park. One day, she saw a big, red ball.";
  EXPECT_EQ(story.substr(0, golden.size()), golden) << story;
}

TEST(Llama2c, GenerationPastTheContextSlidesTheWindow) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const PretrainedModel& model = stories260k();
  SlidingContext context(model);
  std::vector<float> probabilities(512);
  for (int i = 0; i < 1000; ++i) {
    context.next_probabilities(probabilities);
    context.append(300 + i % 200);
  }
  // BOS + 511 tokens fill the 512 positions; each slide keeps 255 tokens, so slides happen
  // at tokens 512 and 767 (counting from 1): two slides, 255 tokens re-read each.
  EXPECT_EQ(context.slides(), 2u);
  EXPECT_EQ(context.recomputed_tokens(), 2u * 255);
  context.next_probabilities(probabilities);
  double sum = 0;
  for (float p : probabilities) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-4);
}

TEST(Llama2cTokenizer, KnownTokensOfOnceUponATime) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const Tokenizer& tokenizer = *stories260k().tokenizer;
  const std::vector<int> ids = tokenizer.encode("Once upon a time");
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(tokenizer.token_bytes(ids[0]), " Once");
  EXPECT_EQ(tokenizer.token_bytes(ids[1]), " upon");
  EXPECT_EQ(tokenizer.token_bytes(ids[2]), " a");
  EXPECT_EQ(tokenizer.token_bytes(ids[3]), " time");
  EXPECT_EQ(ids, (std::vector<int>{403, 407, 261, 378}));
  EXPECT_EQ(tokenizer.bos(), 1);
  EXPECT_EQ(tokenizer.decode(ids), "Once upon a time");
}

TEST(Llama2cTokenizer, CharactersWithoutATokenFallBackToBytes) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const Tokenizer& tokenizer = *stories260k().tokenizer;
  // '#' and '\x01' have no token of their own: byte tokens 3 + 0x23 and 3 + 0x01.
  const std::vector<int> ids = tokenizer.encode("a#\x01");
  EXPECT_NE(std::find(ids.begin(), ids.end(), 3 + 0x23), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), 3 + 0x01), ids.end());
  EXPECT_EQ(tokenizer.token_bytes(3 + 0x23), "#");
  EXPECT_TRUE(tokenizer.token_bytes(0).empty());
  EXPECT_TRUE(tokenizer.token_bytes(2).empty());
}

TEST(Llama2cTokenizer, RoundTripsSevenBitText) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const Tokenizer& tokenizer = *stories260k().tokenizer;
  std::string wiki = read_text(test::shared_data() / "text/enwik9-head-10000");
  for (char& c : wiki) c = static_cast<char>(c & 0x7F);
  const std::vector<int> wiki_ids = tokenizer.encode(wiki);
  EXPECT_EQ(tokenizer.decode(wiki_ids), wiki);
  // BPE merges: this XML head averages 1.3 bytes per token (stories vocabulary, 512 tokens).
  EXPECT_LT(wiki_ids.size(), wiki.size() * 10 / 12);
  EXPECT_GT(wiki_ids.size(), wiki.size() * 10 / 15);

  std::mt19937_64 rng(7);
  std::string noise(3000, '\0');
  for (char& c : noise) c = static_cast<char>(rng() & 0x7F);  // NUL and controls included
  EXPECT_EQ(tokenizer.decode(tokenizer.encode(noise)), noise);
  // Spellings of special and byte tokens are text like any other, never those tokens.
  const std::string lookalikes = "<0x41><s></s><unk>\n<s>\n";
  const std::vector<int> ids = tokenizer.encode(lookalikes);
  EXPECT_EQ(tokenizer.decode(ids), lookalikes);
  for (int id : ids) EXPECT_FALSE(tokenizer.token_bytes(id).empty());
  EXPECT_TRUE(tokenizer.encode("").empty());
}

TEST(Llama2cTokenizer, SpellsAnyBytes) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const Tokenizer& tokenizer = *stories260k().tokenizer;
  EXPECT_EQ(tokenizer.any_bytes_problem(), "");
  std::mt19937_64 rng(8);
  std::string noise(3000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());  // invalid UTF-8 and NULs included
  const std::vector<int> ids = tokenizer.encode(noise);
  std::string spelled;
  for (int id : ids) spelled += tokenizer.token_bytes(id);
  EXPECT_EQ(spelled, " " + noise);
  // A byte of no character is its byte token; "Once" after it is merged as ever.
  const std::vector<int> mixed = tokenizer.encode("\xffOnce");
  const auto byte = std::find(mixed.begin(), mixed.end(), Llama2cTokenizer::kFirstByteToken + 0xff);
  ASSERT_NE(byte, mixed.end());
  std::string after;
  for (auto it = byte + 1; it != mixed.end(); ++it) after += tokenizer.token_bytes(*it);
  EXPECT_EQ(after, "Once");
  EXPECT_LT(mixed.end() - byte - 1, 4) << "merged pieces, not letters";
}

TEST(Llama2c, TruncatedOrForeignFilesAreInputErrorsNamingTheFile) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  test::TempDir dir;
  const auto cut_model = truncated_copy(checkpoint(), 100000, dir.path());
  try {
    Llama2cPredictor::load(cut_model);
    FAIL() << "truncated checkpoint loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(cut_model.filename().string()), std::string::npos);
  }
  EXPECT_THROW(Llama2cPredictor::load(truncated_copy(checkpoint(), 20, dir.path())), InputError);
  const auto cut_tokenizer = truncated_copy(tokenizer_file(), 3000, dir.path());
  try {
    Llama2cTokenizer::load(cut_tokenizer, 512);
    FAIL() << "truncated tokenizer loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Llama2cTokenizer::load(tokenizer_file(), 400), InputError);  // wrong vocab
  // An rwkv.cpp file is not a llama2.c checkpoint.
  const auto rwkv = test::shared_data() / "models/tiny-rwkv/tiny-rwkv-4v0-660K-FP32.bin";
  EXPECT_THROW(Llama2cPredictor::load(rwkv), InputError);
  EXPECT_THROW(load_pretrained_model("llama2c", checkpoint(), ""), InputError);
  EXPECT_THROW(load_pretrained_model("gpt", checkpoint(), tokenizer_file()), InputError);
  EXPECT_EQ(detect_model_format(checkpoint()), "llama2c");
  EXPECT_EQ(detect_model_format(rwkv), "rwkv");
}

TEST(Sampling, GreedyTakesTheLowestIdAmongTies) {
  std::mt19937_64 rng(1);
  const std::vector<float> probabilities = {0.1f, 0.4f, 0.1f, 0.4f};
  EXPECT_EQ(pick_token(probabilities, 0, rng), 1);
}

TEST(Sampling, TemperatureSamplingFollowsTheDistributionAndTheSeed) {
  const std::vector<float> probabilities = {0.0f, 0.75f, 0.25f};
  std::mt19937_64 rng(42);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 4000; ++i) ++counts[pick_token(probabilities, 1.0, rng)];
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[1] / 4000.0, 0.75, 0.03);
  // A low temperature sharpens towards the mode: 0.75^4 : 0.25^4 = 81 : 1.
  int mode = 0;
  for (int i = 0; i < 1000; ++i) mode += pick_token(probabilities, 0.25, rng) == 1;
  EXPECT_GT(mode, 960);
  EXPECT_THROW(pick_token(probabilities, -1.0, rng), InputError);
}

TEST(Sampling, SameSeedSameStory) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const std::string a = generate_text(stories260k(), "Once upon a time", 30, {1.0, 5});
  const std::string b = generate_text(stories260k(), "Once upon a time", 30, {1.0, 5});
  const std::string c = generate_text(stories260k(), "Once upon a time", 30, {1.0, 6});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.rfind("Once upon a time", 0), 0u);
}

TEST(Sampling, GenerateCommandPrintsTheStory) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  GenerateArgs args;
  args.model = checkpoint().string();
  args.tokenizer = tokenizer_file().string();
  args.prompt = "Once upon a time";
  args.tokens = 12;
  std::ostringstream out;
  EXPECT_EQ(generate_command(args, out), 0);
  EXPECT_EQ(out.str().rfind("Once upon a time, there was a little girl", 0), 0u) << out.str();
  args.tokens = -1;
  EXPECT_THROW(generate_command(args, out), InputError);
}

}  // namespace
}  // namespace lmc
