#include "models/pretrained/llama2c.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/kernels/pretrained_kernels.h"
#include "models/pretrained/model_file.h"

namespace lmc {

namespace {

// The smallest KV-cache limit, whatever the file's size (see load).
constexpr std::uint64_t kMinCacheLimit = std::uint64_t{256} << 20;

Llama2cConfig read_config(ModelFileReader& reader) {
  Llama2cConfig c;
  c.dim = reader.int32();
  c.hidden_dim = reader.int32();
  c.n_layers = reader.int32();
  c.n_heads = reader.int32();
  c.n_kv_heads = reader.int32();
  const std::int32_t signed_vocab = reader.int32();
  c.seq_len = reader.int32();
  c.shared_classifier = signed_vocab > 0;
  // INT32_MIN has no absolute value: say 0, which the check below refuses.
  c.vocab_size = signed_vocab == INT32_MIN ? 0 : std::abs(signed_vocab);
  const bool sane =
      c.dim > 0 && c.dim <= 65536 && c.hidden_dim > 0 && c.hidden_dim <= 262144 && c.n_layers > 0 &&
      c.n_layers <= 1024 && c.n_heads > 0 && c.dim % c.n_heads == 0 && c.head_size() % 2 == 0 &&
      c.n_kv_heads > 0 && c.n_kv_heads <= c.n_heads && c.n_heads % c.n_kv_heads == 0 &&
      c.vocab_size > 0 && c.vocab_size <= (1 << 20) && c.seq_len > 0 && c.seq_len <= (1 << 20);
  if (!sane) reader.fail("not a llama2.c checkpoint header: " + c.to_json().dump());
  return c;
}

}  // namespace

nlohmann::json Llama2cConfig::to_json() const {
  return {{"dim", dim},
          {"hidden_dim", hidden_dim},
          {"n_layers", n_layers},
          {"n_heads", n_heads},
          {"n_kv_heads", n_kv_heads},
          {"vocab_size", vocab_size},
          {"seq_len", seq_len},
          {"shared_classifier", shared_classifier}};
}

std::shared_ptr<const Llama2cPredictor> Llama2cPredictor::load(const std::filesystem::path& path) {
  return load(path, read_model_file(path));
}

std::shared_ptr<const Llama2cPredictor> Llama2cPredictor::load(const std::filesystem::path& path,
                                                               ByteView data) {
  ModelFileReader reader(path, data);
  std::shared_ptr<Llama2cPredictor> model(new Llama2cPredictor());
  model->path_ = path;
  model->config_ = read_config(reader);
  const Llama2cConfig& c = model->config_;

  const auto dim = static_cast<std::size_t>(c.dim), hidden = static_cast<std::size_t>(c.hidden_dim),
             layers = static_cast<std::size_t>(c.n_layers),
             kv_dim = static_cast<std::size_t>(c.kv_dim()),
             vocab = static_cast<std::size_t>(c.vocab_size);
  Layout& l = model->layout_;
  std::size_t next = 0;
  const auto place = [&next](std::size_t count) {
    const std::size_t offset = next;
    next += count;
    return offset;
  };
  l.embedding = place(vocab * dim);
  l.rms_att = place(layers * dim);
  l.wq = place(layers * dim * dim);
  l.wk = place(layers * kv_dim * dim);
  l.wv = place(layers * kv_dim * dim);
  l.wo = place(layers * dim * dim);
  l.rms_ffn = place(layers * dim);
  l.w1 = place(layers * hidden * dim);
  l.w2 = place(layers * dim * hidden);
  l.w3 = place(layers * hidden * dim);
  l.rms_final = place(dim);
  const std::size_t rope_tables = static_cast<std::size_t>(c.seq_len) * c.head_size();
  l.classifier = c.shared_classifier ? l.embedding : next;
  const std::size_t stored = next + rope_tables + (c.shared_classifier ? 0 : vocab * dim);
  if (reader.remaining() != stored * sizeof(float)) {
    reader.fail("holds " + std::to_string(reader.remaining()) + " bytes of weights, the header " +
                c.to_json().dump() + " needs " + std::to_string(stored * sizeof(float)));
  }
  // A session's KV cache (layers x seq_len x kv_dim floats, keys and values) is not in the file:
  // a header of many thin layers and a long context asks for gigabytes from a few megabytes
  // (1024 layers of dim 2 at seq_len 2^20: 16 GiB from 8 MB). Honest models need far less than
  // their weights (stories260K: 0.7 MB for 1 MB; Llama 2 7B: 4 GiB for 27 GB).
  const std::uint64_t cache_bytes = std::uint64_t{2} * layers * c.seq_len * kv_dim * sizeof(float);
  const std::uint64_t cache_limit = std::max<std::uint64_t>(4 * data.size(), kMinCacheLimit);
  if (cache_bytes > cache_limit) {
    reader.fail("header " + c.to_json().dump() + " asks for a KV cache of " +
                std::to_string(cache_bytes) + " bytes, more than the limit of " +
                std::to_string(cache_limit) + " (4 x the file, at least 256 MiB)");
  }
  model->weights_.resize(next + (c.shared_classifier ? 0 : vocab * dim));
  reader.floats(model->weights_.data(), next);
  reader.skip(rope_tables * sizeof(float));
  if (!c.shared_classifier) reader.floats(model->weights_.data() + next, vocab * dim);
  model->hash_ = fnv1a64_hex(data);
  // llama2.c's rotation: pair j of a head turns by position * 10000^(-2j / head_size).
  const int pairs = c.head_size() / 2;
  for (int position = 0; position < c.seq_len; ++position) {
    for (int j = 0; j < pairs; ++j) {
      const float frequency =
          1.0f / std::pow(10000.0f, static_cast<float>(2 * j) / static_cast<float>(c.head_size()));
      const float angle = static_cast<float>(position) * frequency;
      model->rope_cos_.push_back(std::cos(angle));
      model->rope_sin_.push_back(std::sin(angle));
    }
  }
  return model;
}

std::uint64_t Llama2cPredictor::parameter_count() const { return weights_.size(); }

nlohmann::json Llama2cPredictor::describe() const {
  return {{"model", "llama2.c"},
          {"architecture", config_.to_json()},
          {"parameters", parameter_count()},
          {"checkpoint", path_.string()},
          {"checkpoint_fnv1a64", hash_},
          {"inference", "hand-written incremental step, fixed summation order, one thread"}};
}

namespace {

class Llama2cSession final : public PredictorSession {
 public:
  explicit Llama2cSession(const Llama2cPredictor& model)
      : model_(model),
        c_(model.config()),
        x_(c_.dim),
        xb_(c_.dim),
        xb2_(c_.dim),
        q_(c_.dim),
        hb_(c_.hidden_dim),
        hb2_(c_.hidden_dim),
        scores_(c_.seq_len),
        logits_(c_.vocab_size),
        key_cache_(static_cast<std::size_t>(c_.n_layers) * c_.seq_len * c_.kv_dim()),
        value_cache_(key_cache_.size()) {}

  void append(int token) override {
    if (token < 0 || token >= c_.vocab_size) {
      throw std::out_of_range("llama2.c: token " + std::to_string(token) + " outside the vocab");
    }
    if (position_ >= c_.seq_len) {
      throw std::logic_error("llama2.c: context of " + std::to_string(c_.seq_len) +
                             " tokens is full");
    }
    forward(token);
    ++position_;
  }

  void next_probabilities(std::span<float> probs) override {
    if (position_ == 0) throw std::logic_error("llama2.c: append a token (BOS) first");
    std::copy(logits_.begin(), logits_.end(), probs.begin());
    kernels::softmax(probs.first(logits_.size()));
  }

 private:
  void forward(int token) {
    const float* w = model_.weights();
    const auto& l = model_.layout();
    const std::size_t dim = c_.dim, hidden = c_.hidden_dim, kv_dim = c_.kv_dim();
    std::copy_n(w + l.embedding + token * dim, dim, x_.begin());
    for (std::size_t layer = 0; layer < static_cast<std::size_t>(c_.n_layers); ++layer) {
      kernels::rms_norm(xb_, x_, w + l.rms_att + layer * dim);
      float* key = key_cache_.data() + (layer * c_.seq_len + position_) * kv_dim;
      float* value = value_cache_.data() + (layer * c_.seq_len + position_) * kv_dim;
      kernels::matvec(q_, w + l.wq + layer * dim * dim, xb_);
      kernels::matvec({key, kv_dim}, w + l.wk + layer * kv_dim * dim, xb_);
      kernels::matvec({value, kv_dim}, w + l.wv + layer * kv_dim * dim, xb_);
      rotate(q_.data(), dim);
      rotate(key, kv_dim);
      attend(layer);
      kernels::matvec(xb2_, w + l.wo + layer * dim * dim, xb_);
      for (std::size_t i = 0; i < dim; ++i) x_[i] += xb2_[i];

      kernels::rms_norm(xb_, x_, w + l.rms_ffn + layer * dim);
      kernels::matvec(hb_, w + l.w1 + layer * hidden * dim, xb_);
      kernels::matvec(hb2_, w + l.w3 + layer * hidden * dim, xb_);
      for (std::size_t i = 0; i < hidden; ++i) {
        const float silu = hb_[i] / (1.0f + std::exp(-hb_[i]));
        hb_[i] = silu * hb2_[i];
      }
      kernels::matvec(xb_, w + l.w2 + layer * dim * hidden, hb_);
      for (std::size_t i = 0; i < dim; ++i) x_[i] += xb_[i];
    }
    kernels::rms_norm(x_, x_, w + l.rms_final);
    kernels::matvec(logits_, w + l.classifier, x_);
  }

  // Rotary positions: each pair (v[i], v[i+1]) of every head turns by its precomputed angle.
  void rotate(float* v, std::size_t size) const {
    const std::size_t pairs = c_.head_size() / 2;
    const float* cos = model_.rope_cos().data() + position_ * pairs;
    const float* sin = model_.rope_sin().data() + position_ * pairs;
    for (std::size_t i = 0; i < size; i += 2) {
      const std::size_t j = (i / 2) % pairs;
      const float v0 = v[i], v1 = v[i + 1];
      v[i] = v0 * cos[j] - v1 * sin[j];
      v[i + 1] = v0 * sin[j] + v1 * cos[j];
    }
  }

  // Causal attention of every query head over the cached keys of its key/value group; the
  // heads' outputs go to xb_.
  void attend(std::size_t layer) {
    const std::size_t head = c_.head_size(), kv_dim = c_.kv_dim();
    const std::size_t group = c_.n_heads / c_.n_kv_heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head));
    const float* keys = key_cache_.data() + layer * c_.seq_len * kv_dim;
    const float* values = value_cache_.data() + layer * c_.seq_len * kv_dim;
    const std::size_t steps = static_cast<std::size_t>(position_) + 1;
    for (std::size_t h = 0; h < static_cast<std::size_t>(c_.n_heads); ++h) {
      const float* query = q_.data() + h * head;
      const std::size_t kv_offset = (h / group) * head;
      for (std::size_t t = 0; t < steps; ++t) {
        scores_[t] = kernels::dot(query, keys + t * kv_dim + kv_offset, head) * scale;
      }
      kernels::softmax(std::span<float>(scores_).first(steps));
      float* out = xb_.data() + h * head;
      std::fill_n(out, head, 0.0f);
      for (std::size_t t = 0; t < steps; ++t) {
        const float* value = values + t * kv_dim + kv_offset;
        for (std::size_t i = 0; i < head; ++i) out[i] += scores_[t] * value[i];
      }
    }
  }

  const Llama2cPredictor& model_;
  const Llama2cConfig& c_;
  int position_ = 0;
  std::vector<float> x_, xb_, xb2_, q_, hb_, hb2_, scores_, logits_;
  std::vector<float> key_cache_, value_cache_;  // (layer, position, kv_dim)
};

}  // namespace

std::unique_ptr<PredictorSession> Llama2cPredictor::new_session() const {
  return std::make_unique<Llama2cSession>(*this);
}

}  // namespace lmc
