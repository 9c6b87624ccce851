// FNV-1a 64: the one hash behind every fingerprint the harness records (model files, run
// journals, generation seeds). Not cryptographic; it identifies, it does not authenticate.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace lmc {

inline constexpr std::uint64_t kFnv1a64Basis = 0xcbf29ce484222325ull;

// Continues `hash` over `data`, so that a long input can be hashed in pieces.
inline std::uint64_t fnv1a64(ByteView data, std::uint64_t hash = kFnv1a64Basis) {
  for (std::uint8_t byte : data) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

inline std::uint64_t fnv1a64(std::string_view text, std::uint64_t hash = kFnv1a64Basis) {
  return fnv1a64(as_bytes(text), hash);
}

// 16 lower-case hex digits, the form provenance records.
inline std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace lmc
