// TorchScript modules with SentencePiece tokenizers: the way a user brings a Hugging Face model.
// The fixture (a traced tiny causal LM, a SentencePiece model trained on 8 kB of text, and what
// Python computed with them) is made by make_torchscript_fixture.py before these tests run
// (CTest fixture "torchscript_model"); LMC_TORCHSCRIPT_FIXTURE names its folder.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "compressors/pretrained_compressor.h"
#include "models/pretrained/pretrained_model.h"
#include "models/pretrained/torchscript_predictor.h"
#include "models/sampling.h"
#include "models/tokenizers/sentencepiece_tokenizer.h"
#include "test_support.h"

namespace lmc {
namespace {

const std::filesystem::path kFixture = LMC_TORCHSCRIPT_FIXTURE;
constexpr int kContext = 64;

const nlohmann::json& expected() {
  static const nlohmann::json json = [] {
    std::ifstream in(kFixture / "expected.json");
    if (!in) throw std::runtime_error("fixture missing: run make_torchscript_fixture.py");
    return nlohmann::json::parse(in);
  }();
  return json;
}

const PretrainedModel& model() {
  static const PretrainedModel loaded =
      load_pretrained_model("torchscript", kFixture / "model.pt", kFixture / "spm.model", kContext);
  return loaded;
}

std::string corpus() {
  std::ifstream in(kFixture / "corpus.txt", std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::unique_ptr<Compressor> make_compressor(nlohmann::json options) {
  const CompressorKind* kind = find_compressor_kind("pretrained");
  EXPECT_NE(kind, nullptr);
  return kind->make(Options::validate(options, kind->options, "compressors[2]", {"kind"}),
                    CodecContext{2048, SevenBitMapping::ClearTopBit});
}

nlohmann::json compressor_options(int top_k) {
  return {{"format", "torchscript"},
          {"checkpoint", (kFixture / "model.pt").string()},
          {"tokenizer", (kFixture / "spm.model").string()},
          {"context", kContext},
          {"top_k", top_k}};
}

void copy_prefix(const std::filesystem::path& from, const std::filesystem::path& to,
                 std::size_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::string data(bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(bytes));
  std::ofstream(to, std::ios::binary).write(data.data(), in.gcount());
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(SentencePiece, EncodesLikeTheSentencePieceLibraryInPython) {
  const Tokenizer& tokenizer = *model().tokenizer;
  EXPECT_EQ(tokenizer.vocab_size(), expected()["vocab_size"].get<int>());
  EXPECT_EQ(tokenizer.bos(), expected()["bos"].get<int>());
  EXPECT_EQ(tokenizer.dummy_prefix(), " ");
  EXPECT_EQ(tokenizer.encode(expected()["prompt"].get<std::string>()),
            expected()["prompt_ids"].get<std::vector<int>>());
  for (const auto& [text, ids] : expected()["tokenizer_samples"].items()) {
    EXPECT_EQ(tokenizer.encode(text), ids.get<std::vector<int>>()) << text;
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text);
  }
}

TEST(SentencePiece, BytePiecesAndSpacesDecodeToTheirBytes) {
  const Tokenizer& tokenizer = *model().tokenizer;
  EXPECT_EQ(tokenizer.token_bytes(0), "");                    // <unk>
  EXPECT_EQ(tokenizer.token_bytes(1), "");                    // <s>
  EXPECT_EQ(tokenizer.token_bytes(2), "");                    // </s>
  EXPECT_EQ(tokenizer.token_bytes(3), std::string(1, '\0'));  // <0x00>
  EXPECT_EQ(tokenizer.token_bytes(3 + 'A'), "A");             // <0x41>
  EXPECT_EQ(tokenizer.token_bytes(3 + 255), "\xff");
  // The prompt's first token carries the dummy prefix: U+2581 becomes a space.
  EXPECT_EQ(tokenizer.token_bytes(expected()["prompt_ids"][0].get<int>()).substr(0, 1), " ");
  EXPECT_EQ(tokenizer.describe()["byte_fallback_pieces"], 256);
}

TEST(SentencePiece, RoundTripsRandomSevenBitText) {
  const Tokenizer& tokenizer = *model().tokenizer;
  EXPECT_EQ(tokenizer.seven_bit_text_problem(), "");
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    std::string text(1 + rng() % 300, ' ');
    for (char& c : text) c = static_cast<char>(rng() % 0x80);
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text);
  }
}

// Llama 2's settings (byte fallback, dummy prefix): any bytes too, for the identity mapping of
// bench compress; bytes that are not UTF-8 become byte pieces.
TEST(SentencePiece, SpellsAnyBytesWithByteFallback) {
  const Tokenizer& tokenizer = *model().tokenizer;
  EXPECT_EQ(tokenizer.any_bytes_problem(), "");
  std::mt19937_64 rng(6);
  std::string noise(500, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  std::string spelled;
  for (int id : tokenizer.encode(noise)) spelled += tokenizer.token_bytes(id);
  EXPECT_EQ(spelled, " " + noise);
}

TEST(SentencePiece, ALossyTokenizerIsRefusedForCoding) {
  const auto lossy = SentencePieceTokenizer::load(kFixture / "spm_lossy.model");
  EXPECT_NE(lossy->seven_bit_text_problem(), "");  // NFKC, folded spaces, no byte fallback
  EXPECT_NE(lossy->any_bytes_problem().find("no token stands for the byte(s) "), std::string::npos)
      << lossy->any_bytes_problem();
  auto options = compressor_options(100);
  options["tokenizer"] = (kFixture / "spm_lossy.model").string();
  const std::string message = message_of([&] { make_compressor(options); });
  EXPECT_NE(message.find("compressors[2].tokenizer: cannot code 7-bit text losslessly"),
            std::string::npos)
      << message;
}

TEST(SentencePiece, MissingOrForeignFilesNameTheFile) {
  const auto missing = kFixture / "absent.model";
  EXPECT_NE(message_of([&] { SentencePieceTokenizer::load(missing); }).find(missing.string()),
            std::string::npos);
  const auto foreign = kFixture / "expected.json";
  std::string message = message_of([&] { SentencePieceTokenizer::load(foreign); });
  EXPECT_NE(message.find(foreign.string() + ": not a SentencePiece model"), std::string::npos)
      << message;
  test::TempDir dir;
  const auto truncated = dir.path() / "truncated.model";
  copy_prefix(kFixture / "spm.model", truncated, 3000);
  message = message_of([&] { SentencePieceTokenizer::load(truncated); });
  EXPECT_NE(message.find(truncated.string() + ": not a SentencePiece model"), std::string::npos)
      << message;
}

TEST(TorchScript, LogitsMatchPythonAfterThePrompt) {
  const auto& predictor = dynamic_cast<const TorchScriptPredictor&>(*model().predictor);
  std::vector<int> tokens = {expected()["bos"].get<int>()};
  for (int id : expected()["prompt_ids"]) tokens.push_back(id);
  const std::vector<float> logits = predictor.logits_after(tokens);
  const auto reference = expected()["logits_after_prompt"].get<std::vector<float>>();
  ASSERT_EQ(logits.size(), reference.size());
  for (std::size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(logits[i], reference[i], 1e-4);
  EXPECT_EQ(predictor.parameter_count(), expected()["parameters"].get<std::uint64_t>());
  EXPECT_EQ(detect_model_format(kFixture / "model.pt"), "torchscript");
}

TEST(TorchScript, PredictionsAreBitIdenticalAcrossSessionsAndThreads) {
  const std::vector<int> tokens = expected()["prompt_ids"].get<std::vector<int>>();
  const auto run = [&](std::vector<float>& out) {
    auto session = model().predictor->new_session();
    std::vector<float> probabilities(model().predictor->vocab_size());
    for (int token : tokens) {
      session->append(token);
      session->next_probabilities(probabilities);
      out.insert(out.end(), probabilities.begin(), probabilities.end());
    }
  };
  std::vector<float> first, second, third;
  run(first);
  std::thread a([&] { run(second); });
  std::thread b([&] { run(third); });
  a.join();
  b.join();
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, third);
}

TEST(TorchScript, WrongFilesAreInputErrorsNamingTheFile) {
  const auto bad_shape = kFixture / "bad_shape.pt";
  std::string message = message_of([&] { TorchScriptPredictor::load(bad_shape, 384); });
  EXPECT_NE(message.find(bad_shape.string() + ": forward(ids of shape (1, 2)) gave logits (1, 2)"),
            std::string::npos)
      << message;
  test::TempDir dir;
  const auto truncated = dir.path() / "truncated.pt";
  copy_prefix(kFixture / "model.pt", truncated, 200000);
  message = message_of([&] { TorchScriptPredictor::load(truncated, 384); });
  EXPECT_NE(message.find(truncated.string() + ": not a TorchScript module"), std::string::npos)
      << message;
  const auto not_torchscript = kFixture / "spm.model";
  message = message_of([&] { TorchScriptPredictor::load(not_torchscript, 384); });
  EXPECT_NE(message.find(not_torchscript.string() + ": not a TorchScript module"),
            std::string::npos)
      << message;
  // More tokens than the module has logits for.
  message = message_of([&] { TorchScriptPredictor::load(kFixture / "model.pt", 1000); });
  EXPECT_NE(message.find("V >= the tokenizer's 1000 tokens"), std::string::npos) << message;
  // A traced module does not record its context: the user must give it.
  message = message_of(
      [&] { load_pretrained_model("torchscript", kFixture / "model.pt", kFixture / "spm.model"); });
  EXPECT_NE(message.find("needs a context"), std::string::npos) << message;
  message = message_of([&] { load_pretrained_model("torchscript", kFixture / "model.pt", ""); });
  EXPECT_NE(message.find("needs its SentencePiece tokenizer"), std::string::npos) << message;
}

TEST(TorchScript, AContextLongerThanTheModelsPositionsNamesFileAndLength) {
  const PretrainedModel too_long =
      load_pretrained_model("torchscript", kFixture / "model.pt", kFixture / "spm.model", 100);
  const std::string message = message_of([&] { generate_text(too_long, "The", 90, {}); });
  EXPECT_NE(message.find((kFixture / "model.pt").string() + ": forward() failed on 65 tokens"),
            std::string::npos)
      << message;
}

TEST(TorchScript, GreedyGenerationMatchesPython) {
  EXPECT_EQ(generate_text(model(), expected()["prompt"].get<std::string>(), 20, {}),
            expected()["greedy_text"].get<std::string>());
  GenerateArgs args;
  args.model = (kFixture / "model.pt").string();
  args.tokenizer = (kFixture / "spm.model").string();
  args.context = kContext;
  args.prompt = expected()["prompt"].get<std::string>();
  args.tokens = 20;
  std::ostringstream out;
  EXPECT_EQ(generate_command(args, out), 0);  // format "auto": detected from the zip magic
  EXPECT_EQ(out.str(), expected()["greedy_text"].get<std::string>() + "\n");
}

TEST(TorchScript, GenerationPastTheContextSlides) {
  const std::string text = generate_text(model(), "The", 150, {0.8, 3});
  EXPECT_GT(text.size(), 150u);  // 150 tokens of at least one byte, past the 64 positions
  EXPECT_EQ(text, generate_text(model(), "The", 150, {0.8, 3}));
}

TEST(TorchScriptCompressor, RoundTripsItsTrainingTextCompactly) {
  const auto compressor = make_compressor(compressor_options(100));
  const std::string text = corpus().substr(0, 2048);
  const Bytes chunk(text.begin(), text.end());
  Counters counters;
  const Bytes stream = compressor->compress(chunk, counters);
  EXPECT_EQ(compressor->decompress(stream, chunk.size()), chunk);
  // Trained on this very text, the model codes it in 16 % of its size (measured); a uniform code
  // over the 384 tokens would need about 80 %, gzip needs 47 %.
  EXPECT_LT(stream.size(), chunk.size() * 25 / 100);
  EXPECT_GT(counters["window_slides"], 0);  // ~1,500 tokens through a 64-position window
  EXPECT_EQ(compressor->parameter_count(), expected()["parameters"].get<std::uint64_t>());
  const auto settings = compressor->settings();
  EXPECT_EQ(settings["format"], "torchscript");
  EXPECT_EQ(settings["model"]["tokenizer"]["kind"], "SentencePiece (.model)");
  EXPECT_EQ(settings["model"]["context_limit"], kContext);
}

TEST(TorchScriptCompressor, EscapesCodeTokensOutsideTheTopK) {
  const auto compressor = make_compressor(compressor_options(3));
  const std::string text = "Random-ish text: qzx 7#1 ~Kj} and GNU. " + corpus().substr(4000, 300);
  const Bytes chunk(text.begin(), text.end());
  Counters counters;
  const Bytes stream = compressor->compress(chunk, counters);
  EXPECT_EQ(compressor->decompress(stream, chunk.size()), chunk);
  EXPECT_GT(counters["escapes"], 10);
  EXPECT_GT(counters["escape_bits"], 0);
}

TEST(TorchScriptCompressor, MissingContextNamesTheConfigKey) {
  auto options = compressor_options(100);
  options.erase("context");
  const std::string message = message_of([&] { make_compressor(options); });
  EXPECT_NE(message.find("compressors[2].context: required for torchscript"), std::string::npos)
      << message;
  options["context"] = -5;
  EXPECT_NE(message_of([&] { make_compressor(options); }).find("compressors[2].context"),
            std::string::npos);
}

}  // namespace
}  // namespace lmc
