// The AVX-512 path: sixteen lanes per instruction. Compiled with -mavx512f -mavx512bw
// -mavx512vl (CMakeLists.txt); called only when the CPU has all three.
#include <immintrin.h>

#include "models/kernels/step_kernels_impl.h"

namespace lmc::step_kernels {
namespace {

struct Avx512Isa {
  static constexpr int kWidth = 16;
  static constexpr int kMatmulRows = 6;   // 6 x 4 accumulators + 4 weights of 32 registers
  static constexpr int kDotRows = 4;      // x 2 channels x 2 accumulators
  static constexpr int kDotChannels = 8;  // one row: 8 channels x 2 accumulators
  using V = __m512;
  // The zero-masked forms with a full mask are the plain instructions; GCC 12's plain forms
  // start from an "undefined" register that -Wmaybe-uninitialized reports.
  static constexpr __mmask16 kAll = 0xFFFF;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load_half(const std::uint16_t* p) {
    return _mm512_maskz_cvtph_ps(kAll, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  // The first `count` lanes (all when count >= 16, none when count <= 0).
  static __mmask16 first(int count) {
    return count >= kWidth ? kAll : count <= 0 ? 0 : static_cast<__mmask16>((1u << count) - 1);
  }
  static V load_partial(const float* p, int count) {
    return _mm512_maskz_loadu_ps(first(count), p);
  }
  static V load_half_partial(const std::uint16_t* p, int count) {
    const __mmask16 m = first(count);
    return _mm512_maskz_cvtph_ps(kAll, _mm256_maskz_loadu_epi16(m, p));
  }
  static V load_int8(const std::int8_t* p) {
    return widen_codes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V load_int8_partial(const std::int8_t* p, int count) {
    return widen_codes(_mm_maskz_loadu_epi8(first(count), p));
  }
  static V widen_codes(__m128i codes) {
    return _mm512_maskz_cvtepi32_ps(kAll, _mm512_maskz_cvtepi8_epi32(kAll, codes));
  }
  static V keep_first(V v, int count, float fill) {
    return _mm512_mask_mov_ps(_mm512_set1_ps(fill), first(count), v);
  }
  static void store_partial(float* p, V v, int count) { _mm512_mask_storeu_ps(p, first(count), v); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V zero() { return _mm512_setzero_ps(); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V min(V a, V b) { return _mm512_maskz_min_ps(kAll, a, b); }
  static V max(V a, V b) { return _mm512_maskz_max_ps(kAll, a, b); }
  static V exp2_integer(V n) {
    const __m512i biased =
        _mm512_add_epi32(_mm512_maskz_cvtps_epi32(kAll, n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, biased, 23));
  }
  // One instruction instead of convert, add, shift and multiply; the same correctly rounded
  // product, since n is an integer and 2^n a normal float (ScalarIsa::scale_by_power).
  static V scale_by_power(V p, V n) { return _mm512_maskz_scalef_ps(kAll, p, n); }
};

}  // namespace

const Kernels& avx512_kernels() {
  static const Kernels kernels = make_kernels<Avx512Isa>(KernelPath::Avx512, "avx512");
  return kernels;
}

}  // namespace lmc::step_kernels
