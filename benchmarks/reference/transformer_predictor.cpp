// Today's (before issue 10) one-position step, kept verbatim as the speed reference of
// transformer_step_benchmark: the blocked encoder and lockstep decoder are measured against it in
// the same run. Not used for coding.
//
// The incremental step of the byte Transformer: one token at a time, attending over a KV cache.
//
// Determinism: every value is computed by loops whose reduction order is fixed in the source
// (never by memory alignment, thread count or library dispatch), and the step runs on the
// calling thread only. Matrix-vector products are written as sums over the input index of
// scaled rows of the transposed matrix, so each output element is accumulated in input order
// and the compiler can vectorise across outputs without reordering any sum. The few true
// reductions (dot products over time, LayerNorm statistics, softmax sums) use a fixed number of
// lanes combined in a fixed tree.
//
// Speed: the KV cache stores each channel's history contiguously in time, so attention scores
// and the weighted sum of values are long contiguous loops even though a head has only 16 or 32
// channels.
#include "reference/transformer_predictor.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "common/error.h"
#include "models/transformer/checkpoint.h"
#include "models/transformer/transformer_shape.h"
#include "reference/step_kernels.h"

namespace lmc::reference {

namespace {

using namespace step_kernels;

void layer_norm(float* x, const float* scale, const float* bias, int d) {
  const float mean = sum_fixed(x, d) / static_cast<float>(d);
  float squares[4096];
  for (int i = 0; i < d; ++i) squares[i] = (x[i] - mean) * (x[i] - mean);
  const float variance = sum_fixed(squares, d) / static_cast<float>(d);
  const float inverse_std = 1.0f / std::sqrt(variance + kLayerNormEpsilon);
  for (int i = 0; i < d; ++i) x[i] = (x[i] - mean) * inverse_std * scale[i] + bias[i];
}

// ---- Weights --------------------------------------------------------------------------------

std::vector<float> transposed(const NamedTensor& t) {
  const auto rows = t.shape[0], cols = t.shape[1];
  std::vector<float> out(t.values.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) out[c * rows + r] = t.values[r * cols + c];
  }
  return out;
}

struct LayerWeights {
  std::vector<float> qkv;     // (d, 3d): query, key and value projections side by side
  std::vector<float> output;  // (d, d)
  std::vector<float> attention_norm_scale, attention_norm_bias;
  std::vector<float> hidden, hidden_bias;          // (d, 4d), 4d
  std::vector<float> ffn_output, ffn_output_bias;  // (4d, d), d
  std::vector<float> ffn_norm_scale, ffn_norm_bias;
};

// Positions below this use precomputed encodings; later ones are computed on the fly.
constexpr int kTabledPositions = 2048;

struct Weights {
  TransformerShape shape;
  std::vector<float> embedding;  // (vocab, d), rows are tokens
  std::vector<LayerWeights> layers;
  std::vector<float> logits, logits_bias;     // (d, vocab), vocab
  std::vector<float> sinusoids;               // (kTabledPositions, d)
  std::vector<float> rotary_cos, rotary_sin;  // (kTabledPositions, head_dim / 2)
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
  w.embedding = get("token_embedding", {v, d}).values;
  for (int layer = 0; layer < s.layers; ++layer) {
    const std::string p = "layers." + std::to_string(layer) + ".";
    LayerWeights l;
    const auto q = transposed(get(p + "attention.query", {d, d}));
    const auto k = transposed(get(p + "attention.key", {d, d}));
    const auto val = transposed(get(p + "attention.value", {d, d}));
    l.qkv.resize(static_cast<std::size_t>(d * 3 * d));
    for (std::int64_t i = 0; i < d; ++i) {
      std::copy_n(&q[i * d], d, &l.qkv[i * 3 * d]);
      std::copy_n(&k[i * d], d, &l.qkv[i * 3 * d + d]);
      std::copy_n(&val[i * d], d, &l.qkv[i * 3 * d + 2 * d]);
    }
    l.output = transposed(get(p + "attention.output", {d, d}));
    l.attention_norm_scale = get(p + "attention_norm.scale", {d}).values;
    l.attention_norm_bias = get(p + "attention_norm.bias", {d}).values;
    l.hidden = transposed(get(p + "ffn.hidden.weight", {f, d}));
    l.hidden_bias = get(p + "ffn.hidden.bias", {f}).values;
    l.ffn_output = transposed(get(p + "ffn.output.weight", {d, f}));
    l.ffn_output_bias = get(p + "ffn.output.bias", {d}).values;
    l.ffn_norm_scale = get(p + "ffn_norm.scale", {d}).values;
    l.ffn_norm_bias = get(p + "ffn_norm.bias", {d}).values;
    w.layers.push_back(std::move(l));
  }
  w.logits = transposed(get("logits.weight", {v, d}));
  w.logits_bias = get("logits.bias", {v}).values;

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

// ---- Session --------------------------------------------------------------------------------

class TransformerSession final : public PredictorSession {
 public:
  explicit TransformerSession(const Weights& weights) : w_(weights), s_(weights.shape) {
    const int d = s_.embedding_dim;
    x_.resize(d);
    qkv_.resize(3 * d);
    mixed_.resize(d);
    projected_.resize(d);
    hidden_.resize(s_.ffn_dim());
    probabilities_.resize(s_.vocab_size);
    position_cos_.resize(s_.head_dim() / 2);
    position_sin_.resize(s_.head_dim() / 2);
    reserve_cache(256);
  }

  void next_probabilities(std::span<float> probs) override {
    if (probs.size() != probabilities_.size()) {
      throw std::invalid_argument("next_probabilities: expected a span of 256 floats");
    }
    if (!pending_done_) {
      step(pending_token_, /*with_probabilities=*/true);
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
    if (!pending_done_) step(pending_token_, /*with_probabilities=*/false);
    pending_token_ = symbol;
    pending_done_ = false;
    have_probabilities_ = false;
  }

 private:
  void reserve_cache(int capacity) {
    const std::size_t d = s_.embedding_dim;
    std::vector<std::vector<float>> keys, values;
    for (int layer = 0; layer < s_.layers; ++layer) {
      std::vector<float> k(d * capacity), v(d * capacity);
      for (std::size_t c = 0; c < d && position_ > 0; ++c) {
        std::copy_n(&keys_[layer][c * capacity_], position_, &k[c * capacity]);
        std::copy_n(&values_[layer][c * capacity_], position_, &v[c * capacity]);
      }
      keys.push_back(std::move(k));
      values.push_back(std::move(v));
    }
    keys_ = std::move(keys);
    values_ = std::move(values);
    capacity_ = capacity;
    scores_.resize(capacity);
  }

  void load_position_encoding(float* sinusoid_target) {
    const int d = s_.embedding_dim, half = s_.head_dim() / 2;
    if (position_ < kTabledPositions) {
      const std::size_t t = position_;
      if (sinusoid_target) {
        for (int i = 0; i < d; ++i) sinusoid_target[i] += w_.sinusoids[t * d + i];
      }
      std::copy_n(&w_.rotary_cos[t * half], half, position_cos_.data());
      std::copy_n(&w_.rotary_sin[t * half], half, position_sin_.data());
      return;
    }
    if (sinusoid_target) {
      float encoding[4096];
      sinusoidal_position(position_, d, encoding);
      for (int i = 0; i < d; ++i) sinusoid_target[i] += encoding[i];
    }
    rotary_angles(position_, s_.head_dim(), position_cos_.data(), position_sin_.data());
  }

  void rotate(float* head) const {
    const int half = s_.head_dim() / 2;
    for (int i = 0; i < half; ++i) {
      const float a = head[i], b = head[i + half];
      head[i] = a * position_cos_[i] - b * position_sin_[i];
      head[i + half] = b * position_cos_[i] + a * position_sin_[i];
    }
  }

  // Attention of one head over positions 0..position_ (inclusive; this token's key and value
  // are already cached). Writes the head's slice of mixed_.
  void attend(int layer, int head) {
    const int head_dim = s_.head_dim(), n = position_ + 1;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    const float* q = &qkv_[head * head_dim];
    const float* keys = &keys_[layer][static_cast<std::size_t>(head) * head_dim * capacity_];
    const float* values = &values_[layer][static_cast<std::size_t>(head) * head_dim * capacity_];
    float* scores = scores_.data();

    // scores[j] = sum over channels c (in order) of q[c] k_c[j], eight positions at a time.
    attention_scores(q, keys, capacity_, head_dim, n, scale, scores);

    const float max_score = max_of(scores, n);
    exp_shifted(scores, n, max_score);
    const float inverse_total = 1.0f / sum_fixed(scores, n);
    for (int t = 0; t < n; ++t) scores[t] *= inverse_total;

    float* out = &mixed_[head * head_dim];
    for (int c = 0; c < head_dim; ++c) {
      out[c] = dot_fixed(scores, values + static_cast<std::size_t>(c) * capacity_, n);
    }
  }

  void step(int token, bool with_probabilities) {
    const int d = s_.embedding_dim, f = s_.ffn_dim(), head_dim = s_.head_dim();
    if (position_ == capacity_) reserve_cache(2 * capacity_);

    const float embedding_scale = std::sqrt(static_cast<float>(d));
    const float* embedding = &w_.embedding[static_cast<std::size_t>(token) * d];
    for (int i = 0; i < d; ++i) x_[i] = embedding[i] * embedding_scale;
    const bool rotary = s_.positional == PositionalEncoding::Rotary;
    load_position_encoding(rotary ? nullptr : x_.data());

    for (int layer = 0; layer < s_.layers; ++layer) {
      const LayerWeights& l = w_.layers[layer];
      matvec(x_.data(), l.qkv.data(), nullptr, d, 3 * d, qkv_.data());
      if (rotary) {
        for (int h = 0; h < s_.heads; ++h) {
          rotate(&qkv_[h * head_dim]);
          rotate(&qkv_[d + h * head_dim]);
        }
      }
      for (int c = 0; c < d; ++c) {
        keys_[layer][static_cast<std::size_t>(c) * capacity_ + position_] = qkv_[d + c];
        values_[layer][static_cast<std::size_t>(c) * capacity_ + position_] = qkv_[2 * d + c];
      }
      for (int h = 0; h < s_.heads; ++h) attend(layer, h);
      matvec(mixed_.data(), l.output.data(), nullptr, d, d, projected_.data());
      for (int i = 0; i < d; ++i) x_[i] += projected_[i];
      layer_norm(x_.data(), l.attention_norm_scale.data(), l.attention_norm_bias.data(), d);

      matvec(x_.data(), l.hidden.data(), l.hidden_bias.data(), d, f, hidden_.data());
      gelu_in_place(hidden_.data(), f);
      matvec(hidden_.data(), l.ffn_output.data(), l.ffn_output_bias.data(), f, d,
             projected_.data());
      for (int i = 0; i < d; ++i) x_[i] += projected_[i];
      layer_norm(x_.data(), l.ffn_norm_scale.data(), l.ffn_norm_bias.data(), d);
    }
    ++position_;
    if (!with_probabilities) return;

    float* p = probabilities_.data();
    const int vocab = s_.vocab_size;
    matvec(x_.data(), w_.logits.data(), w_.logits_bias.data(), d, vocab, p);
    const float max_logit = max_of(p, vocab);
    exp_shifted(p, vocab, max_logit);
    const float inverse_total = 1.0f / sum_fixed(p, vocab);
    for (int i = 0; i < vocab; ++i) p[i] *= inverse_total;
  }

  const Weights& w_;
  const TransformerShape& s_;
  int position_ = 0;       // tokens in the KV cache
  int capacity_ = 0;       // positions each cache row can hold
  int pending_token_ = 0;  // the next input: a 0 token first, then the appended symbols
  bool pending_done_ = false;
  bool have_probabilities_ = false;
  std::vector<std::vector<float>> keys_, values_;  // per layer: (d, capacity), time contiguous
  std::vector<float> x_, qkv_, mixed_, projected_, hidden_, scores_, probabilities_;
  std::vector<float> position_cos_, position_sin_;
};

class TransformerPredictor final : public Predictor {
 public:
  TransformerPredictor(const std::filesystem::path& path, const Checkpoint& checkpoint)
      : path_(path),
        weights_(load_weights(checkpoint, path)),
        hash_(fnv1a64_file_hash(path)),
        training_(training_summary(checkpoint.header)) {}

  int vocab_size() const override { return weights_.shape.vocab_size; }
  std::uint64_t parameter_count() const override { return weights_.shape.parameter_count(); }
  std::unique_ptr<PredictorSession> new_session() const override {
    return std::make_unique<TransformerSession>(weights_);
  }
  nlohmann::json describe() const override {
    nlohmann::json d = {{"model", "byte_transformer"},
                        {"architecture", weights_.shape.to_json()},
                        {"parameters", parameter_count()},
                        {"checkpoint", path_.string()},
                        {"checkpoint_fnv1a64", hash_},
                        {"inference",
                         "hand-written incremental step, KV cache, fixed-order "
                         "float32 reductions, single-threaded"}};
    if (!training_.is_null()) d["training"] = training_;
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
  std::string hash_;
  nlohmann::json training_;
};

}  // namespace

std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint) {
  return std::make_unique<TransformerPredictor>(checkpoint, read_checkpoint(checkpoint));
}

}  // namespace lmc::reference
