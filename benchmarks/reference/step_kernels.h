// Numeric kernels of the incremental Transformer step (transformer_predictor.cpp only).
//
// Every kernel fixes its floating-point evaluation order in the source: results depend only on
// the inputs and n, never on memory alignment, threads or library dispatch. With AVX2 and FMA
// (-march=x86-64-v3) the kernels use intrinsics; otherwise portable loops with the same
// structure. One binary always uses one of the two, so encoder and decoder agree bit for bit;
// the two variants are not bit-identical to each other.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LMC_REFERENCE_STEP_AVX2 1
#else
#define LMC_REFERENCE_STEP_AVX2 0
#endif

namespace lmc::reference::step_kernels {

// Cephes expf constants: exp(x) = 2^n exp(r), r = x - n ln 2 with ln 2 split in two parts.
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2High = 0.693359375f;
inline constexpr float kLn2Low = -2.12194440e-4f;
inline constexpr float kExpPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                      4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
inline constexpr float kExpMin = -87.0f, kExpMax = 88.0f;

inline float exp_scalar(float x) {
  x = x < kExpMin ? kExpMin : x;
  x = x > kExpMax ? kExpMax : x;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (x * kLog2e + kRound) - kRound;
  const float r = (x - n * kLn2High) - n * kLn2Low;
  float p = kExpPoly[0];
  for (int i = 1; i < 6; ++i) p = p * r + kExpPoly[i];
  p = p * r * r + r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

// GELU, tanh approximation (jax.nn.gelu's default, as in the authors' Haiku model), with
// tanh(u) = 1 - 2 / (exp(2u) + 1).
inline constexpr float kSqrt2OverPi = 0.7978845608028654f;
inline constexpr float kGeluCubic = 0.044715f;

inline float gelu_scalar(float x) {
  const float u = kSqrt2OverPi * (x + kGeluCubic * x * x * x);
  const float tanh_u = 1.0f - 2.0f / (exp_scalar(2.0f * u) + 1.0f);
  return 0.5f * x * (1.0f + tanh_u);
}

#if LMC_REFERENCE_STEP_AVX2
inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kExpMin)), _mm256_set1_ps(kExpMax));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2High), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Low), r);
  __m256 p = _mm256_set1_ps(kExpPoly[0]);
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpPoly[i]));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

// Sum of the eight lanes in a fixed tree.
inline float horizontal_sum(__m256 v) {
  const __m128 halves = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pairs = _mm_add_ps(halves, _mm_movehl_ps(halves, halves));
  return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
}
#endif

// a[i] = exp(a[i] - shift).
inline void exp_shifted(float* a, int n, float shift) {
  int i = 0;
#if LMC_REFERENCE_STEP_AVX2
  const __m256 s = _mm256_set1_ps(shift);
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(a + i, exp8(_mm256_sub_ps(_mm256_loadu_ps(a + i), s)));
#endif
  for (; i < n; ++i) a[i] = exp_scalar(a[i] - shift);
}

inline void gelu_in_place(float* a, int n) {
  int i = 0;
#if LMC_REFERENCE_STEP_AVX2
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(a + i);
    const __m256 cubic =
        _mm256_mul_ps(_mm256_mul_ps(x, x), _mm256_mul_ps(x, _mm256_set1_ps(kGeluCubic)));
    const __m256 u = _mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi), _mm256_add_ps(x, cubic));
    const __m256 e = exp8(_mm256_mul_ps(two, u));
    const __m256 tanh_u = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(e, one)));
    _mm256_storeu_ps(a + i, _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, tanh_u)));
  }
#endif
  for (; i < n; ++i) a[i] = gelu_scalar(a[i]);
}

// The maximum is exact in any order.
inline float max_of(const float* a, int n) {
  float m = a[0];
  int i = 0;
#if LMC_REFERENCE_STEP_AVX2
  if (n >= 8) {
    __m256 lanes = _mm256_loadu_ps(a);
    for (i = 8; i + 8 <= n; i += 8) lanes = _mm256_max_ps(lanes, _mm256_loadu_ps(a + i));
    float values[8];
    _mm256_storeu_ps(values, lanes);
    for (float v : values) m = v > m ? v : m;
  }
#endif
  for (; i < n; ++i) m = a[i] > m ? a[i] : m;
  return m;
}

// Sum of a[j] * b[j] (b = nullptr: of a[j]) in a fixed order: four (AVX2) or 32 (portable)
// interleaved partial sums, combined in a fixed tree, then the tail added in order.
inline float dot_fixed(const float* a, const float* b, int n) {
  int j = 0;
#if LMC_REFERENCE_STEP_AVX2
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  auto accumulate = [&](int k, int at) {
    const __m256 x = _mm256_loadu_ps(a + at);
    acc[k] = b ? _mm256_fmadd_ps(x, _mm256_loadu_ps(b + at), acc[k]) : _mm256_add_ps(x, acc[k]);
  };
  for (; j + 32 <= n; j += 32) {
    for (int k = 0; k < 4; ++k) accumulate(k, j + 8 * k);
  }
  for (; j + 8 <= n; j += 8) accumulate(0, j);
  float total =
      horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
#else
  constexpr int kLanes = 32;
  float lanes[kLanes] = {};
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] += b ? a[j + l] * b[j + l] : a[j + l];
  }
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  float total = lanes[0];
#endif
  for (; j < n; ++j) total += b ? a[j] * b[j] : a[j];
  return total;
}

inline float sum_fixed(const float* a, int n) { return dot_fixed(a, nullptr, n); }

// scores[j] = scale * sum over c in order of q[c] keys[c * stride + j], for j < n: the keys of
// a head stored channel by channel, contiguous in time.
inline void attention_scores(const float* q, const float* keys, std::size_t stride, int head_dim,
                             int n, float scale, float* scores) {
  int j = 0;
#if LMC_REFERENCE_STEP_AVX2
  for (; j + 16 <= n; j += 16) {
    __m256 low = _mm256_setzero_ps(), high = _mm256_setzero_ps();
    for (int c = 0; c < head_dim; ++c) {
      const __m256 qc = _mm256_set1_ps(q[c]);
      const float* k = keys + c * stride + j;
      low = _mm256_fmadd_ps(qc, _mm256_loadu_ps(k), low);
      high = _mm256_fmadd_ps(qc, _mm256_loadu_ps(k + 8), high);
    }
    _mm256_storeu_ps(scores + j, _mm256_mul_ps(low, _mm256_set1_ps(scale)));
    _mm256_storeu_ps(scores + j + 8, _mm256_mul_ps(high, _mm256_set1_ps(scale)));
  }
  for (; j + 8 <= n; j += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int c = 0; c < head_dim; ++c) {
      acc = _mm256_fmadd_ps(_mm256_set1_ps(q[c]), _mm256_loadu_ps(keys + c * stride + j), acc);
    }
    _mm256_storeu_ps(scores + j, _mm256_mul_ps(acc, _mm256_set1_ps(scale)));
  }
#endif
  for (; j < n; ++j) {
    float acc = 0;
    for (int c = 0; c < head_dim; ++c) acc += q[c] * keys[c * stride + j];
    scores[j] = acc * scale;
  }
}

// y = bias + x W for W stored (in, out) row-major: y[o] accumulates x[i] W[i][o] over i in order,
// 32 outputs at a time held in registers across the whole input.
inline void matvec(const float* x, const float* weights_in_out, const float* bias, int in, int out,
                   float* y) {
  int o = 0;
#if LMC_REFERENCE_STEP_AVX2
  for (; o + 32 <= out; o += 32) {
    __m256 acc[4];
    for (int k = 0; k < 4; ++k)
      acc[k] = bias ? _mm256_loadu_ps(bias + o + 8 * k) : _mm256_setzero_ps();
    const float* w = weights_in_out + o;
    for (int i = 0; i < in; ++i, w += out) {
      const __m256 xi = _mm256_set1_ps(x[i]);
      for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w + 8 * k), acc[k]);
    }
    for (int k = 0; k < 4; ++k) _mm256_storeu_ps(y + o + 8 * k, acc[k]);
  }
#endif
  for (; o < out; ++o) {
    float acc = bias ? bias[o] : 0.0f;
    for (int i = 0; i < in; ++i)
      acc += x[i] * weights_in_out[static_cast<std::size_t>(i) * out + o];
    y[o] = acc;
  }
}

}  // namespace lmc::reference::step_kernels
