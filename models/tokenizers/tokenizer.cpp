#include "models/tokenizers/tokenizer.h"

#include <cstdint>
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

std::string hex_digits(unsigned char byte) {
  static const char* const kHex = "0123456789abcdef";
  return {kHex[byte >> 4], kHex[byte & 15]};
}

std::string escaped(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += "\\x" + hex_digits(c);
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

namespace {

// At most 40 bytes of `text`, "..." marking a cut (the noise probe is 2 KiB).
std::string abridged(std::string_view text) {
  constexpr std::size_t kShown = 40;
  return text.size() <= kShown ? std::string(text) : std::string(text.substr(0, kShown)) + "...";
}

// The byte values no token stands for alone, as ranges: "0x80-0xff", "0x00, 0x80-0xff".
std::string bytes_without_a_token(const Tokenizer& tokenizer) {
  std::vector<bool> covered(256, false);
  for (int id = 0; id < tokenizer.vocab_size(); ++id) {
    const std::string_view bytes = tokenizer.token_bytes(id);
    if (bytes.size() == 1) covered[static_cast<unsigned char>(bytes[0])] = true;
  }
  std::string ranges;
  const auto hex = [](int byte) { return "0x" + hex_digits(static_cast<unsigned char>(byte)); };
  for (int first = 0; first < 256;) {
    if (covered[first]) {
      ++first;
      continue;
    }
    int last = first;
    while (last + 1 < 256 && !covered[last + 1]) ++last;
    if (!ranges.empty()) ranges += ", ";
    ranges += first == last ? hex(first) : hex(first) + "-" + hex(last);
    first = last + 1;
  }
  return ranges;
}

std::vector<std::string> any_bytes_probes() {
  std::vector<std::string> probes = {
      // Not UTF-8: stray continuation and lead bytes, truncated and overlong sequences, a
      // surrogate, a code point past U+10FFFF.
      "\x80", "\xff", "\xc3", "\xc3(", "\xe2\x82", "\xe2\x82x", "\xc0\xaf", "\xe0\x80\xaf",
      "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80 a", "a \x80", "\x80  b\xff",
      // UTF-8 a tokenizer may treat specially: U+2581 (SentencePiece's space), U+FFFD (what it
      // puts for invalid bytes), characters without a token, NULs.
      "\xe2\x96\x81", " \xe2\x96\x81 ", "\xef\xbf\xbd", "\xc3\xa9", "\xf0\x9f\x98\x80",
      std::string("\0\0", 2)};
  std::string every_byte;
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    probes.push_back(std::string(1, c));
    probes.push_back("x" + std::string(3, c) + "x");
    probes.push_back(" " + std::string(1, c) + " a");
    every_byte += c;
  }
  probes.push_back(every_byte);
  probes.emplace_back(every_byte.rbegin(), every_byte.rend());
  std::uint32_t state = 29;  // a fixed LCG: the same noise everywhere
  std::string noise(2048, '\0');
  for (char& c : noise) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  probes.push_back(noise);
  return probes;
}

}  // namespace

std::string Tokenizer::any_bytes_problem() const {
  if (const std::string missing = bytes_without_a_token(*this); !missing.empty()) {
    return "no token stands for the byte(s) " + missing + " alone";
  }
  for (const std::string& probe : any_bytes_probes()) {
    std::string spelled;
    for (int id : encode(probe)) spelled += token_bytes(id);
    const std::string expected = std::string(dummy_prefix()) + probe;
    if (spelled != expected) {
      return "the tokens of \"" + escaped(abridged(probe)) + "\" spell \"" +
             escaped(abridged(spelled)) + "\"";
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
