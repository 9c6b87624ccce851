// The kernels of step_kernels.h written once, over a vector type: each path's .cpp defines its
// `Isa` (width, load/store, fused multiply-add, ...) and includes this file, so the scalar, AVX2
// and AVX-512 kernels are the same source and differ only in how many independent chains one
// instruction advances. Everything here has internal linkage: each path's translation unit,
// compiled with its own target flags, keeps its own copy (no ODR mix-up between targets).
//
// Include only from step_kernels_{scalar,avx2,avx512}.cpp.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "models/step_kernels.h"

namespace lmc::step_kernels {
namespace {

// The portable path, and the tails of the vector paths: one element per "vector".
struct ScalarIsa {
  static constexpr int kWidth = 1;
  static constexpr int kMatmulRows = 4;
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
  // 2^n for a float n holding an integer in [-127, 128].
  static V exp2_integer(V n) {
    return std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
  }
};

constexpr int kLanes = 32;  // of every reduction, in every path

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
  return I::mul(p, I::exp2_integer(n));
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
void exp_shifted(float* a, int n, float shift) {
  constexpr int W = I::kWidth;
  int i = 0;
  for (; i + W <= n; i += W) {
    I::store(a + i, exp_of<I>(I::sub(I::load(a + i), I::set1(shift))));
  }
  for (; i < n; ++i) a[i] = exp_of<ScalarIsa>(a[i] - shift);
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

// Sums of a[j] b[j] (kProduct) or of a[j] for `count` vectors b (or a) `stride` apart, each in
// 32 lanes. Several sums run side by side so that their chains hide each other's latency; each
// sum's operations are exactly those of a lone one.
template <class I, bool kProduct, int kCount>
void lane_sums(const float* a, const float* b, std::size_t stride, int n, float* out) {
  using V = typename I::V;
  constexpr int W = I::kWidth, kVectors = kLanes / W;
  V acc[kCount][kVectors];
  for (auto& sum : acc) {
    for (auto& v : sum) v = I::zero();
  }
  int j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int k = 0; k < kVectors; ++k) {
      const V x = I::load(a + j + k * W);
      for (int s = 0; s < kCount; ++s) {
        acc[s][k] = kProduct ? I::fma(x, I::load(b + s * stride + j + k * W), acc[s][k])
                             : I::add(acc[s][k], x);
      }
    }
  }
  for (int s = 0; s < kCount; ++s) {
    float lanes[kLanes];
    for (int k = 0; k < kVectors; ++k) I::store(lanes + k * W, acc[s][k]);
    float total = combine_lanes(lanes);
    for (int t = j; t < n; ++t) {
      total = kProduct ? std::fma(a[t], b[s * stride + t], total) : total + a[t];
    }
    out[s] = total;
  }
}

template <class I>
float dot(const float* a, const float* b, int n) {
  float out;
  lane_sums<I, true, 1>(a, b, 0, n, &out);
  return out;
}

template <class I>
float sum(const float* a, int n) {
  float out;
  lane_sums<I, false, 1>(a, nullptr, 0, n, &out);
  return out;
}

// out[c] = dot(a, b + c * stride, n) for c < count, four at a time.
template <class I>
void dots(const float* a, const float* b, std::size_t stride, int count, int n, float* out) {
  int c = 0;
  for (; c + 4 <= count; c += 4) lane_sums<I, true, 4>(a, b + c * stride, stride, n, out + c);
  for (; c < count; ++c) lane_sums<I, true, 1>(a, b + c * stride, stride, n, out + c);
}

// kVectors vectors of positions at a time, each a chain over the head's channels.
template <class I, int kVectors>
int scores_tiles(const float* q, const float* keys, std::size_t stride, int head_dim, int n,
                 float scale, float* scores, int j) {
  using V = typename I::V;
  constexpr int W = I::kWidth, kTile = kVectors * W;
  for (; j + kTile <= n; j += kTile) {
    V acc[kVectors];
    for (auto& v : acc) v = I::zero();
    for (int c = 0; c < head_dim; ++c) {
      const V qc = I::set1(q[c]);
      const float* k = keys + c * stride + j;
      for (int v = 0; v < kVectors; ++v) acc[v] = I::fma(qc, I::load(k + v * W), acc[v]);
    }
    for (int v = 0; v < kVectors; ++v) I::store(scores + j + v * W, I::mul(acc[v], I::set1(scale)));
  }
  return j;
}

template <class I>
void attention_scores(const float* q, const float* keys, std::size_t stride, int head_dim, int n,
                      float scale, float* scores) {
  int j = scores_tiles<I, 4>(q, keys, stride, head_dim, n, scale, scores, 0);
  j = scores_tiles<I, 1>(q, keys, stride, head_dim, n, scale, scores, j);
  scores_tiles<ScalarIsa, 1>(q, keys, stride, head_dim, n, scale, scores, j);
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

template <class I>
void matmul(const float* x, std::size_t x_stride, int rows, const float* w, const float* bias,
            int in, int out, float* y, std::size_t y_stride) {
  constexpr int W = I::kWidth, kWide = 4 * W;
  int o = 0;
  for (; o + kWide <= out; o += kWide) {
    matmul_rows<I, I::kMatmulRows, 4>(x, x_stride, rows, w + o, bias ? bias + o : nullptr, in, out,
                                      y + o, y_stride);
  }
  for (; o + W <= out; o += W) {
    matmul_rows<I, I::kMatmulRows, 1>(x, x_stride, rows, w + o, bias ? bias + o : nullptr, in, out,
                                      y + o, y_stride);
  }
  for (; o < out; ++o) {
    matmul_rows<ScalarIsa, 1, 1>(x, x_stride, rows, w + o, bias ? bias + o : nullptr, in, out,
                                 y + o, y_stride);
  }
}

template <class I>
Kernels make_kernels(KernelPath path, const char* name) {
  return {path,   name,   matmul<I>, attention_scores<I>, exp_shifted<I>, gelu<I>, max_of<I>,
          dot<I>, sum<I>, dots<I>};
}

}  // namespace
}  // namespace lmc::step_kernels
