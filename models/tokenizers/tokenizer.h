// Text <-> token ids for the pretrained language models. The compressor codes token ids, so a
// tokenizer used for coding must be exactly invertible: concatenating token_bytes() of
// encode(text) gives dummy_prefix() + text.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmc {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual int vocab_size() const = 0;
  // Token ids for `text`, including the dummy prefix, without the beginning-of-sequence token.
  virtual std::vector<int> encode(std::string_view text) const = 0;
  // The bytes one token stands for; empty for special tokens (unknown, BOS, EOS).
  virtual std::string_view token_bytes(int id) const = 0;
  // Prepended to the text before tokenizing (SentencePiece's "add dummy prefix"); empty if none.
  virtual std::string_view dummy_prefix() const = 0;
  // The token every context starts with, if the model was trained with one.
  virtual std::optional<int> bos() const = 0;
  virtual nlohmann::json describe() const = 0;

  // The text of a token sequence: the tokens' bytes with the dummy prefix removed.
  std::string decode(std::span<const int> ids) const;

  // Empty when decode(encode(s)) == s for probes covering every 7-bit character (alone, in
  // runs, around repeated spaces, tabs and newlines); otherwise the first probe that fails, in
  // words. A tokenizer that normalises text (NFKC, folded whitespace) or maps characters to an
  // unknown token fails: it cannot code text losslessly.
  std::string seven_bit_text_problem() const;

  // The same for any bytes (the identity mapping codes all 8 bits): empty when every byte value
  // has a token of its own and the tokens of every probe spell dummy_prefix() + probe exactly;
  // the probes hold each byte value alone, between letters and in runs, invalid UTF-8 (stray
  // continuation bytes, truncated and overlong sequences, surrogates), U+2581 (SentencePiece's
  // space), U+FFFD and seeded noise. Otherwise the first failure, in words.
  std::string any_bytes_problem() const;
};

// One token per byte value (rwkv.cpp's tiny models): ids 0..255 are the bytes themselves.
class ByteTokenizer final : public Tokenizer {
 public:
  ByteTokenizer();
  int vocab_size() const override { return 256; }
  std::vector<int> encode(std::string_view text) const override;
  std::string_view token_bytes(int id) const override;
  std::string_view dummy_prefix() const override { return {}; }
  std::optional<int> bos() const override { return std::nullopt; }
  nlohmann::json describe() const override { return {{"kind", "bytes"}, {"vocab_size", 256}}; }

 private:
  std::string all_bytes_;  // byte i at index i, so token_bytes() can return a view
};

}  // namespace lmc
