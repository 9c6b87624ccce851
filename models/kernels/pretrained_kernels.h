// Small fixed-order float kernels for the pretrained predictors (llama2.c, rwkv.cpp).
//
// Every sum runs in one fixed order, so the same build gives the same floats for the encoder
// and the decoder whatever the thread count. Dot products keep eight independent partial sums
// (combined in a fixed tree at the end): the compiler can keep them in one vector register
// without -ffast-math, which is several times faster than one serial sum and just as
// reproducible.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>

namespace lmc::kernels {

inline float dot(const float* a, const float* b, std::size_t n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int lane = 0; lane < 8; ++lane) partial[lane] += a[i + lane] * b[i + lane];
  }
  for (; i < n; ++i) partial[i % 8] += a[i] * b[i];
  return ((partial[0] + partial[4]) + (partial[1] + partial[5])) +
         ((partial[2] + partial[6]) + (partial[3] + partial[7]));
}

// out = W x for a row-major (rows x in.size()) matrix W: PyTorch's (out, in) layout.
inline void matvec(std::span<float> out, const float* w, std::span<const float> in) {
  for (std::size_t r = 0; r < out.size(); ++r)
    out[r] = dot(w + r * in.size(), in.data(), in.size());
}

// RMSNorm as llama2.c: x / sqrt(mean(x^2) + 1e-5) * weight.
inline void rms_norm(std::span<float> out, std::span<const float> x, const float* weight) {
  const float mean_square = dot(x.data(), x.data(), x.size()) / static_cast<float>(x.size());
  const float scale = 1.0f / std::sqrt(mean_square + 1e-5f);
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = weight[i] * (scale * x[i]);
}

// LayerNorm (biased variance) with affine weight and bias.
inline void layer_norm(std::span<float> out, std::span<const float> x, const float* weight,
                       const float* bias, float eps) {
  float mean = 0;
  for (float v : x) mean += v;
  mean /= static_cast<float>(x.size());
  float variance = 0;
  for (float v : x) variance += (v - mean) * (v - mean);
  variance /= static_cast<float>(x.size());
  const float scale = 1.0f / std::sqrt(variance + eps);
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = (x[i] - mean) * scale * weight[i] + bias[i];
}

// In-place softmax (max subtracted first).
inline void softmax(std::span<float> x) {
  const float max = *std::max_element(x.begin(), x.end());
  float sum = 0;
  for (float& v : x) {
    v = std::exp(v - max);
    sum += v;
  }
  for (float& v : x) v /= sum;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace lmc::kernels
