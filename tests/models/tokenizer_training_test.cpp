// SentencePiece tokenizers trained by lmc (the paper's Table 2): exact on any 7-bit text and,
// through byte pieces, on any bytes; the same file from the same text, and a config that names
// its mistakes.
#include "models/tokenizers/tokenizer_training.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "common/error.h"
#include "model_test_support.h"
#include "models/tokenizers/sentencepiece_tokenizer.h"

namespace lmc {
namespace {

// 40 kB of lines of words from a small vocabulary: enough repetition for 400 pieces (256 bytes,
// <unk> and each character seen are pieces before any merge).
std::string word_text(std::uint32_t seed) {
  const char* words[] = {"the",      "compression", "of",         "text",   "model",
                         "language", "is",          "a",          "<page>", "</title>",
                         "[[link]]", "with",        "arithmetic", "coder"};
  std::mt19937 rng(seed);
  std::string text;
  while (text.size() < 40'000) {
    const int line_words = 3 + static_cast<int>(rng() % 9);
    for (int i = 0; i < line_words; ++i) {
      if (i > 0) text += ' ';
      text += words[rng() % std::size(words)];
    }
    text += ".\n";
  }
  return text;
}

std::string decode(const Tokenizer& tokenizer, const std::vector<int>& ids) {
  std::string text;
  for (const int id : ids) text += tokenizer.token_bytes(id);
  return text;
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(TokenizerTraining, SpellsAnySevenBitTextAndLearnsLineEnds) {
  test::TempDir dir;
  const auto model = dir.path() / "bpe.model";
  train_sentencepiece(word_text(1), {.model_type = "bpe", .vocab_size = 400}, model);
  const auto tokenizer = SentencePieceTokenizer::load(model);
  EXPECT_EQ(tokenizer->vocab_size(), 400);
  EXPECT_FALSE(tokenizer->bos().has_value());  // the Transformer's start symbol begins a window
  EXPECT_EQ(tokenizer->dummy_prefix(), "");

  bool piece_with_newline = false;
  for (int id = 0; id < tokenizer->vocab_size(); ++id) {
    const auto bytes = tokenizer->token_bytes(id);
    piece_with_newline |= bytes.size() > 1 && bytes.find('\n') != std::string_view::npos;
  }
  EXPECT_TRUE(piece_with_newline) << "sentences keep their newline, so '.\\n' is learnt";

  const std::string seen = word_text(2);
  const auto ids = tokenizer->encode(seen);
  EXPECT_EQ(decode(*tokenizer, ids), seen);
  EXPECT_LT(ids.size(), seen.size() / 3) << "the pieces are words, not bytes";

  // Bytes it never saw (control characters, runs of spaces, tabs) fall back to byte pieces.
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    std::string text(1 + rng() % 300, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 128);
    EXPECT_EQ(decode(*tokenizer, tokenizer->encode(text)), text) << "trial " << trial;
  }
}

// The identity mapping of `bench compress` tokenises any bytes: those SentencePiece would turn
// into U+FFFD (not UTF-8) or a space (U+2581) become byte pieces, the text between them stays
// SentencePiece's; with and without the dummy prefix Llama 2's tokenizer adds.
TEST(TokenizerTraining, SpellsAnyBytesWithBytePieces) {
  test::TempDir dir;
  for (const bool dummy_prefix : {false, true}) {
    SCOPED_TRACE(dummy_prefix ? "dummy prefix" : "no dummy prefix");
    const auto model = dir.path() / (dummy_prefix ? "prefix.model" : "plain.model");
    train_sentencepiece(word_text(1), {.vocab_size = 400, .dummy_prefix = dummy_prefix}, model);
    const auto tokenizer = SentencePieceTokenizer::load(model);
    const std::string prefix = dummy_prefix ? " " : "";
    EXPECT_EQ(tokenizer->dummy_prefix(), prefix);
    EXPECT_EQ(tokenizer->any_bytes_problem(), "");

    std::mt19937 rng(5);
    for (int trial = 0; trial < 20; ++trial) {
      std::string text(1 + rng() % 300, '\0');
      for (char& c : text) c = static_cast<char>(rng());
      EXPECT_EQ(decode(*tokenizer, tokenizer->encode(text)), prefix + text) << "trial " << trial;
    }
    // Text before a stray byte is SentencePiece's own tokens; after it, the same text is spelled
    // without the dummy prefix SentencePiece put before it.
    const std::string words = "the compression of text";
    const std::vector<int> alone = tokenizer->encode(words);
    const std::vector<int> ids = tokenizer->encode(words + "\xff" + words + "\xe2\x96\x81");
    ASSERT_GT(ids.size(), alone.size());
    EXPECT_TRUE(std::equal(alone.begin(), alone.end(), ids.begin()));
    EXPECT_EQ(tokenizer->token_bytes(ids[alone.size()]), "\xff");
    EXPECT_EQ(decode(*tokenizer, ids), prefix + words + "\xff" + words + "\xe2\x96\x81");
    EXPECT_LT(ids.size(), 2 * alone.size() + 8) << "the second copy is pieces, not bytes";
    EXPECT_EQ(decode(*tokenizer, tokenizer->encode("\x80")), prefix + "\x80");
  }
}

TEST(TokenizerTraining, TheSameTextGivesTheSameFile) {
  test::TempDir dir;
  const std::string text = word_text(4);
  train_sentencepiece(text, {.vocab_size = 400}, dir.path() / "a.model");
  train_sentencepiece(text, {.vocab_size = 400}, dir.path() / "b.model");
  EXPECT_EQ(file_bytes(dir.path() / "a.model"), file_bytes(dir.path() / "b.model"));
}

TEST(TokenizerTraining, ConfigWritesTheModelAndItsHeldOutReport) {
  test::TempDir dir;
  const auto data = dir.path() / "text.txt";
  const std::string text = word_text(5);
  std::ofstream(data, std::ios::binary) << text;
  const auto split = static_cast<std::size_t>(static_cast<double>(text.size()) * 0.8);
  const auto model = dir.path() / "out" / "bpe-400.model";
  const auto config = test::write_config(dir.path() / "bpe.json", {{"data", data.string()},
                                                                   {"train_fraction", 0.8},
                                                                   {"vocab_size", 400},
                                                                   {"output", model.string()}});
  std::ostringstream progress;
  run_tokenizer_training(config, progress);
  EXPECT_NE(progress.str().find("bytes per token"), std::string::npos) << progress.str();

  std::ifstream report_file(model.string() + ".json");
  const auto report = nlohmann::json::parse(report_file);
  const auto& heldout = report.at("heldout");
  EXPECT_EQ(heldout.at("bytes").get<std::size_t>(), text.size() - split);
  EXPECT_TRUE(heldout.at("spells_the_text_exactly").get<bool>());
  EXPECT_GT(heldout.at("bytes_per_token").get<double>(), 3.0);
  EXPECT_EQ(report.at("tokenizer").at("vocab_size").get<int>(), 400);
  EXPECT_EQ(report.at("training_bytes").get<std::size_t>(), split);
}

TEST(TokenizerTraining, ConfigErrorsNameTheKey) {
  test::TempDir dir;
  const auto data = dir.path() / "text.txt";
  std::ofstream(data, std::ios::binary) << word_text(6);
  const nlohmann::json base = {
      {"data", data.string()}, {"vocab_size", 400}, {"output", (dir.path() / "m.model").string()}};
  auto expect_error = [&](nlohmann::json config, const std::string& needle) {
    const auto path = test::write_config(dir.path() / "bad.json", config);
    std::ostringstream progress;
    try {
      run_tokenizer_training(path, progress);
      ADD_FAILURE() << "no error for " << config.dump();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
  };
  auto without = [&](const char* key) {
    auto config = base;
    config.erase(key);
    return config;
  };
  auto with = [&](const char* key, nlohmann::json value) {
    auto config = base;
    config[key] = std::move(value);
    return config;
  };
  expect_error(without("vocab_size"), "vocab_size");
  expect_error(without("output"), "output");
  expect_error(with("model_type", "wordpiece"), "model_type");
  expect_error(with("vocab_size", 100), "vocab_size");
  expect_error(with("train_fraction", 1.5), "train_fraction");
  expect_error(with("pieces", 300), "pieces");
}

TEST(TokenizerTraining, AVocabularyTheTextCannotFillIsAnErrorNamingTheFile) {
  test::TempDir dir;
  const auto model = dir.path() / "huge.model";
  try {
    train_sentencepiece("a few words only.\n", {.vocab_size = 5000}, model);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("huge.model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmc
