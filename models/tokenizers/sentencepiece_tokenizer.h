// A SentencePiece `.model` (Llama 2's tokenizer.model, or any other) as a Tokenizer.
//
// libsentencepiece cannot share a process with libtorch by plain linking, so it is
// reached through liblmc_sentencepiece.so, opened with dlopen(RTLD_LOCAL | RTLD_DEEPBIND)
// (sentencepiece_shim.h). The library is looked for at $LMC_SENTENCEPIECE_LIBRARY, then beside
// the running executable, then where the build put it.
//
// Token bytes: a piece's spelling with U+2581 turned back into a space; byte-fallback pieces
// <0xNN> are the byte 0xNN; unknown, control and unused pieces stand for no text. Whether the
// model adds a dummy-prefix space is read from how it encodes "a".
//
// Any bytes: SentencePiece replaces bytes that are not UTF-8 with U+FFFD and spells U+2581 like
// a space, so encode() gives those to it never: they become byte pieces, and the text between
// them is SentencePiece's (the identity mapping of `bench compress` codes such bytes).
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/tokenizers/tokenizer.h"

namespace lmc {

class SentencePieceLibrary;  // the dlopen'ed shim

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // InputError naming the file when it is missing or not a SentencePiece model, or naming the
  // library when liblmc_sentencepiece.so cannot be found or loaded.
  static std::shared_ptr<const SentencePieceTokenizer> load(const std::filesystem::path& path);
  ~SentencePieceTokenizer() override;

  int vocab_size() const override { return static_cast<int>(bytes_.size()); }
  std::vector<int> encode(std::string_view text) const override;
  std::string_view token_bytes(int id) const override;
  std::string_view dummy_prefix() const override { return dummy_prefix_; }
  std::optional<int> bos() const override { return bos_; }
  nlohmann::json describe() const override;
  // FNV-1a 64 of the model file (hex), computed once by load(); describe() reports it too.
  const std::string& file_hash() const { return hash_; }

  // Where the shim was loaded from (for provenance and error messages).
  static std::filesystem::path library_path();

 private:
  SentencePieceTokenizer() = default;
  // SentencePiece's own tokens for text it codes as itself (valid UTF-8 without U+2581).
  std::vector<int> encode_codable(std::string_view text) const;
  // The byte piece of `byte`; InputError when the model has none (no byte fallback).
  int byte_piece(char byte) const;
  // Takes the dummy prefix SentencePiece put before a run off the run's first token; what else
  // that token held becomes byte pieces.
  void remove_dummy_prefix(std::vector<int>& run) const;

  std::shared_ptr<const SentencePieceLibrary> library_;
  struct Model;  // the shim's handle
  std::unique_ptr<Model> model_;
  std::filesystem::path path_;
  std::string hash_;
  std::vector<std::string> bytes_;  // what each id decodes to
  std::string dummy_prefix_;
  std::optional<int> bos_;
  int byte_pieces_ = 0;
  std::array<int, 256> byte_piece_ids_;  // byte -> its byte piece's id, -1 if none
};

// A tokenizer the LM coders can use exactly (the paper's Table 2): SentencePiece with byte
// fallback, the identity normaliser, no dummy prefix, whitespace as it is, and no BOS or EOS
// (the Transformer's own start symbol begins every window). Any 7-bit text then tokenises into
// pieces whose bytes spell it.
struct SentencePieceTraining {
  std::string model_type = "bpe";  // or "unigram"
  int vocab_size = 1000;           // pieces, the 256 byte pieces and <unk> included
  int threads = 1;
  // Llama 2's tokenizers put a dummy-prefix space before the text; lmc's do not (a test trains
  // one that does, to cover that path of encode()).
  bool dummy_prefix = false;
};

// Trains on `text`, cut into sentences after each newline (a sentence keeps its '\n', so pieces
// can hold line ends; lines over 8 KiB are cut), and writes the .model to `model_path`.
// InputError naming the file when SentencePiece refuses (e.g. a vocabulary larger than the text
// allows).
void train_sentencepiece(std::string_view text, const SentencePieceTraining& training,
                         const std::filesystem::path& model_path);

}  // namespace lmc
