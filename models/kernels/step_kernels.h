// Numeric kernels of the byte Transformer's forward pass (transformer_predictor.cpp), in three
// instruction-set paths chosen at run time: portable scalar, AVX2 + FMA, AVX-512.
//
// Determinism contract: every path computes every output element with the same sequence of
// IEEE float operations, so all paths give bit-identical results on any x86-64 machine:
//  - products are always fused (std::fma in the scalar path, vfmadd in the vector paths);
//  - a matrix product sums each output over the input index in order, one fused chain per output
//    element, whatever the number of rows computed together or the vector width;
//  - a reduction over time (softmax sums, the weighted sum of values, LayerNorm statistics) uses
//    exactly 32 lanes (element j goes to lane j mod 32; the last group is padded with zeros to
//    32 elements, whose fused multiply-adds or additions every path performs too), combined by
//    one fixed tree;
//  - exp is one branch-free polynomial written with the same operations in every path;
//  - every forward pass runs with subnormal floats flushed to zero, as inputs and as results
//    (FlushSubnormals below): a trained model's softmax weights and value products underflow,
//    and Intel cores take a microcode assist for every subnormal operand (several times slower);
//  - the KV cache holds IEEE binary16 (half) values or 8-bit codes with a float scale per
//    position and head, rounded once when written (by the caller, in one place); widening a half
//    or a code to float is exact in every path.
// A vector path only decides how many of these independent chains run side by side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/kernels/cache_aligned.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace lmc::step_kernels {

// The determinism contract's version (docs/LM_SPEED.md, "Determinism contract"): the sequence of
// float operations every kernel path performs. Saved streams record it (docs/PROTOCOL.md section
// 8); change it whenever a change to the kernels, the coder's quantisation or a predictor's
// arithmetic can change a probability's bits, since streams coded before no longer decode.
inline constexpr int kContractVersion = 1;

// Flush-to-zero and denormals-are-zero (MXCSR bits 15 and 6) for this thread while it lives: a
// subnormal operand reads as zero and a subnormal result becomes zero, in the scalar and in every
// vector path alike (both are SSE/AVX instructions under the same MXCSR). On exit only these two
// control bits go back to what they were; the exception flags raised inside stay set, so a test
// can check that a forward pass saw no subnormal operand (the denormal flag, bit 1).
class FlushSubnormals {
 public:
#if defined(__x86_64__) || defined(__i386__)
  static constexpr unsigned kControlBits = 0x8040;
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kControlBits); }
  ~FlushSubnormals() { _mm_setcsr((_mm_getcsr() & ~kControlBits) | (saved_ & kControlBits)); }

 private:
  unsigned saved_;
#else
  FlushSubnormals() = default;
#endif
 public:
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;
};

enum class KernelPath { Scalar, Avx2, Avx512 };

// Matrices are stored in panels of this many columns (the last one narrower): panel p holds
// columns [64p, 64p + width) as an (in, width) row-major block, so a kernel walks its weights
// front to back (a plain (in, out) matrix would be read with a stride of 4 * out bytes, which
// hardware prefetchers do not follow across pages). See pack_panels().
inline constexpr int kMatmulPanel = 64;

// `w` (in, out) row-major, packed into panels for Kernels::matmul, starting on a cache line.
CacheAlignedVector<float> pack_panels(const std::vector<float>& w, int in, int out);

// The kernels of one path. All pointers may alias nothing; n, rows, in, out >= 0. A row of
// halves (keys or values) must hold at least n + 1 of them: the AVX2 path loads a group's last
// halves in pairs and may read the one after the last (without using it); rows of 8-bit codes
// are read only up to n.
struct Kernels {
  KernelPath path;
  const char* name;
  // y[r][o] = bias[o] + sum over i (in order) of x[r][i] w[i][o]; w packed by pack_panels; bias
  // may be null (then the chain starts at 0). x rows are x_stride floats apart, y rows y_stride.
  void (*matmul)(const float* x, std::size_t x_stride, int rows, const float* w, const float* bias,
                 int in, int out, float* y, std::size_t y_stride);
  // scores[j] = scale * sum over c (in order) of q[c] keys[c * stride + j], for j < n; keys
  // are halves (binary16 bits). Returns the largest score (-infinity when n = 0).
  float (*attention_scores)(const float* q, const std::uint16_t* keys, std::size_t stride,
                            int head_dim, int n, float scale, float* scores);
  // a[i] = exp(a[i] - shift); returns the 32-lane sum of the new a[i] (as sum() would).
  float (*exp_sum)(float* a, int n, float shift);
  // a[i] *= factor.
  void (*scale)(float* a, int n, float factor);
  // a[i] = gelu(a[i]), tanh approximation.
  void (*gelu)(float* a, int n);
  // The largest element (exact in any order).
  float (*max_of)(const float* a, int n);
  // The 32-lane sum of a[j].
  float (*sum)(const float* a, int n);
  // out[c] = the 32-lane sum of a[j] b[c * stride + j] (fused) for c < count: the weighted sums
  // of a head's values, b halves.
  void (*dots)(const float* a, const std::uint16_t* b, std::size_t stride, int count, int n,
               float* out);
  // The same for `rows` rows of one sequence (the blocked encoder): row r's queries or weights at
  // q or a + r * stride, over its own n[r] positions, each result bit-identical to the one-row
  // kernel's; largest[r] = the largest of row r's scores.
  void (*attention_scores_rows)(const float* q, std::size_t q_stride, int rows,
                                const std::uint16_t* keys, std::size_t stride, int head_dim,
                                const int* n, float scale, float* scores, std::size_t scores_stride,
                                float* largest);
  void (*dots_rows)(const float* a, std::size_t a_stride, int rows, const std::uint16_t* b,
                    std::size_t stride, int count, const int* n, float* out,
                    std::size_t out_stride);
  // The two row kernels over an 8-bit cache, whose element j of channel c stands for
  // codes[c * stride + j] times a scale of position j (one per position and head). Scores:
  // (the chain over c of q[c] codes) key_scales[j], then times scale. Value sums: the 32-lane sums
  // of a[j] codes (the caller has multiplied the weights by the values' scales, scale_each).
  void (*attention_scores_rows_int8)(const float* q, std::size_t q_stride, int rows,
                                     const std::int8_t* keys, const float* key_scales,
                                     std::size_t stride, int head_dim, const int* n, float scale,
                                     float* scores, std::size_t scores_stride, float* largest);
  void (*dots_rows_int8)(const float* a, std::size_t a_stride, int rows, const std::int8_t* b,
                         std::size_t stride, int count, const int* n, float* out,
                         std::size_t out_stride);
  // a[i] = (a[i] factor) by[i], two roundings.
  void (*scale_each)(float* a, int n, float factor, const float* by);
  // Writing the KV cache, one scalar function compiled for each path (F16C's conversion and
  // SSE4.1's rounding where the path has them; the same halves and codes everywhere):
  // out[c * stride] = x[c], clamped to the largest half and rounded to binary16, for c < n;
  void (*store_halves)(const float* x, int n, std::uint16_t* out, std::size_t stride);
  // codes[c * stride] = round(x[c] / s) in [-127, 127] with s = max |x| / 127 (0, and zero codes,
  // for all zeros), x clamped like the halves; returns s.
  float (*quantize_codes)(const float* x, int n, std::int8_t* codes, std::size_t stride);
};

const Kernels& scalar_kernels();
const Kernels& avx2_kernels();    // only call when supported(KernelPath::Avx2)
const Kernels& avx512_kernels();  // only call when supported(KernelPath::Avx512)

bool supported(KernelPath path);
std::vector<KernelPath> supported_paths();
const char* to_string(KernelPath path);
std::optional<KernelPath> parse_kernel_path(std::string_view name);

// The fastest path this CPU runs, unless the environment variable LMC_STEP_KERNELS names one
// ("scalar", "avx2", "avx512"); naming an unknown or unsupported path throws
// std::invalid_argument, so a forced run never silently falls back.
KernelPath default_kernel_path();
const Kernels& kernels(KernelPath path);

}  // namespace lmc::step_kernels
