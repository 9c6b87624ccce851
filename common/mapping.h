// How a language model trained on text sees arbitrary bytes: a 7-bit image of each byte
// (docs/PROTOCOL.md section 4). A dataset kind names its default; a config may override it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lmc {

enum class SevenBitMapping {
  ClearTopBit,  // enwik: bytes >= 128 lose bit 7; one bit counted per such byte
  ShiftRight,   // images, audio, random: every byte >> 1; one bit counted per byte
};

inline std::string_view to_string(SevenBitMapping m) {
  return m == SevenBitMapping::ClearTopBit ? "clear_top_bit" : "shift_right";
}

inline std::optional<SevenBitMapping> parse_mapping(std::string_view s) {
  if (s == "clear_top_bit") return SevenBitMapping::ClearTopBit;
  if (s == "shift_right") return SevenBitMapping::ShiftRight;
  return std::nullopt;
}

}  // namespace lmc
