// IEEE binary16 <-> float32, rounding to nearest even: the KV cache's storage format.
//
// _Float16 where the compiler has it on x86 (GCC 12, clang 15+); clang 14, which builds the fuzz
// targets (tests/fuzz), has only the storage type __fp16, which converts the same way (with
// F16C, which x86-64-v3 includes). Through memcpy because clang refuses __fp16 as a value a
// function returns, std::bit_cast included.
#pragma once

#include <cstdint>
#include <cstring>

namespace lmc {

#if defined(__clang__) && __clang_major__ < 15
using HalfFloat = __fp16;
#else
using HalfFloat = _Float16;
#endif

inline std::uint16_t float_to_half_bits(float x) {
  const HalfFloat half = static_cast<HalfFloat>(x);
  std::uint16_t bits;
  std::memcpy(&bits, &half, sizeof(bits));
  return bits;
}

inline float half_bits_to_float(std::uint16_t bits) {
  HalfFloat half;
  std::memcpy(&half, &bits, sizeof(bits));
  return static_cast<float>(half);
}

}  // namespace lmc
