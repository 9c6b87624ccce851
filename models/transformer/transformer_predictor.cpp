// The byte Transformer's forward pass over a set of rows, each one position of one sequence with
// its own KV cache: one row (a session's step), consecutive positions of one sequence (the
// blocked encoder) or one position of several sequences (the lockstep decoder). The numeric
// kernels (step_kernels.h) compute each row's outputs with the same operations in the same order
// whatever the other rows are, so the three give bit-identical probabilities; the glue here
// (embedding, rotary, LayerNorm, residuals) is plain per-element code compiled once, without
// contraction into fused operations (CMakeLists.txt: -ffp-contract=off).
//
// Speed: rows share one pass over the weights (matrix-matrix products), and a block's attention
// runs head by head, so each head's keys and values stay in L2 while every row of the block
// reads them. The KV cache stores each channel's history contiguously in time, so scores and the
// weighted sums of values are long contiguous loops even though a head has only 16 or 32
// channels.
#include "models/transformer/transformer_predictor.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>
#include <vector>

#include "common/error.h"
#include "models/batch_predictor.h"
#include "models/kernels/cache_aligned.h"
#include "models/kernels/half.h"
#include "models/kernels/step_kernels.h"
#include "models/transformer/checkpoint.h"
#include "models/transformer/transformer_shape.h"

namespace lmc {

namespace {

// ---- Weights --------------------------------------------------------------------------------

std::vector<float> transposed(const NamedTensor& t) {
  const auto rows = t.shape[0], cols = t.shape[1];
  std::vector<float> out(t.values.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) out[c * rows + r] = t.values[r * cols + c];
  }
  return out;
}

// Matrices are (in, out), packed in panels for Kernels::matmul (step_kernels::pack_panels).
struct LayerWeights {
  CacheAlignedVector<float> qkv;     // (d, 3d): query, key and value projections side by side
  CacheAlignedVector<float> output;  // (d, d)
  CacheAlignedVector<float> attention_norm_scale, attention_norm_bias;
  CacheAlignedVector<float> hidden, hidden_bias;          // (d, 4d), 4d
  CacheAlignedVector<float> ffn_output, ffn_output_bias;  // (4d, d), d
  CacheAlignedVector<float> ffn_norm_scale, ffn_norm_bias;
};

// Positions below this use precomputed encodings; later ones are computed on the fly.
constexpr int kTabledPositions = 2048;

struct Weights {
  TransformerShape shape;
  CacheAlignedVector<float> embedding;  // (vocab, d), rows are tokens
  std::vector<LayerWeights> layers;
  CacheAlignedVector<float> logits, logits_bias;     // (d, vocab), vocab
  CacheAlignedVector<float> sinusoids;               // (kTabledPositions, d)
  CacheAlignedVector<float> rotary_cos, rotary_sin;  // (kTabledPositions, head_dim / 2)
};

Weights load_weights(const Checkpoint& checkpoint, const std::filesystem::path& source) {
  Weights w;
  w.shape = checkpoint_architecture(checkpoint, source);
  const auto& s = w.shape;
  if (s.embedding_dim > 4096) throw InputError(source.string() + ": embedding_dim above 4096");
  const std::int64_t d = s.embedding_dim, f = s.ffn_dim(), v = s.vocab_size;
  auto get = [&](const std::string& name, std::vector<std::int64_t> shape) -> const NamedTensor& {
    return checkpoint.tensor(name, shape, source);
  };
  w.embedding = cache_aligned(get("token_embedding", {v, d}).values);
  for (int layer = 0; layer < s.layers; ++layer) {
    const std::string p = "layers." + std::to_string(layer) + ".";
    LayerWeights l;
    const auto q = transposed(get(p + "attention.query", {d, d}));
    const auto k = transposed(get(p + "attention.key", {d, d}));
    const auto val = transposed(get(p + "attention.value", {d, d}));
    std::vector<float> qkv(static_cast<std::size_t>(d * 3 * d));
    for (std::int64_t i = 0; i < d; ++i) {
      std::copy_n(&q[i * d], d, &qkv[i * 3 * d]);
      std::copy_n(&k[i * d], d, &qkv[i * 3 * d + d]);
      std::copy_n(&val[i * d], d, &qkv[i * 3 * d + 2 * d]);
    }
    l.qkv = step_kernels::pack_panels(qkv, d, 3 * d);
    l.output = step_kernels::pack_panels(transposed(get(p + "attention.output", {d, d})), d, d);
    l.attention_norm_scale = cache_aligned(get(p + "attention_norm.scale", {d}).values);
    l.attention_norm_bias = cache_aligned(get(p + "attention_norm.bias", {d}).values);
    l.hidden = step_kernels::pack_panels(transposed(get(p + "ffn.hidden.weight", {f, d})), d, f);
    l.hidden_bias = cache_aligned(get(p + "ffn.hidden.bias", {f}).values);
    l.ffn_output =
        step_kernels::pack_panels(transposed(get(p + "ffn.output.weight", {d, f})), f, d);
    l.ffn_output_bias = cache_aligned(get(p + "ffn.output.bias", {d}).values);
    l.ffn_norm_scale = cache_aligned(get(p + "ffn_norm.scale", {d}).values);
    l.ffn_norm_bias = cache_aligned(get(p + "ffn_norm.bias", {d}).values);
    w.layers.push_back(std::move(l));
  }
  w.logits = step_kernels::pack_panels(transposed(get("logits.weight", {v, d})), d, v);
  w.logits_bias = cache_aligned(get("logits.bias", {v}).values);

  const int half = s.head_dim() / 2;
  w.sinusoids.resize(static_cast<std::size_t>(kTabledPositions) * d);
  w.rotary_cos.resize(static_cast<std::size_t>(kTabledPositions) * half);
  w.rotary_sin.resize(w.rotary_cos.size());
  for (int t = 0; t < kTabledPositions; ++t) {
    sinusoidal_position(t, s.embedding_dim, &w.sinusoids[static_cast<std::size_t>(t) * d]);
    rotary_angles(t, s.head_dim(), &w.rotary_cos[static_cast<std::size_t>(t) * half],
                  &w.rotary_sin[static_cast<std::size_t>(t) * half]);
  }
  return w;
}

// ---- Forward pass over rows -----------------------------------------------------------------

// Keys and values are cached as IEEE binary16 (or 8-bit codes): the attention over the cache is
// memory-bound, and halves halve its traffic. They are rounded when written, by the kernels'
// store_halves and quantize_codes (step_kernels.h): one function compiled for each path, so every
// path reads the same halves, at the speed of its instruction set (F16C's conversion, SSE4.1's
// rounding) where the x86-64 baseline would call libgcc and libm for each element.

// Copies the first `length` elements of each of `rows` rows from a (rows, stride) matrix to a
// (rows, new_stride) one.
template <class Vector>
Vector restrided(const Vector& old, std::size_t rows, std::size_t stride, std::size_t new_stride,
                 int length) {
  Vector grown(rows * new_stride);
  for (std::size_t r = 0; r < rows && length > 0; ++r) {
    std::copy_n(&old[r * stride], length, &grown[r * new_stride]);
  }
  return grown;
}

// One sequence's keys and values: per layer (d, stride), each channel contiguous in time and
// `stride` elements after the previous one; the 8-bit cache adds per layer (heads, stride) scales
// of keys and of values. The stride is the capacity padded by one cache line: a power-of-two
// stride (4 KB at 2048 positions) would put every channel of a head in the same L1 set, so the
// kernels' streams (16 or 32 per head) would evict each other's prefetched lines.
struct KvCache {
  KvCachePrecision precision = KvCachePrecision::Half;
  int capacity = 0;
  std::size_t stride = 0;
  int length = 0;                                                       // positions written
  std::vector<CacheAlignedVector<std::uint16_t>> keys, values;          // binary16 bits (Half)
  std::vector<CacheAlignedVector<std::int8_t>> key_codes, value_codes;  // (Int8)
  std::vector<CacheAlignedVector<float>> key_scales, value_scales;      // (Int8)

  explicit KvCache(KvCachePrecision p) : precision(p) {}

  std::size_t padded(int wanted) const {
    // Elements per 64-byte line.
    const std::size_t line = precision == KvCachePrecision::Half ? 32 : 64;
    return (static_cast<std::size_t>(wanted) + line - 1) / line * line + line;
  }

  void reserve(const TransformerShape& s, int wanted) {
    if (wanted <= capacity) return;
    const std::size_t d = s.embedding_dim, heads = s.heads, new_stride = padded(wanted);
    keys.resize(s.layers);
    values.resize(s.layers);
    key_codes.resize(s.layers);
    value_codes.resize(s.layers);
    key_scales.resize(s.layers);
    value_scales.resize(s.layers);
    for (int layer = 0; layer < s.layers; ++layer) {
      if (precision == KvCachePrecision::Half) {
        keys[layer] = restrided(keys[layer], d, stride, new_stride, length);
        values[layer] = restrided(values[layer], d, stride, new_stride, length);
      } else {
        key_codes[layer] = restrided(key_codes[layer], d, stride, new_stride, length);
        value_codes[layer] = restrided(value_codes[layer], d, stride, new_stride, length);
        key_scales[layer] = restrided(key_scales[layer], heads, stride, new_stride, length);
        value_scales[layer] = restrided(value_scales[layer], heads, stride, new_stride, length);
      }
    }
    capacity = wanted;
    stride = new_stride;
  }

  // Keys and values (each an (heads, head_dim) vector) of `position`.
  void write(int layer, int position, const float* key, const float* value, int heads, int head_dim,
             const step_kernels::Kernels& k) {
    const std::size_t t = position;
    if (precision == KvCachePrecision::Half) {
      const int channels = heads * head_dim;
      k.store_halves(key, channels, &keys[layer][t], stride);
      k.store_halves(value, channels, &values[layer][t], stride);
      return;
    }
    for (int h = 0; h < heads; ++h) {
      const std::size_t first = static_cast<std::size_t>(h) * head_dim;
      key_scales[layer][h * stride + t] =
          k.quantize_codes(key + first, head_dim, &key_codes[layer][first * stride + t], stride);
      value_scales[layer][h * stride + t] = k.quantize_codes(
          value + first, head_dim, &value_codes[layer][first * stride + t], stride);
    }
  }
};

// One position of one sequence: its input token goes in at `position` of `cache` (which must
// hold position + 1 entries) and attends over the cache's positions 0..position.
struct Row {
  KvCache* cache;
  int position;
  int token;
};

// Rows of one sequence that attend together: their scores (up to 8 x 2048 floats) stay in L2.
constexpr int kAttentionRows = 8;

// The forward pass and its scratch buffers (grown, never shrunk, so steps do not allocate).
class Forward {
 public:
  Forward(const Weights& weights, const step_kernels::Kernels& kernels)
      : w_(weights), s_(weights.shape), k_(kernels) {}

  // Runs `rows` through the model, writing each row's keys and values into its cache; when
  // `probabilities` is not null, row r's next-symbol distribution goes to
  // probabilities[r * vocab ...]. Rows of one cache must be consecutive positions in order.
  void run(std::span<const Row> rows, float* probabilities) {
    const int count = static_cast<int>(rows.size());
    if (count == 0) return;
    const step_kernels::FlushSubnormals flush;  // part of the determinism contract
    const int d = s_.embedding_dim, f = s_.ffn_dim();
    reserve(rows);
    for (int r = 0; r < count; ++r) embed(rows[r], &x_[r * d], r);

    for (int layer = 0; layer < s_.layers; ++layer) {
      const LayerWeights& l = w_.layers[layer];
      k_.matmul(x_.data(), d, count, l.qkv.data(), nullptr, d, 3 * d, qkv_.data(), 3 * d);
      for (int r = 0; r < count; ++r) store_key_value(layer, rows[r], &qkv_[r * 3 * d], r);
      // Head by head, so a block's rows reuse the head's keys and values while they are in L2;
      // rows of one sequence (the blocked encoder's) attend together, a few at a time.
      for (int h = 0; h < s_.heads; ++h) {
        for (int r = 0; r < count;) {
          int end = r + 1;
          while (end < count && end - r < kAttentionRows && rows[end].cache == rows[r].cache) ++end;
          attend(layer, h, rows.subspan(r, end - r), r);
          r = end;
        }
      }
      k_.matmul(mixed_.data(), d, count, l.output.data(), nullptr, d, d, projected_.data(), d);
      for (int r = 0; r < count; ++r) {
        add_and_normalise(&x_[r * d], &projected_[r * d], l.attention_norm_scale.data(),
                          l.attention_norm_bias.data());
      }
      k_.matmul(x_.data(), d, count, l.hidden.data(), l.hidden_bias.data(), d, f, hidden_.data(),
                f);
      k_.gelu(hidden_.data(), count * f);
      k_.matmul(hidden_.data(), f, count, l.ffn_output.data(), l.ffn_output_bias.data(), f, d,
                projected_.data(), d);
      for (int r = 0; r < count; ++r) {
        add_and_normalise(&x_[r * d], &projected_[r * d], l.ffn_norm_scale.data(),
                          l.ffn_norm_bias.data());
      }
    }
    if (probabilities == nullptr) return;
    const int vocab = s_.vocab_size;
    k_.matmul(x_.data(), d, count, w_.logits.data(), w_.logits_bias.data(), d, vocab, probabilities,
              vocab);
    for (int r = 0; r < count; ++r) {
      float* row = &probabilities[static_cast<std::size_t>(r) * vocab];
      softmax(row, vocab, k_.max_of(row, vocab));
    }
  }

 private:
  void reserve(std::span<const Row> rows) {
    const std::size_t count = rows.size(), d = s_.embedding_dim;
    int longest = 0;
    for (const Row& row : rows) longest = std::max(longest, row.position + 1);
    if (x_.size() < count * d) {
      x_.resize(count * d);
      qkv_.resize(count * 3 * d);
      mixed_.resize(count * d);
      projected_.resize(count * d);
      hidden_.resize(count * s_.ffn_dim());
      const std::size_t half = s_.head_dim() / 2;
      rotary_cos_.resize(count * half);
      rotary_sin_.resize(count * half);
    }
    const std::size_t scores = static_cast<std::size_t>(kAttentionRows) * (longest + 32);
    if (scores_.size() < scores) scores_.resize(scores);
  }

  // x = embedding(token) sqrt(d) (+ the sinusoidal encoding); loads the row's rotary angles.
  void embed(const Row& row, float* x, int r) {
    const int d = s_.embedding_dim, half = s_.head_dim() / 2;
    const float embedding_scale = std::sqrt(static_cast<float>(d));
    const float* embedding = &w_.embedding[static_cast<std::size_t>(row.token) * d];
    for (int i = 0; i < d; ++i) x[i] = embedding[i] * embedding_scale;
    float* cosines = &rotary_cos_[static_cast<std::size_t>(r) * half];
    float* sines = &rotary_sin_[static_cast<std::size_t>(r) * half];
    const bool rotary = s_.positional == PositionalEncoding::Rotary;
    if (row.position < kTabledPositions) {
      const std::size_t t = row.position;
      if (!rotary) {
        for (int i = 0; i < d; ++i) x[i] += w_.sinusoids[t * d + i];
      }
      std::copy_n(&w_.rotary_cos[t * half], half, cosines);
      std::copy_n(&w_.rotary_sin[t * half], half, sines);
      return;
    }
    if (!rotary) {
      float encoding[4096];
      sinusoidal_position(row.position, d, encoding);
      for (int i = 0; i < d; ++i) x[i] += encoding[i];
    }
    rotary_angles(row.position, s_.head_dim(), cosines, sines);
  }

  void rotate(float* head, int r) const {
    const int half = s_.head_dim() / 2;
    const float* cosines = &rotary_cos_[static_cast<std::size_t>(r) * half];
    const float* sines = &rotary_sin_[static_cast<std::size_t>(r) * half];
    for (int i = 0; i < half; ++i) {
      const float a = head[i], b = head[i + half];
      head[i] = a * cosines[i] - b * sines[i];
      head[i + half] = b * cosines[i] + a * sines[i];
    }
  }

  // Rotates the row's query and key (rotary models) and caches its key and value.
  void store_key_value(int layer, const Row& row, float* qkv, int r) {
    const int d = s_.embedding_dim, head_dim = s_.head_dim();
    if (s_.positional == PositionalEncoding::Rotary) {
      for (int h = 0; h < s_.heads; ++h) {
        rotate(&qkv[h * head_dim], r);
        rotate(&qkv[d + h * head_dim], r);
      }
    }
    row.cache->write(layer, row.position, &qkv[d], &qkv[2 * d], s_.heads, head_dim, k_);
  }

  // One head of `group` (rows first.. of this pass, all of one cache) over each row's positions
  // 0..position; writes the head's slice of the rows' mixed_.
  void attend(int layer, int head, std::span<const Row> group, int first) {
    const int d = s_.embedding_dim, head_dim = s_.head_dim(),
              count = static_cast<int>(group.size());
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    const KvCache& cache = *group[0].cache;
    const std::size_t offset = static_cast<std::size_t>(head) * head_dim * cache.stride;
    int n[kAttentionRows];
    for (int i = 0; i < count; ++i) n[i] = group[i].position + 1;
    // Padded like the cache's stride, so that the rows' scores do not share L1 sets.
    const std::size_t stride = (*std::max_element(n, n + count) + 15) / 16 * 16 + 16;
    float* scores = scores_.data();
    float largest[kAttentionRows];
    const float* queries = &qkv_[static_cast<std::size_t>(first) * 3 * d + head * head_dim];
    float* mixed = &mixed_[static_cast<std::size_t>(first) * d + head * head_dim];
    if (cache.precision == KvCachePrecision::Half) {
      k_.attention_scores_rows(queries, 3 * d, count, &cache.keys[layer][offset], cache.stride,
                               head_dim, n, scale, scores, stride, largest);
      for (int i = 0; i < count; ++i) softmax(scores + i * stride, n[i], largest[i]);
      k_.dots_rows(scores, stride, count, &cache.values[layer][offset], cache.stride, head_dim, n,
                   mixed, d);
      return;
    }
    const std::size_t scales = static_cast<std::size_t>(head) * cache.stride;
    k_.attention_scores_rows_int8(queries, 3 * d, count, &cache.key_codes[layer][offset],
                                  &cache.key_scales[layer][scales], cache.stride, head_dim, n,
                                  scale, scores, stride, largest);
    // The softmax's weights times the values' scales, so that the value sums run over the codes.
    const float* value_scales = &cache.value_scales[layer][scales];
    for (int i = 0; i < count; ++i) {
      float* weights = scores + i * stride;
      k_.scale_each(weights, n[i], 1.0f / k_.exp_sum(weights, n[i], largest[i]), value_scales);
    }
    k_.dots_rows_int8(scores, stride, count, &cache.value_codes[layer][offset], cache.stride,
                      head_dim, n, mixed, d);
  }

  // a = softmax(a), `largest` its largest element: two passes over a (exponentials and their
  // sum, then the scaling), the maximum having come with the scores.
  void softmax(float* a, int n, float largest) const {
    k_.scale(a, n, 1.0f / k_.exp_sum(a, n, largest));
  }

  // x = LayerNorm(x + residual).
  void add_and_normalise(float* x, const float* residual, const float* scale, const float* bias) {
    const int d = s_.embedding_dim;
    for (int i = 0; i < d; ++i) x[i] += residual[i];
    const float mean = k_.sum(x, d) / static_cast<float>(d);
    float squares[4096];
    for (int i = 0; i < d; ++i) squares[i] = (x[i] - mean) * (x[i] - mean);
    const float variance = k_.sum(squares, d) / static_cast<float>(d);
    const float inverse_std = 1.0f / std::sqrt(variance + kLayerNormEpsilon);
    for (int i = 0; i < d; ++i) x[i] = (x[i] - mean) * inverse_std * scale[i] + bias[i];
  }

  const Weights& w_;
  const TransformerShape& s_;
  const step_kernels::Kernels& k_;
  CacheAlignedVector<float> x_, qkv_, mixed_, projected_, hidden_, scores_, rotary_cos_,
      rotary_sin_;
};

// ---- Sessions -------------------------------------------------------------------------------

// The first cache capacity of a session; it doubles when full.
constexpr int kFirstCapacity = 256;

class TransformerSession final : public PredictorSession {
 public:
  TransformerSession(const Weights& weights, const step_kernels::Kernels& kernels,
                     KvCachePrecision precision)
      : s_(weights.shape),
        forward_(weights, kernels),
        cache_(precision),
        probabilities_(s_.vocab_size) {
    cache_.reserve(s_, kFirstCapacity);
  }

  void next_probabilities(std::span<float> probs) override {
    if (probs.size() != probabilities_.size()) {
      throw std::invalid_argument("next_probabilities: expected a span of vocab_size floats");
    }
    if (!pending_done_) {
      step(/*with_probabilities=*/true);
      pending_done_ = true;
      have_probabilities_ = true;
    } else if (!have_probabilities_) {
      throw std::logic_error("next_probabilities: state advanced without probabilities");
    }
    std::copy(probabilities_.begin(), probabilities_.end(), probs.begin());
  }

  void append(int symbol) override {
    if (symbol < 0 || symbol >= s_.vocab_size) {
      throw std::out_of_range("append: symbol " + std::to_string(symbol) +
                              " outside the vocabulary");
    }
    // The model's input at the next position is this symbol; the input at the current position
    // still has to enter the KV cache if nobody asked for its prediction.
    if (!pending_done_) step(/*with_probabilities=*/false);
    pending_token_ = symbol;
    pending_done_ = false;
    have_probabilities_ = false;
  }

 private:
  void step(bool with_probabilities) {
    if (cache_.length == cache_.capacity) cache_.reserve(s_, 2 * cache_.capacity);
    const Row row{&cache_, cache_.length, pending_token_};
    forward_.run({&row, 1}, with_probabilities ? probabilities_.data() : nullptr);
    ++cache_.length;
  }

  const TransformerShape& s_;
  Forward forward_;
  KvCache cache_;
  int pending_token_ = 0;  // the next input: a 0 token first, then the appended symbols
  bool pending_done_ = false;
  bool have_probabilities_ = false;
  std::vector<float> probabilities_;
};

// Sequences decoded side by side: each next_probabilities call is one forward pass whose rows
// are one position of each sequence asked for.
class TransformerLockstep final : public LockstepSessions {
 public:
  TransformerLockstep(const Weights& weights, const step_kernels::Kernels& kernels,
                      KvCachePrecision precision, int count)
      : s_(weights.shape), forward_(weights, kernels) {
    for (int k = 0; k < count; ++k) {
      sequences_.push_back(Sequence{KvCache(precision)});
      sequences_.back().cache.reserve(s_, kFirstCapacity);
    }
  }

  int count() const override { return static_cast<int>(sequences_.size()); }

  void next_probabilities(std::span<const int> which, std::span<float> out) override {
    if (out.size() != which.size() * static_cast<std::size_t>(s_.vocab_size)) {
      throw std::invalid_argument("next_probabilities: expected vocab_size floats per sequence");
    }
    rows_.clear();
    for (int k : which) {
      Sequence& sequence = sequences_.at(k);
      if (sequence.done) throw std::logic_error("next_probabilities: sequence not appended to");
      KvCache& cache = sequence.cache;
      if (cache.length == cache.capacity) cache.reserve(s_, 2 * cache.capacity);
      rows_.push_back({&cache, cache.length, sequence.pending_token});
    }
    forward_.run(rows_, out.data());
    for (int k : which) {
      ++sequences_[k].cache.length;
      sequences_[k].done = true;
    }
  }

  void append(int k, int symbol) override {
    if (symbol < 0 || symbol >= s_.vocab_size) {
      throw std::out_of_range("append: symbol " + std::to_string(symbol) +
                              " outside the vocabulary");
    }
    Sequence& sequence = sequences_.at(k);
    if (!sequence.done) throw std::logic_error("append: lockstep sequences are asked first");
    sequence.pending_token = symbol;
    sequence.done = false;
  }

 private:
  struct Sequence {
    KvCache cache;
    int pending_token = 0;
    bool done = false;  // the pending token is in the cache
  };

  const TransformerShape& s_;
  Forward forward_;
  std::vector<Sequence> sequences_;
  std::vector<Row> rows_;
};

// Chunks per lockstep decoder (docs/LM_SPEED.md), measured where the coder runs. Sharing one pass
// over the weights between chunks pays while the chunks' KV caches stay in the caches a core
// gets, and that cannot be read off the machine: a virtual machine reports its share of a large
// socket's L3 (480 MB on one Intel Xeon), and the old rule built on that figure chose widths the
// machine could not sustain. So the first decoder of each model shape, cache precision and kernel
// path in a process times a few lockstep steps at widths 1, 2, 4 and 8 halfway into a chunk (1024
// cached positions; what the caches hold does not change the time) and keeps the width with the
// most tokens per second, a wider one having to win by 5 %. LMC_LOCKSTEP_WIDTH=N sets the width
// instead (speed experiments). Only the speed depends on it: the lockstep decoder's probabilities
// are those of any other width.
int measure_lockstep_width(const Weights& weights, const step_kernels::Kernels& kernels,
                           KvCachePrecision precision) {
  constexpr int kContext = 1024, kSteps = 8, kTrials = 3;
  const TransformerShape& s = weights.shape;
  double best_rate = 0;
  int best = 1;
  for (const int width : {1, 2, 4, 8}) {
    std::vector<KvCache> caches(width, KvCache(precision));
    for (auto& cache : caches) cache.reserve(s, kContext + kSteps);
    Forward forward(weights, kernels);
    std::vector<Row> rows(width);
    std::vector<float> probabilities(static_cast<std::size_t>(width) * s.vocab_size);
    double fastest = std::numeric_limits<double>::infinity();
    for (int trial = 0; trial < kTrials; ++trial) {
      for (auto& cache : caches) cache.length = kContext;
      const auto started = std::chrono::steady_clock::now();
      for (int step = 0; step < kSteps; ++step) {
        for (int k = 0; k < width; ++k) rows[k] = {&caches[k], caches[k].length, 'e'};
        forward.run(rows, probabilities.data());
        for (auto& cache : caches) ++cache.length;
      }
      fastest = std::min(
          fastest,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    const double rate = width * kSteps / std::max(fastest, 1e-9);
    if (rate > 1.05 * best_rate) {
      best_rate = rate;
      best = width;
    }
  }
  return best;
}

int lockstep_width_for(const Weights& weights, const step_kernels::Kernels& kernels,
                       KvCachePrecision precision) {
  if (const char* forced = std::getenv("LMC_LOCKSTEP_WIDTH"); forced != nullptr && *forced != 0) {
    const int width = std::atoi(forced);
    if (width < 1 || width > 64) {
      throw std::invalid_argument(std::string("LMC_LOCKSTEP_WIDTH=") + forced +
                                  ": expected a width from 1 to 64");
    }
    return width;
  }
  static std::mutex mutex;
  static std::map<std::string, int> measured;
  const std::string key = weights.shape.to_json().dump() + to_string(precision) + kernels.name;
  std::lock_guard lock(mutex);
  const auto found = measured.find(key);
  if (found != measured.end()) return found->second;
  return measured[key] = measure_lockstep_width(weights, kernels, precision);
}

// Positions per forward pass of the blocked encoder: enough rows to reuse each weight and each
// head's cache many times, few enough that a block's activations stay in L1/L2.
constexpr int kEncoderBlock = 64;

class TransformerPredictor final : public Predictor, public BatchPredictor {
 public:
  TransformerPredictor(const std::filesystem::path& path, const Checkpoint& checkpoint,
                       step_kernels::KernelPath kernels, KvCachePrecision precision)
      : path_(path),
        weights_(load_weights(checkpoint, path)),
        kernels_(step_kernels::kernels(kernels)),
        precision_(precision),
        hash_(fnv1a64_file_hash(path)),
        training_(training_summary(checkpoint.header)),
        tokenizer_(checkpoint.header.value("tokenizer", nlohmann::json())) {}

  int vocab_size() const override { return weights_.shape.vocab_size; }
  std::uint64_t parameter_count() const override { return weights_.shape.parameter_count(); }
  std::unique_ptr<PredictorSession> new_session() const override {
    return std::make_unique<TransformerSession>(weights_, kernels_, precision_);
  }
  std::unique_ptr<LockstepSessions> new_lockstep(int count) const override {
    return std::make_unique<TransformerLockstep>(weights_, kernels_, precision_, count);
  }

  int lockstep_width() const override { return lockstep_width_for(weights_, kernels_, precision_); }

  void sequence_probabilities(ByteView symbols, std::span<float> out) const override {
    const int n = static_cast<int>(symbols.size()), vocab = vocab_size();
    if (out.size() != symbols.size() * static_cast<std::size_t>(vocab)) {
      throw std::invalid_argument("sequence_probabilities: expected vocab_size floats per symbol");
    }
    for (auto symbol : symbols) {
      if (symbol >= vocab) throw std::out_of_range("sequence_probabilities: symbol too large");
    }
    KvCache cache(precision_);
    cache.reserve(weights_.shape, std::max(n, 1));
    Forward forward(weights_, kernels_);
    std::vector<Row> rows;
    for (int first = 0; first < n; first += kEncoderBlock) {
      const int count = std::min(kEncoderBlock, n - first);
      rows.clear();
      // The input at position t is the previous symbol (a 0 token at t = 0).
      for (int t = first; t < first + count; ++t)
        rows.push_back({&cache, t, t ? symbols[t - 1] : 0});
      forward.run(rows, &out[static_cast<std::size_t>(first) * vocab]);
      cache.length = first + count;
    }
  }

  nlohmann::json describe() const override {
    nlohmann::json d = {{"model", tokenizer_.is_null() ? "byte_transformer" : "token_transformer"},
                        {"architecture", weights_.shape.to_json()},
                        {"parameters", parameter_count()},
                        {"checkpoint", path_.string()},
                        {"checkpoint_fnv1a64", hash_},
                        {"inference",
                         "hand-written forward pass with KV cache: blocked encoder, lockstep "
                         "decoder, fixed-order float32 reductions, single-threaded"},
                        {"kernels", kernels_.name},
                        {"kv_cache", to_string(precision_)}};
    if (!training_.is_null()) d["training"] = training_;
    if (!tokenizer_.is_null()) d["tokenizer"] = tokenizer_;
    return d;
  }

 private:
  // How far the weights were trained, when the checkpoint says so.
  static nlohmann::json training_summary(const nlohmann::json& header) {
    if (!header.contains("training")) return nullptr;
    nlohmann::json summary;
    for (const char* key : {"step", "tokens_seen", "heldout_bits_per_byte"}) {
      if (header["training"].contains(key)) summary[key] = header["training"][key];
    }
    return summary;
  }

  std::filesystem::path path_;
  Weights weights_;
  const step_kernels::Kernels& kernels_;
  KvCachePrecision precision_;
  std::string hash_;
  nlohmann::json training_;
  nlohmann::json tokenizer_;  // null for a byte model
};

}  // namespace

std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint,
                                                      step_kernels::KernelPath kernels) {
  return load_transformer_predictor(checkpoint, kernels, KvCachePrecision::Half);
}

std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint,
                                                      step_kernels::KernelPath kernels,
                                                      KvCachePrecision precision) {
  return std::make_unique<TransformerPredictor>(checkpoint, read_checkpoint(checkpoint), kernels,
                                                precision);
}

std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint,
                                                      KvCachePrecision precision) {
  return load_transformer_predictor(checkpoint, step_kernels::default_kernel_path(), precision);
}

std::unique_ptr<Predictor> make_transformer_predictor(const std::filesystem::path& path,
                                                      const Checkpoint& checkpoint) {
  return std::make_unique<TransformerPredictor>(
      path, checkpoint, step_kernels::default_kernel_path(), KvCachePrecision::Half);
}

const char* to_string(KvCachePrecision precision) {
  return precision == KvCachePrecision::Half ? "binary16" : "int8";
}

std::optional<KvCachePrecision> parse_kv_cache_precision(std::string_view name) {
  if (name == "binary16") return KvCachePrecision::Half;
  if (name == "int8") return KvCachePrecision::Int8;
  return std::nullopt;
}

std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint) {
  return load_transformer_predictor(checkpoint, KvCachePrecision::Half);
}

}  // namespace lmc
