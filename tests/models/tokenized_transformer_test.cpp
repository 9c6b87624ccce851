// Tokenized Transformers (the paper's Table 2): lmc_train on the tokens of a SentencePiece model
// of lmc_train_tokenizer, coded and decoded by the "pretrained" compressor ("format": "lmct"),
// and refused, with a pointer, where only byte models belong.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/lm_compressor.h"
#include "model_test_support.h"
#include "models/pretrained/pretrained_model.h"
#include "models/tokenizers/tokenizer_training.h"
#include "models/transformer/checkpoint.h"

namespace lmc {
namespace {

constexpr int kVocab = 400;

// A tokenizer and a tiny Transformer on its tokens, trained once for the whole program on the
// first 8 kB of enwik_head() (the same split for both: train_fraction 0.8).
struct TokenizedModel {
  test::TempDir dir;
  std::filesystem::path tokenizer, checkpoint, byte_checkpoint;
  nlohmann::json tokenizer_report;

  TokenizedModel() {
    tokenizer = dir.path() / "bpe-400.model";
    const auto tokenizer_config =
        test::write_config(dir.path() / "tokenizer.json", {{"data", test::enwik_head().string()},
                                                           {"train_fraction", 0.8},
                                                           {"vocab_size", kVocab},
                                                           {"output", tokenizer.string()}});
    std::ostringstream progress;
    run_tokenizer_training(tokenizer_config, progress);
    std::ifstream report(tokenizer.string() + ".json");
    tokenizer_report = nlohmann::json::parse(report);

    checkpoint = test::train(test::tiny_training_config(
        dir.path() / "tokens.lmct",
        {{"architecture",
          {{"embedding_dim", 32}, {"layers", 2}, {"heads", 4}, {"vocab_size", kVocab}}},
         {"tokenizer", tokenizer.string()},
         {"sequence_length", 64},
         {"eval_sequence_length", 128}}));
    byte_checkpoint =
        test::train(test::tiny_training_config(dir.path() / "bytes.lmct", {{"steps", 0}}));
  }
};

const TokenizedModel& model() {
  static const TokenizedModel trained;
  return trained;
}

std::unique_ptr<Compressor> make_compressor(
    const std::string& kind_name, nlohmann::json json,
    SevenBitMapping mapping = SevenBitMapping::ClearTopBit) {
  const CompressorKind* kind = find_compressor_kind(kind_name);
  EXPECT_NE(kind, nullptr);
  const Options options = Options::validate(json, kind->options, "compressors[0]", {"kind"});
  return kind->make(options, CodecContext{2048, mapping});
}

std::string error_of(auto&& body) {
  try {
    body();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(TokenizedTransformer, TrainsOnTokensAndReportsBitsPerByteOfText) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  const Checkpoint checkpoint = read_checkpoint(model().checkpoint);
  const auto& tokenizer = checkpoint.header.at("tokenizer");
  EXPECT_EQ(tokenizer.at("vocab_size").get<int>(), kVocab);
  EXPECT_EQ(tokenizer.at("fnv1a64").get<std::string>(), fnv1a64_file_hash(model().tokenizer));
  EXPECT_NEAR(tokenizer.at("heldout_bytes_per_token").get<double>(),
              model().tokenizer_report.at("heldout").at("bytes_per_token").get<double>(), 1e-9);
  EXPECT_GT(tokenizer.at("heldout_bytes_per_token").get<double>(), 1.3);

  // Held-out bits per byte of text: a token is worth more than a byte, so the untrained model's
  // log2(400) bits per token are fewer per byte; training lowers it.
  std::ifstream log(std::filesystem::path(model().checkpoint).replace_extension(".train.csv"));
  std::string line, first, last;
  std::getline(log, line);
  while (std::getline(log, line)) (first.empty() ? first : last) = line;
  auto heldout_of = [](const std::string& row) {
    std::istringstream fields(row);
    std::string field;
    for (int i = 0; i < 3; ++i) std::getline(fields, field, ',');
    return std::stod(field);
  };
  const double bytes_per_token = tokenizer.at("heldout_bytes_per_token").get<double>();
  EXPECT_LT(heldout_of(first), std::log2(kVocab) / bytes_per_token * 1.2) << first;
  EXPECT_LT(heldout_of(last), heldout_of(first)) << first << " -> " << last;
}

TEST(TokenizedTransformer, PretrainedLmctRoundTripsChunksWithTheHeadersTokenizer) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  EXPECT_EQ(detect_model_format(model().checkpoint), "lmct");
  const auto compressor = make_compressor(
      "pretrained",
      // top_k: all but one of the tokens that can spell 7-bit text (every piece but <unk> and
      // the 128 byte pieces from 0x80), so escapes are rare.
      {{"format", "lmct"}, {"checkpoint", model().checkpoint.string()}, {"top_k", kVocab - 130}});
  const Bytes text = test::read_bytes(test::enwik_head());
  for (const std::size_t offset : {0u, 4096u, 8000u}) {
    const ByteView chunk = ByteView(text).subspan(offset, 1024);
    const Bytes coded = compressor->compress(chunk);
    EXPECT_EQ(compressor->decompress(coded, chunk.size()), Bytes(chunk.begin(), chunk.end()))
        << "offset " << offset;
    EXPECT_LT(coded.size(), chunk.size()) << "offset " << offset;
  }
  const auto settings = compressor->settings();
  EXPECT_EQ(settings.at("model").at("model").get<std::string>(), "token_transformer")
      << settings.dump(2);
  EXPECT_EQ(settings.at("model").at("context_limit").get<int>(), 63)
      << "the training window, less the start symbol's position";
}

// Under the identity mapping (bench compress) a SentencePiece model codes any bytes: those that
// are no UTF-8 text through its byte pieces.
TEST(TokenizedTransformer, PretrainedLmctCodesAnyBytesUnderTheIdentityMapping) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  const auto compressor = make_compressor(
      "pretrained", {{"format", "lmct"}, {"checkpoint", model().checkpoint.string()}},
      SevenBitMapping::Identity);
  Bytes noise(600);
  std::uint32_t state = 1;
  for (auto& b : noise) b = static_cast<std::uint8_t>((state = state * 747796405u + 1u) >> 24);
  const Bytes text = test::read_bytes(test::enwik_head());
  for (const ByteView data : {ByteView(noise), ByteView(text).subspan(4096, 600)}) {
    const Bytes coded = compressor->compress(data);
    EXPECT_EQ(compressor->decompress(coded, data.size()), Bytes(data.begin(), data.end()));
  }
}

TEST(TokenizedTransformer, EachCompressorRefusesTheOtherKindWithAPointer) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  const std::string byte_coder = error_of([] {
    make_compressor("lm", {{"checkpoint", model().checkpoint.string()}});
  });
  EXPECT_NE(byte_coder.find("compressors[0].checkpoint"), std::string::npos) << byte_coder;
  EXPECT_NE(byte_coder.find("\"lmct\""), std::string::npos) << byte_coder;

  const std::string token_coder = error_of([] {
    make_compressor("pretrained",
                    {{"format", "lmct"}, {"checkpoint", model().byte_checkpoint.string()}});
  });
  EXPECT_NE(token_coder.find("byte Transformer"), std::string::npos) << token_coder;
  EXPECT_NE(token_coder.find("\"lm\""), std::string::npos) << token_coder;
}

TEST(TokenizedTransformer, AnotherTokenizerFileIsRefusedByItsHash) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const auto other = dir.path() / "other.model";
  const auto config =
      test::write_config(dir.path() / "other.json", {{"data", test::enwik_head().string()},
                                                     {"train_fraction", 0.5},
                                                     {"vocab_size", kVocab},
                                                     {"output", other.string()}});
  std::ostringstream progress;
  run_tokenizer_training(config, progress);
  const std::string error =
      error_of([&] { load_pretrained_model("lmct", model().checkpoint, other); });
  EXPECT_NE(error.find("is not the tokenizer"), std::string::npos) << error;
  EXPECT_NE(error.find("other.model"), std::string::npos) << error;
}

TEST(TokenizedTransformer, AMovedCheckpointFindsItsTokenizerBesideIt) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  // The header names the tokenizer as the training config did: a relative path from the
  // repository root, say, which does not exist from here.
  Checkpoint checkpoint = read_checkpoint(model().checkpoint);
  checkpoint.header["tokenizer"]["path"] = "models/checkpoints/bpe-400.model";
  write_checkpoint(dir.path() / "moved.lmct", checkpoint);
  const std::string missing =
      error_of([&] { load_pretrained_model("lmct", dir.path() / "moved.lmct", ""); });
  EXPECT_NE(missing.find("models/checkpoints/bpe-400.model (its header's tokenizer.path)"),
            std::string::npos)
      << missing;
  EXPECT_NE(missing.find("give it as \"tokenizer\""), std::string::npos) << missing;

  std::filesystem::copy_file(model().tokenizer, dir.path() / "bpe-400.model");
  const PretrainedModel loaded = load_pretrained_model("lmct", dir.path() / "moved.lmct", "");
  EXPECT_EQ(loaded.tokenizer->vocab_size(), kVocab);
}

TEST(TokenizedTransformer, ResumingOnAnotherTokenizerIsRefused) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const nlohmann::json architecture = {
      {"embedding_dim", 32}, {"layers", 1}, {"heads", 4}, {"vocab_size", kVocab}};
  auto config =
      test::tiny_training_config(dir.path() / "r.lmct", {{"architecture", architecture},
                                                         {"tokenizer", model().tokenizer.string()},
                                                         {"sequence_length", 64},
                                                         {"eval_sequence_length", 128},
                                                         {"steps", 20},
                                                         {"stop_at_step", 10}});
  test::train(config);
  // Another tokenizer of the same size, trained on another part of the text.
  const auto other = dir.path() / "other.model";
  std::ostringstream progress;
  run_tokenizer_training(
      test::write_config(dir.path() / "other.json", {{"data", test::enwik_head().string()},
                                                     {"train_fraction", 0.6},
                                                     {"vocab_size", kVocab},
                                                     {"output", other.string()}}),
      progress);
  config["tokenizer"] = other.string();
  config.erase("stop_at_step");
  const std::string error = error_of([&] { test::train(config, /*resume=*/true); });
  EXPECT_NE(error.find("resume state was trained on another tokenizer"), std::string::npos)
      << error;
}

TEST(TokenizedTransformer, VocabularyAndTokenizerMustAgreeInTheTrainingConfig) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const std::string mismatch = error_of([&] {
    test::train(test::tiny_training_config(
        dir.path() / "a.lmct",
        {{"architecture",
          {{"embedding_dim", 32}, {"layers", 1}, {"heads", 4}, {"vocab_size", 500}}},
         {"tokenizer", model().tokenizer.string()}}));
  });
  EXPECT_NE(mismatch.find("architecture.vocab_size: 500"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("400 pieces"), std::string::npos) << mismatch;

  const std::string no_tokenizer = error_of([&] {
    test::train(test::tiny_training_config(
        dir.path() / "b.lmct",
        {{"architecture",
          {{"embedding_dim", 32}, {"layers", 1}, {"heads", 4}, {"vocab_size", 500}}}}));
  });
  EXPECT_NE(no_tokenizer.find("needs a tokenizer"), std::string::npos) << no_tokenizer;

  const std::string missing = error_of([&] {
    test::train(test::tiny_training_config(dir.path() / "c.lmct",
                                           {{"tokenizer", (dir.path() / "none.model").string()}}));
  });
  EXPECT_NE(missing.find("tokenizer"), std::string::npos) << missing;
  EXPECT_NE(missing.find("none.model"), std::string::npos) << missing;
}

}  // namespace
}  // namespace lmc
