// GGUF models through llama.cpp, on stories260K converted to GGUF by llama.cpp's own converter
// (the CTest fixture gguf_fixture_create): the same network as our llama.c predictor, so its
// probabilities, greedy story and compression rate must agree with that path.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "compressors/pretrained_compressor.h"
#include "models/pretrained/pretrained_model.h"
#include "models/sampling.h"
#include "test_support.h"

namespace lmc {
namespace {

const char* const kModelDir = "models/llama2c-stories260K";
const char* const kEnwik = "text/enwiki-2016-sample.xml";
constexpr std::size_t kHeldOut = 5480771;  // the enwik dataset's `offset` of the held-out tail
constexpr std::size_t kChunk = 2048;

std::filesystem::path gguf_file() {
  return std::filesystem::path(LMC_GGUF_FIXTURE) / "stories260K.gguf";
}
std::filesystem::path llama2c_file() { return test::shared_data() / kModelDir / "stories260K.bin"; }
std::filesystem::path tokenizer_file() { return test::shared_data() / kModelDir / "tok512.bin"; }

// Skips when this build has no llama.cpp, or no fixture (no ../shared/data, or an own llama.cpp
// without the fetched release's converter), except under CI, where all of them must be there.
#define LMC_REQUIRE_GGUF()                                                                         \
  do {                                                                                             \
    LMC_REQUIRE_SHARED_DATA(kModelDir);                                                            \
    if (!gguf_format_available()) {                                                                \
      LMC_SKIP_UNLESS_CI("this build has no llama.cpp (scripts/fetch-llama-cpp.sh, reconfigure)"); \
    }                                                                                              \
    if (!std::filesystem::exists(gguf_file())) {                                                   \
      LMC_SKIP_UNLESS_CI("no " << gguf_file() << " (ctest makes it with the converter of the "     \
                               << "fetched llama.cpp: gguf_fixture_create)");                      \
    }                                                                                              \
  } while (0)

const PretrainedModel& gguf_model() {
  static const PretrainedModel model = load_pretrained_model("gguf", gguf_file(), "");
  return model;
}
const PretrainedModel& llama2c_model() {
  static const PretrainedModel model =
      load_pretrained_model("llama2c", llama2c_file(), tokenizer_file());
  return model;
}

std::vector<float> probabilities_after(const PretrainedModel& model, const std::vector<int>& ids) {
  SlidingContext context(model);
  for (int id : ids) context.append(id);
  std::vector<float> probabilities(model.predictor->vocab_size());
  context.next_probabilities(probabilities);
  return probabilities;
}

std::string read_file(const std::filesystem::path& path, std::size_t offset = 0,
                      std::size_t size = std::string::npos) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return offset >= bytes.size() ? std::string() : bytes.substr(offset, size);
}

// Skipped by design in a build with llama.cpp (CI's included): there the format is available and
// the tests above cover it; this one checks what a build without it tells the user.
TEST(Gguf, WithoutLlamaCppTheFormatSaysHowToEnableIt) {
  if (gguf_format_available()) {
    GTEST_SKIP() << "by design: this build has llama.cpp, so the format is there (the other Gguf "
                 << "tests use it); this test is for builds without it";
  }
  try {
    load_pretrained_model("gguf", "model.gguf", "");
    FAIL() << "gguf loaded without llama.cpp";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("fetch-llama-cpp.sh"), std::string::npos) << e.what();
  }
}

TEST(Gguf, ConvertedStories260KReadsItsMetadata) {
  LMC_REQUIRE_GGUF();
  const PretrainedModel& model = gguf_model();
  EXPECT_EQ(model.format, "gguf");
  EXPECT_EQ(model.context_limit, 512);  // the checkpoint's seq_len (the converter is fixed)
  EXPECT_EQ(model.predictor->vocab_size(), 512);
  EXPECT_EQ(model.tokenizer->bos(), 1);
  EXPECT_EQ(model.tokenizer->dummy_prefix(), " ");
  EXPECT_EQ(detect_model_format(gguf_file()), "gguf");
  // The same weights as the llama.c file; GGUF keeps the shared classifier as its own tensor.
  EXPECT_EQ(model.predictor->parameter_count(),
            llama2c_model().predictor->parameter_count() + 512u * 64);
  const nlohmann::json description = model.describe();
  EXPECT_EQ(description["architecture"], "llama");
  EXPECT_FALSE(description["llama_cpp"]["cpu_variant"].get<std::string>().empty());
  EXPECT_EQ(description["llama_cpp"]["threads"], 1);
  EXPECT_EQ(model.tokenizer->seven_bit_text_problem(), "");
}

TEST(Gguf, TokenizesLikeTheLlama2cTokenizer) {
  LMC_REQUIRE_GGUF();
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  std::string wiki = read_file(test::shared_data() / "text/enwik9-head-10000");
  for (char& c : wiki) c = static_cast<char>(c & 0x7F);
  const Tokenizer& gguf = *gguf_model().tokenizer;
  EXPECT_EQ(gguf.encode("Once upon a time"), (std::vector<int>{403, 407, 261, 378}));
  const std::vector<int> ids = gguf.encode(wiki);
  EXPECT_EQ(gguf.decode(ids), wiki);
  // llama.cpp's SentencePiece tokenizer and ours may split a few words differently; the counts
  // stay within 1 %.
  const auto ours = llama2c_model().tokenizer->encode(wiki).size();
  EXPECT_NEAR(static_cast<double>(ids.size()), static_cast<double>(ours), ours * 0.01);
  const std::string lookalikes = "<0x41><s></s><unk>\n<s>\n";
  EXPECT_EQ(gguf.decode(gguf.encode(lookalikes)), lookalikes);
  EXPECT_TRUE(gguf.encode("").empty());
}

TEST(Gguf, ProbabilitiesAgreeWithTheLlama2cPredictor) {
  LMC_REQUIRE_GGUF();
  const std::vector<int> prompt =
      llama2c_model().tokenizer->encode("Once upon a time, there was a little dog named Max.");
  double max_difference = 0;
  for (std::size_t length = 1; length <= prompt.size(); ++length) {
    const std::vector<int> prefix(prompt.begin(), prompt.begin() + length);
    const auto ours = probabilities_after(llama2c_model(), prefix);
    const auto theirs = probabilities_after(gguf_model(), prefix);
    // Log-probabilities are the logits less one constant per position.
    for (std::size_t i = 0; i < ours.size(); ++i) {
      max_difference = std::max(max_difference, std::abs(std::log(static_cast<double>(ours[i])) -
                                                         std::log(static_cast<double>(theirs[i]))));
    }
  }
  RecordProperty("max_log_probability_difference", std::to_string(max_difference));
  EXPECT_LT(max_difference, 1e-4);
}

TEST(Gguf, GreedyStoryIsTheLlama2cStory) {
  LMC_REQUIRE_GGUF();
  const std::string ours = generate_text(llama2c_model(), "Once upon a time", 120, {});
  const std::string theirs = generate_text(gguf_model(), "Once upon a time", 120, {});
  EXPECT_EQ(theirs, ours);
  EXPECT_EQ(theirs.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << theirs;
}

TEST(Gguf, GenerateCommandContinuesOnceUponATime) {
  LMC_REQUIRE_GGUF();
  GenerateArgs args;
  args.model = gguf_file().string();
  args.prompt = "Once upon a time";
  args.tokens = 12;
  std::ostringstream out;
  EXPECT_EQ(generate_command(args, out), 0);  // format "auto" finds the GGUF magic
  EXPECT_EQ(out.str().rfind("Once upon a time, there was a little girl", 0), 0u) << out.str();
}

TEST(Gguf, SameTokensGiveBitIdenticalProbabilitiesInEveryContext) {
  LMC_REQUIRE_GGUF();
  const std::vector<int> ids = gguf_model().tokenizer->encode(
      "The little cat sat on the mat. It was a sunny day and the cat was happy.");
  const auto first = probabilities_after(gguf_model(), ids);
  // A second context while the first is alive, then one of a two-thread model.
  SlidingContext other(gguf_model());
  const auto second = probabilities_after(gguf_model(), ids);
  EXPECT_EQ(first, second);
  PretrainedOptions two_threads;
  two_threads.threads = 2;
  const PretrainedModel threaded = load_pretrained_model("gguf", gguf_file(), "", 0, two_threads);
  EXPECT_EQ(threaded.describe()["llama_cpp"]["threads"], 2);
  EXPECT_EQ(probabilities_after(threaded, ids), first);
}

TEST(Gguf, CpuVariantIsRecordedAndCanBePinned) {
  LMC_REQUIRE_GGUF();
  const std::string variant = gguf_model().describe()["llama_cpp"]["cpu_variant"];
  PretrainedOptions pinned;
  pinned.cpu_variant = variant;
  EXPECT_EQ(load_pretrained_model("gguf", gguf_file(), "", 0, pinned)
                .describe()["llama_cpp"]["cpu_variant"],
            variant);
  pinned.cpu_variant = "no-such-cpu";
  EXPECT_THROW(load_pretrained_model("gguf", gguf_file(), "", 0, pinned), InputError);
}

// Compresses and decodes held-out enwik chunks with both formats; the rates must agree.
TEST(Gguf, RoundTripsHeldOutEnwikChunksAtTheLlama2cRate) {
  LMC_REQUIRE_GGUF();
  LMC_REQUIRE_SHARED_DATA(kEnwik);
  const PretrainedCompressor gguf(gguf_model(), 100, SevenBitMapping::ClearTopBit);
  const PretrainedCompressor llama2c(llama2c_model(), 100, SevenBitMapping::ClearTopBit);
  const std::string text = read_file(test::shared_data() / kEnwik, kHeldOut, 4 * kChunk);
  ASSERT_EQ(text.size(), 4 * kChunk);
  double gguf_bytes = 0, llama2c_bytes = 0;
  for (std::size_t first = 0; first < text.size(); first += kChunk) {
    const Bytes chunk(text.begin() + static_cast<std::ptrdiff_t>(first),
                      text.begin() + static_cast<std::ptrdiff_t>(first + kChunk));
    Counters counters;
    const Bytes packed = gguf.compress(chunk, counters);
    EXPECT_EQ(gguf.decompress(packed, chunk.size()), gguf.expected_roundtrip(chunk));
    gguf_bytes += static_cast<double>(packed.size());
    Counters ignored;
    llama2c_bytes += static_cast<double>(llama2c.compress(chunk, ignored).size());
  }
  const double gguf_rate = 100 * gguf_bytes / static_cast<double>(text.size());
  const double llama2c_rate = 100 * llama2c_bytes / static_cast<double>(text.size());
  RecordProperty("gguf_rate_percent", std::to_string(gguf_rate));
  RecordProperty("llama2c_rate_percent", std::to_string(llama2c_rate));
  EXPECT_NEAR(gguf_rate, llama2c_rate, 0.3);
  // stories260K knows children's stories, not Wikipedia markup: it barely compresses it.
  EXPECT_GT(gguf_rate, 80.0);
  EXPECT_LT(gguf_rate, 100.0);
}

// A copy of the first `size` bytes of `source` in `dir`.
std::filesystem::path cut_copy(const std::filesystem::path& source, std::size_t size,
                               const std::filesystem::path& dir) {
  const std::string bytes = read_file(source, 0, size);
  const auto path = dir / ("cut-" + std::to_string(size) + "-" + source.filename().string());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
  return path;
}

void expect_input_error_naming(const std::filesystem::path& path) {
  try {
    load_pretrained_model("gguf", path, "");
    ADD_FAILURE() << path << " loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path.filename().string()), std::string::npos) << e.what();
  }
}

// The registry entry: "gguf" with its options, each error naming its key.
TEST(Gguf, ConfigOptionsAreCheckedWithTheirKeyPath) {
  LMC_REQUIRE_GGUF();
  const CompressorKind* kind = find_compressor_kind("pretrained");
  ASSERT_NE(kind, nullptr);
  const auto make = [&](nlohmann::json extra) {
    nlohmann::json config = {{"format", "gguf"}, {"checkpoint", gguf_file().string()}};
    config.update(extra);
    const Options options = Options::validate(config, kind->options, "compressors[0]", {"kind"});
    return kind->make(options, CodecContext{kChunk, SevenBitMapping::ClearTopBit});
  };
  const auto expect_key = [&](nlohmann::json extra, const std::string& key) {
    try {
      make(extra);
      ADD_FAILURE() << extra.dump() << " accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  const auto compressor = make({{"threads", 1}, {"mode", "estimate"}});
  EXPECT_FALSE(compressor->verifiable());
  EXPECT_EQ(compressor->settings()["format"], "gguf");
  expect_key({{"mode", "fast"}}, "compressors[0].mode");
  expect_key({{"threads", 0}}, "compressors[0].threads");
  expect_key({{"context", 4096}}, "compressors[0].checkpoint");  // beyond the model's 512
  expect_key({{"cpu_variant", "no-such-cpu"}}, "cpu_variant \"no-such-cpu\"");
  expect_key({{"checkpoint", "missing.gguf"}}, "missing.gguf");
}

TEST(Gguf, TruncatedForeignAndVocabularyOnlyFilesAreInputErrorsNamingTheFile) {
  LMC_REQUIRE_GGUF();
  test::TempDir dir;
  const auto size = std::filesystem::file_size(gguf_file());
  expect_input_error_naming(cut_copy(gguf_file(), size / 2, dir.path()));
  expect_input_error_naming(cut_copy(gguf_file(), 3, dir.path()));
  expect_input_error_naming(llama2c_file());  // a llama.c checkpoint
  expect_input_error_naming(dir.path() / "missing.gguf");
  // llama.cpp's own vocabulary-only GGUF of Llama 2's SentencePiece tokenizer.
  const std::filesystem::path vocab_only =
      std::filesystem::path(LMC_LLAMA_CPP_SOURCE) / "models/ggml-vocab-llama-spm.gguf";
  if (std::filesystem::exists(vocab_only)) expect_input_error_naming(vocab_only);
  EXPECT_THROW(load_pretrained_model("gguf", gguf_file(), tokenizer_file()), InputError);
}

TEST(Gguf, EstimateModeBatchesEachWindowAndSizesLikeTheDecodeMode) {
  LMC_REQUIRE_GGUF();
  LMC_REQUIRE_SHARED_DATA(kEnwik);
  const PretrainedModel& model = gguf_model();
  // 1500 tokens: three windows of the sliding policy, as SlidingContext slides.
  std::vector<int> ids;
  for (int i = 0; i < 1500; ++i) ids.push_back(300 + (i * 7) % 200);
  const auto windows = sliding_windows(model.context_limit, true, ids.size());
  ASSERT_EQ(windows.size(), 5u);  // slides at 511, 767, 1023, 1279
  EXPECT_EQ(windows[1].kept_from, 511u - 255);
  const std::vector<float> batched = windowed_probabilities(model, ids);
  SlidingContext context(model);
  std::vector<float> probabilities(512);
  double max_difference = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    context.next_probabilities(probabilities);
    for (std::size_t t = 0; t < 512; ++t) {
      max_difference = std::max(
          max_difference, static_cast<double>(std::abs(batched[i * 512 + t] - probabilities[t])));
    }
    context.append(ids[i]);
  }
  EXPECT_EQ(context.slides(), windows.size() - 1);
  EXPECT_LT(max_difference, 1e-5);

  const PretrainedCompressor decode(model, 100, SevenBitMapping::ClearTopBit);
  const PretrainedCompressor estimate(model, 100, SevenBitMapping::ClearTopBit, true);
  EXPECT_TRUE(decode.verifiable());
  EXPECT_FALSE(estimate.verifiable());
  EXPECT_NE(estimate.settings()["mode"].get<std::string>().find("not decoded"), std::string::npos);
  const std::string text = read_file(test::shared_data() / kEnwik, kHeldOut, kChunk);
  const Bytes chunk(text.begin(), text.end());
  Counters a, b;
  const double decoded = static_cast<double>(decode.compress(chunk, a).size());
  const double estimated = static_cast<double>(estimate.compress(chunk, b).size());
  EXPECT_NEAR(estimated, decoded, decoded * 0.001);
  EXPECT_EQ(a.at("window_slides"), b.at("window_slides"));
  EXPECT_THROW(estimate.decompress(Bytes(), 0), InputError);
}

}  // namespace
}  // namespace lmc
