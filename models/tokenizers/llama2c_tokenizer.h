// The tokenizer of llama2.c (tokenizer.bin, exported from a SentencePiece BPE model):
//
//   int32 max_token_length
//   then for each token: float32 score, int32 length, `length` bytes
//
// Ids 0, 1, 2 are <unk>, BOS, EOS; ids 3..258 are the byte-fallback tokens <0x00>..<0xFF>.
// encode() follows llama2.c's run.c: a dummy-prefix space, one token per character (byte
// fallback for characters without a token), then repeatedly merge the adjacent pair whose
// concatenation is the highest-scoring token (the leftmost pair on ties).
//
// One deliberate difference: merges and character look-ups only ever produce ordinary tokens,
// never a special or byte-fallback token by its spelling (run.c would turn the text "<0x41>"
// into byte token 0x41 if the intermediate pieces existed). That keeps decode(encode(s)) == s
// for every string, which lossless coding needs.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/bytes.h"
#include "models/tokenizers/tokenizer.h"

namespace lmc {

class Llama2cTokenizer final : public Tokenizer {
 public:
  static constexpr int kUnknown = 0;
  static constexpr int kBos = 1;
  static constexpr int kEos = 2;
  static constexpr int kFirstByteToken = 3;

  // `vocab_size` comes from the model; the file must hold exactly that many tokens.
  // InputError naming the file when it is truncated, too long or inconsistent.
  static Llama2cTokenizer load(const std::filesystem::path& path, int vocab_size);
  // The same from the file's bytes; `path` only names them (the seam the fuzzer feeds).
  static Llama2cTokenizer load(const std::filesystem::path& path, ByteView data, int vocab_size);

  int vocab_size() const override { return static_cast<int>(pieces_.size()); }
  std::vector<int> encode(std::string_view text) const override;
  std::string_view token_bytes(int id) const override;
  std::string_view dummy_prefix() const override { return " "; }
  std::optional<int> bos() const override { return kBos; }
  nlohmann::json describe() const override;

 private:
  Llama2cTokenizer() = default;
  int find_ordinary(std::string_view piece) const;  // -1 if none

  std::filesystem::path path_;
  std::string hash_;
  std::vector<std::string> pieces_;  // the file's spelling ("<0x41>" for byte tokens)
  std::vector<std::string> bytes_;   // what each token decodes to
  std::vector<float> scores_;
  std::unordered_map<std::string, int> ordinary_;  // spelling -> id, ordinary tokens only
};

}  // namespace lmc
