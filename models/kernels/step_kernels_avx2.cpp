// The AVX2 + FMA path: eight lanes per instruction. Compiled with -mavx2 -mfma -mf16c
// (CMakeLists.txt); called only when the CPU has all three.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "models/kernels/step_kernels_impl.h"

namespace lmc::step_kernels {
namespace {

struct Avx2Isa {
  static constexpr int kWidth = 8;
  static constexpr int kMatmulRows = 2;   // 2 x 4 accumulators + 4 weights of 16 registers
  static constexpr int kDotRows = 1;      // x 2 channels x 4 accumulators
  static constexpr int kDotChannels = 4;  // one row: 4 channels x 4 accumulators
  using V = __m256;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load_half(const std::uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  // All ones in the first `count` lanes.
  static __m256i first(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V load_partial(const float* p, int count) { return _mm256_maskload_ps(p, first(count)); }
  // AVX2 masks 32-bit elements only: the pairs of halves holding the first `count` are loaded
  // (no fault past them), the widened lanes from `count` on are zeroed. An odd count reads the
  // half after the last one, which is inside the row.
  static V load_half_partial(const std::uint16_t* p, int count) {
    const __m128i pairs = _mm_maskload_epi32(
        reinterpret_cast<const int*>(p),
        _mm_cmpgt_epi32(_mm_set1_epi32((count + 1) / 2), _mm_setr_epi32(0, 1, 2, 3)));
    return _mm256_and_ps(_mm256_cvtph_ps(pairs), _mm256_castsi256_ps(first(count)));
  }
  static V load_int8(const std::int8_t* p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  // No byte masks in AVX2: the codes before `count` are copied into a zeroed vector (only in the
  // last group of a row).
  static V load_int8_partial(const std::int8_t* p, int count) {
    alignas(16) std::int8_t codes[16] = {};
    std::memcpy(codes, p, static_cast<std::size_t>(std::clamp(count, 0, kWidth)));
    return load_int8(codes);
  }
  static V keep_first(V v, int count, float fill) {
    return _mm256_blendv_ps(_mm256_set1_ps(fill), v, _mm256_castsi256_ps(first(count)));
  }
  static void store_partial(float* p, V v, int count) { _mm256_maskstore_ps(p, first(count), v); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V zero() { return _mm256_setzero_ps(); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V exp2_integer(V n) {
    const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23));
  }
  static V scale_by_power(V p, V n) { return mul(p, exp2_integer(n)); }
};

}  // namespace

const Kernels& avx2_kernels() {
  static const Kernels kernels = make_kernels<Avx2Isa>(KernelPath::Avx2, "avx2");
  return kernels;
}

}  // namespace lmc::step_kernels
