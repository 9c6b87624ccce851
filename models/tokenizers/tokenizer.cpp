#include "models/tokenizers/tokenizer.h"

#include <stdexcept>
#include <vector>

namespace lmc {

std::string Tokenizer::decode(std::span<const int> ids) const {
  std::string text;
  for (int id : ids) text += token_bytes(id);
  const std::string_view prefix = dummy_prefix();
  if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
  return text;
}

namespace {

std::string escaped(std::string_view text) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string Tokenizer::seven_bit_text_problem() const {
  // Short probes first, so a failure names the simplest text that shows it.
  std::vector<std::string> probes = {
      "a",         " ",     "  ",           "a  b   c",  " leading",
      "trailing ", "\t\tx", "line\n\nline", "\r\n \r\n", "<0x41> <s> </s>",
  };
  std::string every_character;
  for (int c = 0; c < 0x80; ++c) {
    probes.push_back("x" + std::string(3, static_cast<char>(c)) + "x");
    every_character += static_cast<char>(c);
  }
  probes.push_back(every_character);
  for (const std::string& probe : probes) {
    const std::string back = decode(encode(probe));
    if (back != probe) {
      return "\"" + escaped(probe) + "\" comes back as \"" + escaped(back) + "\"";
    }
  }
  return {};
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
