// The checks that decide whether a tokenizer can code losslessly (models/tokenizers/tokenizer.h):
// 7-bit text for the paper's mappings, any bytes for the identity mapping of `bench compress`.
#include "models/tokenizers/tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lmc {
namespace {

// No dummy prefix, no BOS: what the two test tokenizers below share.
class PlainTokenizer : public Tokenizer {
 public:
  std::string_view dummy_prefix() const override { return {}; }
  std::optional<int> bos() const override { return std::nullopt; }
  nlohmann::json describe() const override { return {{"kind", "test"}}; }
};

// One token per byte value below `limit`; a byte at or above it becomes the unknown token (id
// `limit`, no text), as a tokenizer without byte fallback does with characters it lacks.
class TruncatedByteTokenizer final : public PlainTokenizer {
 public:
  explicit TruncatedByteTokenizer(int limit) : limit_(limit) {
    for (int b = 0; b < limit; ++b) bytes_.emplace_back(1, static_cast<char>(b));
    bytes_.emplace_back();  // unknown
  }
  int vocab_size() const override { return static_cast<int>(bytes_.size()); }
  std::vector<int> encode(std::string_view text) const override {
    std::vector<int> ids;
    for (unsigned char c : text) ids.push_back(c < limit_ ? c : limit_);
    return ids;
  }
  std::string_view token_bytes(int id) const override { return bytes_.at(id); }

 private:
  int limit_;
  std::vector<std::string> bytes_;
};

// Every byte has a token, but encode() folds U+2581 into a space, as SentencePiece's spelling
// of a space would if it were given the character.
class FoldingTokenizer final : public PlainTokenizer {
 public:
  int vocab_size() const override { return bytes_.vocab_size(); }
  std::vector<int> encode(std::string_view text) const override {
    std::string folded(text);
    for (std::size_t at; (at = folded.find("\xe2\x96\x81")) != std::string::npos;) {
      folded.replace(at, 3, " ");
    }
    return bytes_.encode(folded);
  }
  std::string_view token_bytes(int id) const override { return bytes_.token_bytes(id); }

 private:
  ByteTokenizer bytes_;
};

TEST(Tokenizer, ByteTokenizerCodesAnyBytes) {
  const ByteTokenizer tokenizer;
  EXPECT_EQ(tokenizer.seven_bit_text_problem(), "");
  EXPECT_EQ(tokenizer.any_bytes_problem(), "");
}

TEST(Tokenizer, BytesWithoutATokenAreNamedAsRanges) {
  const TruncatedByteTokenizer seven_bit(0x80);
  EXPECT_EQ(seven_bit.seven_bit_text_problem(), "") << "7-bit text needs no more";
  EXPECT_EQ(seven_bit.any_bytes_problem(), "no token stands for the byte(s) 0x80-0xff alone");
  const TruncatedByteTokenizer almost(0xff);
  EXPECT_EQ(almost.any_bytes_problem(), "no token stands for the byte(s) 0xff alone");
}

TEST(Tokenizer, TokensThatSpellOtherBytesAreNamedWithTheProbe) {
  const FoldingTokenizer folding;
  EXPECT_EQ(folding.seven_bit_text_problem(), "");
  EXPECT_EQ(folding.any_bytes_problem(),
            "the tokens of \"\\xe2\\x96\\x81\" spell \" \"");  // the first probe that fails
}

}  // namespace
}  // namespace lmc
