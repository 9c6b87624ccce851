// The kernels of step_kernels.h written once, over a vector type: each path's .cpp defines its
// `Isa` (width, load/store, fused multiply-add, ...) and includes this file, so the scalar, AVX2
// and AVX-512 kernels are the same source and differ only in how many independent chains one
// instruction advances. Everything here has internal linkage: each path's translation unit,
// compiled with its own target flags, keeps its own copy (no ODR mix-up between targets).
//
// Include only from step_kernels_{scalar,avx2,avx512}.cpp.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "models/kernels/half.h"
#include "models/kernels/step_kernels.h"

namespace lmc::step_kernels {
namespace {

// The portable path, and the tails of the vector paths: one element per "vector".
struct ScalarIsa {
  static constexpr int kWidth = 1;
  static constexpr int kMatmulRows = 4;
  static constexpr int kDotRows = 2;
  static constexpr int kDotChannels = 4;
  using V = float;
  static V load(const float* p) { return *p; }
  static void store(float* p, V v) { *p = v; }
  static V set1(float x) { return x; }
  static V zero() { return 0.0f; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V fma(V a, V b, V c) { return std::fma(a, b, c); }
  static V fnma(V a, V b, V c) { return std::fma(-a, b, c); }  // c - a b, one rounding
  // Operand order as minps/maxps: the second operand when the comparison is false.
  static V min(V a, V b) { return a < b ? a : b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V load_half(const std::uint16_t* p) { return widen(*p); }
  // The partial forms, for the padded last group of a reduction and the last positions of a row
  // of scores: load_partial(p, count), load_half_partial and load_int8_partial give the first
  // `count` elements at p
  // (all when count >= the width) and zeros after them; keep_first(v, count, fill) replaces the
  // lanes from `count` on by `fill`; store_partial writes the first `count` lanes.
  static V load_partial(const float* p, int count) { return count > 0 ? *p : 0.0f; }
  static V load_half_partial(const std::uint16_t* p, int count) {
    return count > 0 ? widen(*p) : 0.0f;
  }
  static V load_int8(const std::int8_t* p) { return static_cast<float>(*p); }
  static V load_int8_partial(const std::int8_t* p, int count) {
    return count > 0 ? static_cast<float>(*p) : 0.0f;
  }
  static V keep_first(V v, int count, float fill) { return count > 0 ? v : fill; }
  static void store_partial(float* p, V v, int count) {
    if (count > 0) *p = v;
  }
  static float widen(std::uint16_t half) { return half_bits_to_float(half); }
  // 2^n for a float n holding an integer in [-127, 128].
  static V exp2_integer(V n) {
    return std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
  }
  // p 2^n for a float n holding an integer in [-126, 127]: 2^n is a normal float, so the product
  // is one correctly rounded operation, whatever instruction computes it.
  static V scale_by_power(V p, V n) { return mul(p, exp2_integer(n)); }
};

constexpr int kLanes = 32;  // of every reduction, in every path

// A cache element widened to float, exactly: a binary16 half or an 8-bit code (T = std::uint16_t
// or std::int8_t), I::kWidth of them at p; the partial form zeros the lanes from `count` on.
template <class I>
typename I::V load_cache(const std::uint16_t* p) {
  return I::load_half(p);
}
template <class I>
typename I::V load_cache(const std::int8_t* p) {
  return I::load_int8(p);
}
template <class I>
typename I::V load_cache_partial(const std::uint16_t* p, int count) {
  return I::load_half_partial(p, count);
}
template <class I>
typename I::V load_cache_partial(const std::int8_t* p, int count) {
  return I::load_int8_partial(p, count);
}

// A score from its chain `acc` (positions j.. of a row): scale acc for half keys; for 8-bit keys,
// whose element is code * key_scales[position], (acc key_scales[j..]) scale. `count` < the width
// reads only that many scales (the lanes after are discarded by the caller).
template <class I, class T>
typename I::V finish_score(typename I::V acc, const float* key_scales, int j, float scale,
                           int count = I::kWidth) {
  if constexpr (std::is_same_v<T, std::int8_t>) {
    const typename I::V s =
        count >= I::kWidth ? I::load(key_scales + j) : I::load_partial(key_scales + j, count);
    return I::mul(I::mul(acc, s), I::set1(scale));
  } else {
    return I::mul(acc, I::set1(scale));
  }
}

// How far ahead (in halves) the decoder's kernels ask for the KV cache: one lone row reads each
// channel of a head's cache once, from L3, as a stream the hardware prefetchers do not follow well
// (a head's 16 or 32 channels are as many streams). A hint only: no effect on any value.
constexpr int kPrefetchAhead = 512;

// Cephes expf constants: exp(x) = 2^n exp(r), r = x - n ln 2 with ln 2 split in two parts.
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2High = 0.693359375f;
constexpr float kLn2Low = -2.12194440e-4f;
constexpr float kExpPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                               4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
constexpr float kExpMin = -87.0f, kExpMax = 88.0f;
constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to even

template <class I>
typename I::V exp_of(typename I::V x) {
  using V = typename I::V;
  x = I::min(I::max(x, I::set1(kExpMin)), I::set1(kExpMax));
  const V n = I::sub(I::add(I::mul(x, I::set1(kLog2e)), I::set1(kRound)), I::set1(kRound));
  V r = I::fnma(n, I::set1(kLn2High), x);
  r = I::fnma(n, I::set1(kLn2Low), r);
  V p = I::set1(kExpPoly[0]);
  for (int i = 1; i < 6; ++i) p = I::fma(p, r, I::set1(kExpPoly[i]));
  p = I::fma(p, I::mul(r, r), I::add(r, I::set1(1.0f)));
  return I::scale_by_power(p, n);
}

// GELU, tanh approximation (jax.nn.gelu's default, as in the authors' Haiku model), with
// tanh(u) = 1 - 2 / (exp(2u) + 1).
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCubic = 0.044715f;

template <class I>
typename I::V gelu_of(typename I::V x) {
  using V = typename I::V;
  const V one = I::set1(1.0f), two = I::set1(2.0f);
  const V cubic = I::mul(I::mul(x, x), I::mul(x, I::set1(kGeluCubic)));
  const V u = I::mul(I::set1(kSqrt2OverPi), I::add(x, cubic));
  const V tanh_u = I::sub(one, I::div(two, I::add(exp_of<I>(I::mul(two, u)), one)));
  return I::mul(I::mul(I::set1(0.5f), x), I::add(one, tanh_u));
}

template <class I>
void gelu(float* a, int n) {
  constexpr int W = I::kWidth;
  int i = 0;
  for (; i + W <= n; i += W) I::store(a + i, gelu_of<I>(I::load(a + i)));
  for (; i < n; ++i) a[i] = gelu_of<ScalarIsa>(a[i]);
}

template <class I>
float max_of(const float* a, int n) {
  constexpr int W = I::kWidth;
  float m = a[0];
  int i = 0;
  if (n >= W) {
    typename I::V lanes = I::load(a);
    for (i = W; i + W <= n; i += W) lanes = I::max(lanes, I::load(a + i));
    float values[W];
    I::store(values, lanes);
    for (float v : values) m = v > m ? v : m;
  }
  for (; i < n; ++i) m = a[i] > m ? a[i] : m;
  return m;
}

// The fixed tree that ends every 32-lane reduction, then the tail in order.
inline float combine_lanes(float* lanes) {
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  return lanes[0];
}

// Sums of a[j] b[j] (kProduct; b cache elements) or of a[j] for `count` vectors b `stride` apart,
// each in 32 lanes. Several sums run side by side so that their chains hide each other's latency;
// each sum's operations are exactly those of a lone one.
template <class I, bool kProduct, int kCount, class T = std::uint16_t>
void lane_sums(const float* a, const T* b, std::size_t stride, int n, float* out) {
  using V = typename I::V;
  constexpr int W = I::kWidth, kVectors = kLanes / W;
  V acc[kCount][kVectors];
  for (auto& sum : acc) {
    for (auto& v : sum) v = I::zero();
  }
  int j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    if constexpr (kProduct) {
      // One prefetch per 64-byte line: every group of halves, every other group of 8-bit codes.
      constexpr int kLine = 64 / sizeof(T);
      if (j % kLine == 0 && j + kPrefetchAhead < n) {
        for (int s = 0; s < kCount; ++s) __builtin_prefetch(b + s * stride + j + kPrefetchAhead);
      }
    }
    for (int k = 0; k < kVectors; ++k) {
      const V x = I::load(a + j + k * W);
      for (int s = 0; s < kCount; ++s) {
        acc[s][k] = kProduct ? I::fma(x, load_cache<I>(b + s * stride + j + k * W), acc[s][k])
                             : I::add(acc[s][k], x);
      }
    }
  }
  if (j < n) {  // the last group, padded with zeros (a and b) to 32 elements
    for (int k = 0; k < kVectors; ++k) {
      const int count = n - (j + k * W);
      const V x = I::load_partial(a + j + k * W, count);
      for (int s = 0; s < kCount; ++s) {
        acc[s][k] = kProduct ? I::fma(x, load_cache_partial<I>(b + s * stride + j + k * W, count),
                                      acc[s][k])
                             : I::add(acc[s][k], x);
      }
    }
  }
  float totals[kCount];
  for (int s = 0; s < kCount; ++s) {
    float lanes[kLanes];
    for (int k = 0; k < kVectors; ++k) I::store(lanes + k * W, acc[s][k]);
    totals[s] = combine_lanes(lanes);
  }
  std::copy_n(totals, kCount, out);
}

// exp(a[i] - shift) into a, and the 32-lane sum of the results: exactly what an exp pass and then
// sum() compute, in one pass over a (a softmax row's exponentials are summed while in registers).
template <class I>
float exp_sum(float* a, int n, float shift) {
  using V = typename I::V;
  constexpr int W = I::kWidth, kVectors = kLanes / W;
  const V s = I::set1(shift);
  V acc[kVectors];
  for (auto& v : acc) v = I::zero();
  int j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int k = 0; k < kVectors; ++k) {
      const V e = exp_of<I>(I::sub(I::load(a + j + k * W), s));
      I::store(a + j + k * W, e);
      acc[k] = I::add(acc[k], e);
    }
  }
  if (j < n) {  // the last group: its padding adds zeros
    for (int k = 0; k < kVectors; ++k) {
      const int count = n - (j + k * W);
      const V e =
          I::keep_first(exp_of<I>(I::sub(I::load_partial(a + j + k * W, count), s)), count, 0.0f);
      I::store_partial(a + j + k * W, e, count);
      acc[k] = I::add(acc[k], e);
    }
  }
  float lanes[kLanes];
  for (int k = 0; k < kVectors; ++k) I::store(lanes + k * W, acc[k]);
  return combine_lanes(lanes);
}

// a[i] *= factor.
template <class I>
void scale(float* a, int n, float factor) {
  constexpr int W = I::kWidth;
  const typename I::V f = I::set1(factor);
  int i = 0;
  for (; i + W <= n; i += W) I::store(a + i, I::mul(I::load(a + i), f));
  for (; i < n; ++i) a[i] *= factor;
}

template <class I>
float sum(const float* a, int n) {
  float out;
  lane_sums<I, false, 1>(a, static_cast<const std::uint16_t*>(nullptr), 0, n, &out);
  return out;
}

// out[c] = the sum of a[j] b[c * stride + j] for c < count, I::kDotChannels at a time (enough
// independent chains to hide the multiply-add latency, each weight vector loaded once for all).
template <class I, class T = std::uint16_t>
void dots(const float* a, const T* b, std::size_t stride, int count, int n, float* out) {
  constexpr int kChannels = I::kDotChannels;
  int c = 0;
  for (; c + kChannels <= count; c += kChannels) {
    lane_sums<I, true, kChannels, T>(a, b + c * stride, stride, n, out + c);
  }
  for (; c + 4 <= count; c += 4) lane_sums<I, true, 4, T>(a, b + c * stride, stride, n, out + c);
  for (; c < count; ++c) lane_sums<I, true, 1, T>(a, b + c * stride, stride, n, out + c);
}

// The largest of `top`'s lanes and `largest` (exact in any order).
template <class I>
float largest_lane(typename I::V top, float largest) {
  float values[I::kWidth];
  I::store(values, top);
  for (float v : values) largest = v > largest ? v : largest;
  return largest;
}

// kVectors vectors of positions at a time, each a chain over the head's channels. Raises
// `largest` to the largest score written (the softmax's shift, without a pass of its own).
template <class I, int kVectors, bool kPrefetch = false, class T = std::uint16_t>
int scores_tiles(const float* q, const T* keys, const float* key_scales, std::size_t stride,
                 int head_dim, int n, float scale, float* scores, int j, float& largest) {
  using V = typename I::V;
  constexpr int W = I::kWidth, kTile = kVectors * W;
  if (j + kTile > n) return j;
  V top = I::set1(largest);
  for (; j + kTile <= n; j += kTile) {
    V acc[kVectors];
    for (auto& v : acc) v = I::zero();
    const bool prefetch = kPrefetch && j + kPrefetchAhead < n;
    for (int c = 0; c < head_dim; ++c) {
      const V qc = I::set1(q[c]);
      const T* k = keys + c * stride + j;
      if (prefetch) {
        constexpr int kLine = 64 / sizeof(T);
        for (int line = 0; line < kTile; line += kLine) {
          __builtin_prefetch(k + kPrefetchAhead + line);
        }
      }
      for (int v = 0; v < kVectors; ++v) acc[v] = I::fma(qc, load_cache<I>(k + v * W), acc[v]);
    }
    for (int v = 0; v < kVectors; ++v) {
      const V score = finish_score<I, T>(acc[v], key_scales, j + v * W, scale);
      I::store(scores + j + v * W, score);
      top = I::max(top, score);
    }
  }
  largest = largest_lane<I>(top, largest);
  return j;
}

// The positions past the last whole vector (fewer than the width): one vector of chains, the
// keys past n read as zeros, only the first n - j scores kept. Each kept score is the chain
// scores_tiles computes.
template <class I, class T = std::uint16_t>
void scores_last_vector(const float* q, const T* keys, const float* key_scales, std::size_t stride,
                        int head_dim, int n, float scale, float* scores, int j, float& largest) {
  using V = typename I::V;
  const int count = n - j;
  if (count <= 0) return;
  V acc = I::zero();
  for (int c = 0; c < head_dim; ++c) {
    acc = I::fma(I::set1(q[c]), load_cache_partial<I>(keys + c * stride + j, count), acc);
  }
  const V score = finish_score<I, T>(acc, key_scales, j, scale, count);
  I::store_partial(scores + j, score, count);
  largest = largest_lane<I>(I::keep_first(score, count, -std::numeric_limits<float>::infinity()),
                            largest);
}

// Eight vectors per tile: the 8 fused chains hide the multiply-add latency of a lone row (the
// decoder's), which four did not.
template <class I, class T>
float attention_scores_of(const float* q, const T* keys, const float* key_scales,
                          std::size_t stride, int head_dim, int n, float scale, float* scores) {
  float largest = -std::numeric_limits<float>::infinity();
  int j = scores_tiles<I, 8, true, T>(q, keys, key_scales, stride, head_dim, n, scale, scores, 0,
                                      largest);
  j = scores_tiles<I, 4, false, T>(q, keys, key_scales, stride, head_dim, n, scale, scores, j,
                                   largest);
  j = scores_tiles<I, 1, false, T>(q, keys, key_scales, stride, head_dim, n, scale, scores, j,
                                   largest);
  scores_last_vector<I, T>(q, keys, key_scales, stride, head_dim, n, scale, scores, j, largest);
  return largest;
}

template <class I>
float attention_scores(const float* q, const std::uint16_t* keys, std::size_t stride, int head_dim,
                       int n, float scale, float* scores) {
  return attention_scores_of<I>(q, keys, nullptr, stride, head_dim, n, scale, scores);
}

// Queries of kRows rows of one sequence over the same keys, kVectors vectors of positions at a
// time: each key vector is widened once for all rows. Each score is the same chain as in
// scores_tiles. Stops at the last whole tile before `end`.
template <class I, int kRows, int kVectors, class T>
int scores_rows_tiles(const float* q, std::size_t q_stride, const T* keys, const float* key_scales,
                      std::size_t stride, int head_dim, int end, float scale, float* scores,
                      std::size_t scores_stride, float* largest) {
  using V = typename I::V;
  constexpr int W = I::kWidth, kTile = kVectors * W;
  V top[kRows];
  for (int r = 0; r < kRows; ++r) top[r] = I::set1(largest[r]);
  int j = 0;
  for (; j + kTile <= end; j += kTile) {
    V acc[kRows][kVectors];
    for (auto& row : acc) {
      for (auto& v : row) v = I::zero();
    }
    for (int c = 0; c < head_dim; ++c) {
      V k[kVectors];
      for (int v = 0; v < kVectors; ++v) k[v] = load_cache<I>(keys + c * stride + j + v * W);
      for (int r = 0; r < kRows; ++r) {
        const V qc = I::set1(q[r * q_stride + c]);
        for (int v = 0; v < kVectors; ++v) acc[r][v] = I::fma(qc, k[v], acc[r][v]);
      }
    }
    for (int r = 0; r < kRows; ++r) {
      for (int v = 0; v < kVectors; ++v) {
        const V score = finish_score<I, T>(acc[r][v], key_scales, j + v * W, scale);
        I::store(scores + r * scores_stride + j + v * W, score);
        top[r] = I::max(top[r], score);
      }
    }
  }
  for (int r = 0; r < kRows; ++r) largest[r] = largest_lane<I>(top[r], largest[r]);
  return j;
}

// attention_scores of `rows` queries (row r over n[r] positions) in tiles of rows; largest[r] =
// the largest of row r's scores.
template <class I, class T>
void attention_scores_rows_of(const float* q, std::size_t q_stride, int rows, const T* keys,
                              const float* key_scales, std::size_t stride, int head_dim,
                              const int* n, float scale, float* scores, std::size_t scores_stride,
                              float* largest) {
  constexpr int kRows = 4;
  int r = 0;
  for (; r + kRows <= rows; r += kRows) {
    const int shortest = *std::min_element(n + r, n + r + kRows);
    float* top = largest + r;
    std::fill_n(top, kRows, -std::numeric_limits<float>::infinity());
    const int done = scores_rows_tiles<I, kRows, 2, T>(
        q + r * q_stride, q_stride, keys, key_scales, stride, head_dim, shortest, scale,
        scores + r * scores_stride, scores_stride, top);
    for (int i = r; i < r + kRows; ++i) {
      float* row_scores = scores + i * scores_stride;
      int j = scores_tiles<I, 1, false, T>(q + i * q_stride, keys, key_scales, stride, head_dim,
                                           n[i], scale, row_scores, done, largest[i]);
      scores_last_vector<I, T>(q + i * q_stride, keys, key_scales, stride, head_dim, n[i], scale,
                               row_scores, j, largest[i]);
    }
  }
  for (; r < rows; ++r) {
    largest[r] = attention_scores_of<I, T>(q + r * q_stride, keys, key_scales, stride, head_dim,
                                           n[r], scale, scores + r * scores_stride);
  }
}

template <class I>
void attention_scores_rows(const float* q, std::size_t q_stride, int rows,
                           const std::uint16_t* keys, std::size_t stride, int head_dim,
                           const int* n, float scale, float* scores, std::size_t scores_stride,
                           float* largest) {
  attention_scores_rows_of<I>(q, q_stride, rows, keys, nullptr, stride, head_dim, n, scale, scores,
                              scores_stride, largest);
}

template <class I>
void attention_scores_rows_int8(const float* q, std::size_t q_stride, int rows,
                                const std::int8_t* keys, const float* key_scales,
                                std::size_t stride, int head_dim, const int* n, float scale,
                                float* scores, std::size_t scores_stride, float* largest) {
  attention_scores_rows_of<I>(q, q_stride, rows, keys, key_scales, stride, head_dim, n, scale,
                              scores, scores_stride, largest);
}

// dots for kRows rows of weights a (row r over n[r] positions) and kChannels value rows b: the
// 32-lane sums of the whole groups all rows share run together, each value vector widened once;
// every row then finishes its own groups, tree and tail exactly as lane_sums does.
template <class I, int kRows, int kChannels, class T>
void dots_rows_tile(const float* a, std::size_t a_stride, const T* b, std::size_t stride,
                    const int* n, float* out, std::size_t out_stride) {
  using V = typename I::V;
  constexpr int W = I::kWidth, kVectors = kLanes / W;
  const int shared_groups = *std::min_element(n, n + kRows) / kLanes;
  V acc[kRows][kChannels][kVectors];
  for (auto& row : acc) {
    for (auto& channel : row) {
      for (auto& v : channel) v = I::zero();
    }
  }
  for (int g = 0; g < shared_groups; ++g) {
    for (int k = 0; k < kVectors; ++k) {
      const int j = g * kLanes + k * W;
      V values[kChannels];
      for (int c = 0; c < kChannels; ++c) values[c] = load_cache<I>(b + c * stride + j);
      for (int r = 0; r < kRows; ++r) {
        const V x = I::load(a + r * a_stride + j);
        for (int c = 0; c < kChannels; ++c) acc[r][c][k] = I::fma(x, values[c], acc[r][c][k]);
      }
    }
  }
  // Each row's own whole groups, then its last group padded with zeros (as lane_sums).
  for (int r = 0; r < kRows; ++r) {
    const float* weights = a + r * a_stride;
    for (int c = 0; c < kChannels; ++c) {
      const T* value = b + c * stride;
      V sums[kVectors];
      for (int k = 0; k < kVectors; ++k) sums[k] = acc[r][c][k];
      int j = shared_groups * kLanes;
      for (; j + kLanes <= n[r]; j += kLanes) {
        for (int k = 0; k < kVectors; ++k) {
          sums[k] = I::fma(I::load(weights + j + k * W), load_cache<I>(value + j + k * W), sums[k]);
        }
      }
      if (j < n[r]) {
        for (int k = 0; k < kVectors; ++k) {
          const int count = n[r] - (j + k * W);
          sums[k] = I::fma(I::load_partial(weights + j + k * W, count),
                           load_cache_partial<I>(value + j + k * W, count), sums[k]);
        }
      }
      float lanes[kLanes];
      for (int k = 0; k < kVectors; ++k) I::store(lanes + k * W, sums[k]);
      out[r * out_stride + c] = combine_lanes(lanes);
    }
  }
}

// out[r * out_stride + c] = dots of row r (a + r * a_stride over n[r] positions) with value row
// c < count, for r < rows.
template <class I, class T = std::uint16_t>
void dots_rows(const float* a, std::size_t a_stride, int rows, const T* b, std::size_t stride,
               int count, const int* n, float* out, std::size_t out_stride) {
  constexpr int kRows = I::kDotRows, kChannels = 2;
  int r = 0;
  for (; r + kRows <= rows; r += kRows) {
    int c = 0;
    for (; c + kChannels <= count; c += kChannels) {
      dots_rows_tile<I, kRows, kChannels, T>(a + r * a_stride, a_stride, b + c * stride, stride,
                                             n + r, out + r * out_stride + c, out_stride);
    }
    for (; c < count; ++c) {
      dots_rows_tile<I, kRows, 1, T>(a + r * a_stride, a_stride, b + c * stride, stride, n + r,
                                     out + r * out_stride + c, out_stride);
    }
  }
  for (; r < rows; ++r) dots<I, T>(a + r * a_stride, b, stride, count, n[r], out + r * out_stride);
}

// a[i] = (a[i] factor) by[i]: softmax weights times the 8-bit values' scales.
template <class I>
void scale_each(float* a, int n, float factor, const float* by) {
  constexpr int W = I::kWidth;
  const typename I::V f = I::set1(factor);
  int i = 0;
  for (; i + W <= n; i += W) I::store(a + i, I::mul(I::mul(I::load(a + i), f), I::load(by + i)));
  for (; i < n; ++i) a[i] = (a[i] * factor) * by[i];
}

// kRows x kVectors outputs at a time: y[r][o] = bias[o], then one fused step per input index.
template <class I, int kRows, int kVectors>
void matmul_tile(const float* x, std::size_t x_stride, const float* w, const float* bias, int in,
                 int out, float* y, std::size_t y_stride) {
  using V = typename I::V;
  constexpr int W = I::kWidth;
  V acc[kRows][kVectors];
  for (int v = 0; v < kVectors; ++v) {
    const V start = bias ? I::load(bias + v * W) : I::zero();
    for (int r = 0; r < kRows; ++r) acc[r][v] = start;
  }
  for (int i = 0; i < in; ++i) {
    const float* wi = w + static_cast<std::size_t>(i) * out;
    V wv[kVectors];
    for (int v = 0; v < kVectors; ++v) wv[v] = I::load(wi + v * W);
    for (int r = 0; r < kRows; ++r) {
      const V xr = I::set1(x[r * x_stride + i]);
      for (int v = 0; v < kVectors; ++v) acc[r][v] = I::fma(xr, wv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVectors; ++v) I::store(y + r * y_stride + v * W, acc[r][v]);
  }
}

// Rows in tiles of kRows, the last few with a tile of exactly the rows left.
template <class I, int kRows, int kVectors>
void matmul_rows(const float* x, std::size_t x_stride, int rows, const float* w, const float* bias,
                 int in, int out, float* y, std::size_t y_stride) {
  int r = 0;
  for (; r + kRows <= rows; r += kRows) {
    matmul_tile<I, kRows, kVectors>(x + r * x_stride, x_stride, w, bias, in, out, y + r * y_stride,
                                    y_stride);
  }
  if constexpr (kRows > 1) {
    if (r < rows) {
      matmul_rows<I, kRows - 1, kVectors>(x + r * x_stride, x_stride, rows - r, w, bias, in, out,
                                          y + r * y_stride, y_stride);
    }
  }
}

// One panel: a (in, width) row-major block of the weights' columns.
template <class I>
void matmul_panel(const float* x, std::size_t x_stride, int rows, const float* w, const float* bias,
                  int in, int width, float* y, std::size_t y_stride) {
  constexpr int W = I::kWidth, kWide = 4 * W;
  int o = 0;
  for (; o + kWide <= width; o += kWide) {
    matmul_rows<I, I::kMatmulRows, 4>(x, x_stride, rows, w + o, bias ? bias + o : nullptr, in,
                                      width, y + o, y_stride);
  }
  for (; o + W <= width; o += W) {
    matmul_rows<I, I::kMatmulRows, 1>(x, x_stride, rows, w + o, bias ? bias + o : nullptr, in,
                                      width, y + o, y_stride);
  }
  for (; o < width; ++o) {
    matmul_rows<ScalarIsa, 1, 1>(x, x_stride, rows, w + o, bias ? bias + o : nullptr, in, width,
                                 y + o, y_stride);
  }
}

template <class I>
void matmul(const float* x, std::size_t x_stride, int rows, const float* w, const float* bias,
            int in, int out, float* y, std::size_t y_stride) {
  for (int o = 0; o < out; o += kMatmulPanel) {
    matmul_panel<I>(x, x_stride, rows, w + static_cast<std::size_t>(o) * in,
                    bias ? bias + o : nullptr, in, std::min(kMatmulPanel, out - o), y + o,
                    y_stride);
  }
}

// ---- Writing the KV cache -------------------------------------------------------------------
// Clamped to the largest half so that no key or value becomes infinite.
constexpr float kHalfMax = 65504.0f;

float clamped_to_half_range(float x) {
  x = x < -kHalfMax ? -kHalfMax : x;
  return x > kHalfMax ? kHalfMax : x;
}

template <class I>
void store_halves(const float* x, int n, std::uint16_t* out, std::size_t stride) {
  for (int c = 0; c < n; ++c) out[c * stride] = float_to_half_bits(clamped_to_half_range(x[c]));
}

// The 8-bit cache: one head's key (or value) at one position, x[0..n), becomes codes round(x / s)
// in [-127, 127] with s = max |x| / 127 (s = 0 and zero codes when x is all zeros), clamped like
// the halves. Returns s.
template <class I>
float quantize_codes(const float* x, int n, std::int8_t* codes, std::size_t code_stride) {
  float largest = 0.0f;
  for (int c = 0; c < n; ++c) largest = std::max(largest, std::fabs(clamped_to_half_range(x[c])));
  const float s = largest / 127.0f;
  for (int c = 0; c < n; ++c) {
    const float code = s > 0.0f ? std::nearbyint(clamped_to_half_range(x[c]) / s) : 0.0f;
    codes[c * code_stride] = static_cast<std::int8_t>(std::clamp(code, -127.0f, 127.0f));
  }
  return s;
}

template <class I>
Kernels make_kernels(KernelPath path, const char* name) {
  return {path,
          name,
          matmul<I>,
          attention_scores<I>,
          exp_sum<I>,
          scale<I>,
          gelu<I>,
          max_of<I>,
          sum<I>,
          dots<I>,
          attention_scores_rows<I>,
          dots_rows<I>,
          attention_scores_rows_int8<I>,
          dots_rows<I, std::int8_t>,
          scale_each<I>,
          store_halves<I>,
          quantize_codes<I>};
}

}  // namespace
}  // namespace lmc::step_kernels
