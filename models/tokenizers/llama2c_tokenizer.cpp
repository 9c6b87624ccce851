#include "models/tokenizers/llama2c_tokenizer.h"

#include <stdexcept>

#include "models/pretrained/model_file.h"

namespace lmc {

namespace {

constexpr int kByteTokens = 256;

std::string byte_token_spelling(int byte) {
  static const char* const kHex = "0123456789ABCDEF";
  return std::string("<0x") + kHex[byte >> 4] + kHex[byte & 15] + ">";
}

}  // namespace

Llama2cTokenizer Llama2cTokenizer::load(const std::filesystem::path& path, int vocab_size) {
  return load(path, read_model_file(path), vocab_size);
}

Llama2cTokenizer Llama2cTokenizer::load(const std::filesystem::path& path, ByteView data,
                                        int vocab_size) {
  ModelFileReader reader(path, data);
  const std::int32_t max_length = reader.int32();
  if (max_length <= 0 || max_length > 1024) {
    reader.fail("not a llama2.c tokenizer (max token length " + std::to_string(max_length) + ")");
  }
  if (vocab_size < kFirstByteToken + kByteTokens) {
    reader.fail("a llama2.c tokenizer needs at least 259 tokens, the model has " +
                std::to_string(vocab_size));
  }
  Llama2cTokenizer tokenizer;
  tokenizer.path_ = path;
  tokenizer.hash_ = fnv1a64_hex(data);
  for (int id = 0; id < vocab_size; ++id) {
    const float score = reader.float32();
    const std::int32_t length = reader.int32();
    if (length < 0 || length > max_length) {
      reader.fail("token " + std::to_string(id) + " has length " + std::to_string(length));
    }
    tokenizer.scores_.push_back(score);
    tokenizer.pieces_.push_back(reader.string(static_cast<std::size_t>(length)));
  }
  if (!reader.at_end()) {
    reader.fail("holds more than the model's " + std::to_string(vocab_size) + " tokens");
  }
  for (int id = 0; id < vocab_size; ++id) {
    const std::string& piece = tokenizer.pieces_[id];
    if (id >= kFirstByteToken && id < kFirstByteToken + kByteTokens) {
      const int byte = id - kFirstByteToken;
      if (piece != byte_token_spelling(byte)) {
        throw InputError(path.string() + ": token " + std::to_string(id) + " should be " +
                         byte_token_spelling(byte) + ", is \"" + piece + "\"");
      }
      tokenizer.bytes_.push_back(std::string(1, static_cast<char>(byte)));
    } else if (id < kFirstByteToken) {
      tokenizer.bytes_.emplace_back();  // special tokens stand for no text
    } else {
      if (piece.empty()) {
        throw InputError(path.string() + ": token " + std::to_string(id) + " is empty");
      }
      tokenizer.bytes_.push_back(piece);
      tokenizer.ordinary_.emplace(piece, id);  // first spelling wins, as a sorted look-up would
    }
  }
  return tokenizer;
}

int Llama2cTokenizer::find_ordinary(std::string_view piece) const {
  const auto it = ordinary_.find(std::string(piece));
  return it == ordinary_.end() ? -1 : it->second;
}

std::vector<int> Llama2cTokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  if (text.empty()) return ids;
  const std::string prefixed = std::string(dummy_prefix()) + std::string(text);

  // One token per UTF-8 character (continuation bytes 10xxxxxx join the character before,
  // at most 4 bytes), or one byte-fallback token per byte of a character without a token.
  std::size_t start = 0;
  while (start < prefixed.size()) {
    std::size_t end = start + 1;
    while (end < prefixed.size() && end - start < 4 &&
           (static_cast<unsigned char>(prefixed[end]) & 0xC0) == 0x80) {
      ++end;
    }
    const std::string_view character = std::string_view(prefixed).substr(start, end - start);
    const int id = find_ordinary(character);
    if (id >= 0) {
      ids.push_back(id);
    } else {
      for (char c : character) ids.push_back(kFirstByteToken + static_cast<unsigned char>(c));
    }
    start = end;
  }

  // Greedy BPE: merge the best-scoring adjacent pair until no pair forms a token. merges[i] is
  // the token ids[i] and ids[i + 1] form (-1: none); a merge only changes its two neighbours.
  const auto merge_of = [&](std::size_t i) {
    return find_ordinary(bytes_[ids[i]] + bytes_[ids[i + 1]]);
  };
  std::vector<int> merges(ids.size() - 1);
  for (std::size_t i = 0; i < merges.size(); ++i) merges[i] = merge_of(i);
  while (!merges.empty()) {
    int best = -1;
    std::size_t best_index = 0;
    for (std::size_t i = 0; i < merges.size(); ++i) {
      if (merges[i] >= 0 && (best < 0 || scores_[merges[i]] > scores_[best])) {
        best = merges[i];
        best_index = i;
      }
    }
    if (best < 0) break;
    ids[best_index] = best;
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best_index) + 1);
    merges.erase(merges.begin() + static_cast<std::ptrdiff_t>(best_index));
    if (best_index > 0) merges[best_index - 1] = merge_of(best_index - 1);
    if (best_index < merges.size()) merges[best_index] = merge_of(best_index);
  }
  return ids;
}

std::string_view Llama2cTokenizer::token_bytes(int id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("llama2.c tokenizer: no token " + std::to_string(id));
  }
  return bytes_[id];
}

nlohmann::json Llama2cTokenizer::describe() const {
  return {{"kind", "llama2.c BPE (tokenizer.bin)"},
          {"path", path_.string()},
          {"fnv1a64", hash_},
          {"vocab_size", vocab_size()},
          {"dummy_prefix", " "},
          {"bos", kBos},
          {"byte_fallback", "ids 3..258 = bytes 0x00..0xFF"}};
}

}  // namespace lmc
