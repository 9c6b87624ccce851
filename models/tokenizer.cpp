#include "models/tokenizer.h"

#include <stdexcept>

namespace lmc {

std::string Tokenizer::decode(std::span<const int> ids) const {
  std::string text;
  for (int id : ids) text += token_bytes(id);
  const std::string_view prefix = dummy_prefix();
  if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
  return text;
}

ByteTokenizer::ByteTokenizer() : all_bytes_(256, '\0') {
  for (int i = 0; i < 256; ++i) all_bytes_[i] = static_cast<char>(i);
}

std::vector<int> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  ids.reserve(text.size());
  for (char c : text) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

std::string_view ByteTokenizer::token_bytes(int id) const {
  if (id < 0 || id >= 256)
    throw std::out_of_range("byte tokenizer: no token " + std::to_string(id));
  return std::string_view(all_bytes_).substr(id, 1);
}

}  // namespace lmc
