// How a language model trained on text sees arbitrary bytes: a 7-bit image of each byte
// (docs/PROTOCOL.md section 4). A dataset kind names its default; a config may override it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lmc {

enum class SevenBitMapping {
  ClearTopBit,  // enwik: bytes >= 128 lose bit 7; one bit counted per such byte
  ShiftRight,   // images, audio, random: every byte >> 1; one bit counted per byte
  Identity,     // bench compress: all 8 bits coded, nothing dropped (lossless on any bytes)
};

inline std::string_view to_string(SevenBitMapping m) {
  switch (m) {
    case SevenBitMapping::ClearTopBit:
      return "clear_top_bit";
    case SevenBitMapping::ShiftRight:
      return "shift_right";
    case SevenBitMapping::Identity:
      break;
  }
  return "identity";
}

// The symbols a mapping can produce: 128, or all 256 bytes for the identity.
inline int mapped_alphabet(SevenBitMapping m) { return m == SevenBitMapping::Identity ? 256 : 128; }

// The symbol a byte becomes, and back: the byte a sampled symbol (0 to 127) stands for. The bit
// the mapping dropped is unknown, so it comes back as 0 (clear_top_bit: a 7-bit byte;
// shift_right: an even byte, 128 for a symbol of 64: silence in 8-bit audio).
inline std::uint8_t to_seven_bits(std::uint8_t byte, SevenBitMapping m) {
  if (m == SevenBitMapping::Identity) return byte;
  return m == SevenBitMapping::ClearTopBit ? byte & 0x7F : byte >> 1;
}
inline std::uint8_t from_seven_bits(std::uint8_t symbol, SevenBitMapping m) {
  return m == SevenBitMapping::ShiftRight ? static_cast<std::uint8_t>(symbol << 1) : symbol;
}

inline std::optional<SevenBitMapping> parse_mapping(std::string_view s) {
  if (s == "clear_top_bit") return SevenBitMapping::ClearTopBit;
  if (s == "shift_right") return SevenBitMapping::ShiftRight;
  if (s == "identity") return SevenBitMapping::Identity;
  return std::nullopt;
}

}  // namespace lmc
