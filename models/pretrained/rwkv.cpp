#include "models/pretrained/rwkv.h"

#include <cmath>
#include <map>
#include <stdexcept>

#include "models/kernels/pretrained_kernels.h"
#include "models/pretrained/model_file.h"

namespace lmc {

namespace {

constexpr std::int32_t kMagic = 0x67676d66;  // "ggmf"
constexpr std::int32_t kVersionFirst = 100, kVersionLast = 101;
constexpr std::int32_t kTypeFloat32 = 0;
// LayerNorm epsilon of ln0/ln1/ln2/ln_out and of v5.2's per-head GroupNorm (ln_x). rwkv.cpp
// uses 1e-5 for the GroupNorm too (ChatRWKV's 64e-5 moves these tiny models' logits by ~1):
// the expected-logits files are rwkv.cpp's, and they match 1e-5 to 3e-6.
constexpr float kLayerNormEps = 1e-5f;
constexpr float kGroupNormEps = 1e-5f;
// v4's running maximum starts at minus "infinity" (rwkv.cpp's value): the first token's
// exp(pp - qq) is then exactly 0.
constexpr float kNoHistory = -1e30f;

struct Tensor {
  std::vector<std::int64_t> shape;  // PyTorch order
  std::size_t offset = 0;           // in floats, into the storage
};

// Every tensor of the file by name, its floats appended to `storage`.
std::map<std::string, Tensor> read_tensors(ModelFileReader& reader, std::vector<float>& storage) {
  std::map<std::string, Tensor> tensors;
  while (!reader.at_end()) {
    const std::int32_t n_dims = reader.int32();
    const std::int32_t key_length = reader.int32();
    const std::int32_t type = reader.int32();
    if (n_dims < 1 || n_dims > 4 || key_length <= 0 || key_length > 1024) {
      reader.fail("malformed tensor header (n_dims " + std::to_string(n_dims) + ", key length " +
                  std::to_string(key_length) + ")");
    }
    Tensor tensor;
    std::int64_t count = 1;
    for (int d = 0; d < n_dims; ++d) {
      const std::int32_t size = reader.int32();
      if (size <= 0 || size > (1 << 24)) reader.fail("tensor dimension " + std::to_string(size));
      tensor.shape.insert(tensor.shape.begin(), size);  // ggml order is reversed
      // Four dimensions of 2^24 overflow int64 (the rwkv fuzzer's finding): no tensor may hold
      // more floats than the file has left.
      if (count > static_cast<std::int64_t>(reader.remaining() / sizeof(float)) / size) {
        reader.fail("truncated: a tensor needs more than the " +
                    std::to_string(reader.remaining()) + " bytes left");
      }
      count *= size;
    }
    const std::string key = reader.string(static_cast<std::size_t>(key_length));
    if (type != kTypeFloat32) {
      reader.fail("tensor " + key + " has type " + std::to_string(type) +
                  "; only float32 (0) files are supported");
    }
    if (static_cast<std::uint64_t>(count) * sizeof(float) > reader.remaining()) {
      reader.fail("truncated in tensor " + key);
    }
    tensor.offset = storage.size();
    storage.resize(storage.size() + static_cast<std::size_t>(count));
    reader.floats(storage.data() + tensor.offset, static_cast<std::size_t>(count));
    if (!tensors.emplace(key, std::move(tensor)).second) reader.fail("tensor " + key + " twice");
  }
  return tensors;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + ")";
}

// Hands out tensors by name, checking their shapes; the pointers stay valid while `storage`
// is not resized.
class TensorTable {
 public:
  TensorTable(const std::filesystem::path& path, std::map<std::string, Tensor> tensors,
              const std::vector<float>& storage)
      : path_(path), tensors_(std::move(tensors)), storage_(storage) {}

  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const std::vector<std::int64_t>& shape(const std::string& name) const { return find(name).shape; }

  const float* get(const std::string& name, std::vector<std::int64_t> expected) const {
    const Tensor& tensor = find(name);
    if (tensor.shape != expected) {
      throw InputError(path_.string() + ": tensor " + name + " has shape " +
                       shape_text(tensor.shape) + ", expected " + shape_text(expected));
    }
    return storage_.data() + tensor.offset;
  }

 private:
  const Tensor& find(const std::string& name) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) throw InputError(path_.string() + ": tensor " + name + " missing");
    return it->second;
  }

  std::filesystem::path path_;
  std::map<std::string, Tensor> tensors_;
  const std::vector<float>& storage_;
};

}  // namespace

std::shared_ptr<const RwkvPredictor> RwkvPredictor::load(const std::filesystem::path& path) {
  return load(path, read_model_file(path));
}

std::shared_ptr<const RwkvPredictor> RwkvPredictor::load(const std::filesystem::path& path,
                                                         ByteView data) {
  ModelFileReader reader(path, data);
  const std::int32_t magic = reader.int32();
  if (magic != kMagic) reader.fail("not an rwkv.cpp model (wrong magic)");
  const std::int32_t file_version = reader.int32();
  if (file_version < kVersionFirst || file_version > kVersionLast) {
    reader.fail("unsupported rwkv.cpp file version " + std::to_string(file_version));
  }
  std::shared_ptr<RwkvPredictor> model(new RwkvPredictor());
  model->path_ = path;
  model->n_vocab_ = reader.int32();
  model->n_embed_ = reader.int32();
  const std::int32_t n_layer = reader.int32();
  const std::int32_t data_type = reader.int32();
  if (model->n_vocab_ <= 0 || model->n_vocab_ > (1 << 20) || model->n_embed_ <= 0 ||
      model->n_embed_ > (1 << 16) || n_layer <= 0 || n_layer > 1024) {
    reader.fail("implausible header (vocab " + std::to_string(model->n_vocab_) + ", embed " +
                std::to_string(model->n_embed_) + ", layers " + std::to_string(n_layer) + ")");
  }
  if (data_type != kTypeFloat32) {
    reader.fail("data type " + std::to_string(data_type) + "; only float32 (0) is supported");
  }

  const TensorTable t(path, read_tensors(reader, model->storage_), model->storage_);
  model->parameter_count_ = model->storage_.size();
  const std::int64_t vocab = model->n_vocab_, embed = model->n_embed_;
  model->version_ = t.has("blocks.0.att.time_faaaa") ? Version::V5_2 : Version::V4;
  const bool v5 = model->version_ == Version::V5_2;
  if (v5) {
    const auto& decay = t.shape("blocks.0.att.time_decay");
    if (decay.size() != 3 || decay[0] * decay[1] != embed || decay[2] != 1) {
      throw InputError(path.string() + ": v5.2 time_decay has shape " + shape_text(decay) +
                       ", expected (heads, head_size, 1)");
    }
    model->n_heads_ = static_cast<int>(decay[0]);
  }
  const std::int64_t heads = model->n_heads_, head_size = embed / heads;
  const auto& ffn_shape = t.shape("blocks.0.ffn.key.weight");
  model->n_ffn_ = static_cast<int>(ffn_shape.at(0));
  const std::int64_t ffn = model->n_ffn_;

  model->embedding_ = t.get("emb.weight", {vocab, embed});
  model->ln0_weight_ = t.get("blocks.0.ln0.weight", {embed});
  model->ln0_bias_ = t.get("blocks.0.ln0.bias", {embed});
  model->ln_out_weight_ = t.get("ln_out.weight", {embed});
  model->ln_out_bias_ = t.get("ln_out.bias", {embed});
  model->head_ = t.get("head.weight", {vocab, embed});
  const std::vector<std::int64_t> vector{embed}, square{embed, embed};
  const std::vector<std::int64_t> per_head =
      v5 ? std::vector<std::int64_t>{heads, head_size, 1} : std::vector<std::int64_t>{embed};
  for (int i = 0; i < n_layer; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    Layer l{};
    l.ln1_weight = t.get(b + "ln1.weight", vector);
    l.ln1_bias = t.get(b + "ln1.bias", vector);
    l.ln2_weight = t.get(b + "ln2.weight", vector);
    l.ln2_bias = t.get(b + "ln2.bias", vector);
    l.time_decay = t.get(b + "att.time_decay", per_head);
    l.time_first = t.get(b + (v5 ? "att.time_faaaa" : "att.time_first"), per_head);
    l.att_mix_k = t.get(b + "att.time_mix_k", vector);
    l.att_mix_v = t.get(b + "att.time_mix_v", vector);
    l.att_mix_r = t.get(b + "att.time_mix_r", vector);
    l.att_key = t.get(b + "att.key.weight", square);
    l.att_value = t.get(b + "att.value.weight", square);
    l.att_receptance = t.get(b + "att.receptance.weight", square);
    l.att_output = t.get(b + "att.output.weight", square);
    if (v5) {
      l.att_mix_g = t.get(b + "att.time_mix_g", vector);
      l.att_gate = t.get(b + "att.gate.weight", square);
      l.ln_x_weight = t.get(b + "att.ln_x.weight", vector);
      l.ln_x_bias = t.get(b + "att.ln_x.bias", vector);
    }
    l.ffn_mix_k = t.get(b + "ffn.time_mix_k", vector);
    l.ffn_mix_r = t.get(b + "ffn.time_mix_r", vector);
    l.ffn_key = t.get(b + "ffn.key.weight", {ffn, embed});
    l.ffn_value = t.get(b + "ffn.value.weight", {embed, ffn});
    l.ffn_receptance = t.get(b + "ffn.receptance.weight", square);
    model->layers_.push_back(l);
  }
  model->hash_ = fnv1a64_hex(data);
  return model;
}

nlohmann::json RwkvPredictor::describe() const {
  return {{"model", version_ == Version::V5_2 ? "rwkv-5.2" : "rwkv-4"},
          {"architecture",
           {{"n_vocab", n_vocab_},
            {"n_embed", n_embed_},
            {"n_layer", layers_.size()},
            {"n_ffn", n_ffn_},
            {"n_heads", n_heads_}}},
          {"parameters", parameter_count_},
          {"checkpoint", path_.string()},
          {"checkpoint_fnv1a64", hash_},
          {"inference", "hand-written recurrent step, fixed summation order, one thread"}};
}

namespace {

class RwkvSession final : public PredictorSession {
 public:
  explicit RwkvSession(const RwkvPredictor& model)
      : model_(model),
        embed_(model.n_embed()),
        heads_(model.n_heads()),
        head_size_(embed_ / heads_),
        v5_(model.version() == RwkvPredictor::Version::V5_2),
        layers_(model.layers().size()),
        x_(embed_),
        x0_(embed_),
        xk_(embed_),
        xv_(embed_),
        xr_(embed_),
        xg_(embed_),
        r_(embed_),
        k_(embed_),
        v_(embed_),
        g_(embed_),
        out_(embed_),
        project_(embed_),
        ffn_hidden_(model.n_ffn()),
        logits_(model.vocab_size()) {
    for (auto& layer : layers_) {
      layer.att_prev.assign(embed_, 0.0f);
      layer.ffn_prev.assign(embed_, 0.0f);
      if (v5_) {
        layer.wkv.assign(static_cast<std::size_t>(heads_) * head_size_ * head_size_, 0.0f);
      } else {
        layer.aa.assign(embed_, 0.0f);
        layer.bb.assign(embed_, 0.0f);
        layer.pp.assign(embed_, kNoHistory);
      }
    }
  }

  void append(int token) override {
    if (token < 0 || token >= model_.vocab_size()) {
      throw std::out_of_range("rwkv: token " + std::to_string(token) + " outside the vocab");
    }
    forward(token);
    fed_ = true;
  }

  // Before the first token there is no input to condition on: uniform.
  void next_probabilities(std::span<float> probs) override {
    if (!fed_) {
      std::fill_n(probs.begin(), logits_.size(), 1.0f / static_cast<float>(logits_.size()));
      return;
    }
    std::copy(logits_.begin(), logits_.end(), probs.begin());
    kernels::softmax(probs.first(logits_.size()));
  }

  std::span<const float> logits() const { return logits_; }

 private:
  struct LayerState {
    std::vector<float> att_prev, ffn_prev;  // the previous token's normalised input
    std::vector<float> aa, bb, pp;          // v4: numerator, denominator, running maximum
    std::vector<float> wkv;                 // v5.2: (head, key i, value j)
  };

  static void mix(std::span<float> out, std::span<const float> x, std::span<const float> prev,
                  const float* amount) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = x[i] * amount[i] + prev[i] * (1.0f - amount[i]);
    }
  }

  void forward(int token) {
    std::copy_n(model_.embedding() + static_cast<std::size_t>(token) * embed_, embed_, x_.begin());
    kernels::layer_norm(x_, x_, model_.ln0_weight(), model_.ln0_bias(), kLayerNormEps);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const RwkvPredictor::Layer& weights = model_.layers()[i];
      LayerState& state = layers_[i];
      kernels::layer_norm(x0_, x_, weights.ln1_weight, weights.ln1_bias, kLayerNormEps);
      if (v5_) {
        time_mix_v5(weights, state);
      } else {
        time_mix_v4(weights, state);
      }
      for (std::size_t c = 0; c < embed_; ++c) x_[c] += project_[c];
      kernels::layer_norm(x0_, x_, weights.ln2_weight, weights.ln2_bias, kLayerNormEps);
      channel_mix(weights, state);
      for (std::size_t c = 0; c < embed_; ++c) x_[c] += project_[c];
    }
    kernels::layer_norm(x0_, x_, model_.ln_out_weight(), model_.ln_out_bias(), kLayerNormEps);
    kernels::matvec(logits_, model_.head(), x0_);
  }

  // RWKV-4 attention, in the numerically stable form with a running maximum exponent pp.
  void time_mix_v4(const RwkvPredictor::Layer& w, LayerState& s) {
    mix(xk_, x0_, s.att_prev, w.att_mix_k);
    mix(xv_, x0_, s.att_prev, w.att_mix_v);
    mix(xr_, x0_, s.att_prev, w.att_mix_r);
    s.att_prev = x0_;
    kernels::matvec(r_, w.att_receptance, xr_);
    kernels::matvec(k_, w.att_key, xk_);
    kernels::matvec(v_, w.att_value, xv_);
    for (std::size_t c = 0; c < embed_; ++c) {
      const float first = w.time_first[c] + k_[c];
      float q = std::max(s.pp[c], first);
      float e1 = std::exp(s.pp[c] - q), e2 = std::exp(first - q);
      const float wkv = (e1 * s.aa[c] + e2 * v_[c]) / (e1 * s.bb[c] + e2);
      const float decayed = s.pp[c] + w.time_decay[c];
      q = std::max(decayed, k_[c]);
      e1 = std::exp(decayed - q);
      e2 = std::exp(k_[c] - q);
      s.aa[c] = e1 * s.aa[c] + e2 * v_[c];
      s.bb[c] = e1 * s.bb[c] + e2;
      s.pp[c] = q;
      out_[c] = kernels::sigmoid(r_[c]) * wkv;
    }
    kernels::matvec(project_, w.att_output, out_);
  }

  // RWKV v5.2 attention: per head a (key x value) state matrix decayed per key channel,
  // GroupNorm over each head, SiLU gate.
  void time_mix_v5(const RwkvPredictor::Layer& w, LayerState& s) {
    mix(xk_, x0_, s.att_prev, w.att_mix_k);
    mix(xv_, x0_, s.att_prev, w.att_mix_v);
    mix(xr_, x0_, s.att_prev, w.att_mix_r);
    mix(xg_, x0_, s.att_prev, w.att_mix_g);
    s.att_prev = x0_;
    kernels::matvec(r_, w.att_receptance, xr_);
    kernels::matvec(k_, w.att_key, xk_);
    kernels::matvec(v_, w.att_value, xv_);
    kernels::matvec(g_, w.att_gate, xg_);
    const std::size_t n = head_size_;
    for (std::size_t h = 0; h < static_cast<std::size_t>(heads_); ++h) {
      const std::size_t base = h * n;
      float* state = s.wkv.data() + h * n * n;
      for (std::size_t j = 0; j < n; ++j) out_[base + j] = 0.0f;
      for (std::size_t i = 0; i < n; ++i) {
        const float r = r_[base + i], k = k_[base + i];
        const float u = w.time_first[base + i], decay = w.time_decay[base + i];
        float* row = state + i * n;
        for (std::size_t j = 0; j < n; ++j) {
          const float kv = k * v_[base + j];
          out_[base + j] += r * (u * kv + row[j]);
          row[j] = kv + decay * row[j];
        }
      }
      const std::span<float> head_out = std::span<float>(out_).subspan(base, n);
      kernels::layer_norm(head_out, head_out, w.ln_x_weight + base, w.ln_x_bias + base,
                          kGroupNormEps);
    }
    for (std::size_t c = 0; c < embed_; ++c) {
      const float silu = g_[c] / (1.0f + std::exp(-g_[c]));
      out_[c] *= silu;
    }
    kernels::matvec(project_, w.att_output, out_);
  }

  // Channel mixing (both versions): sigmoid(receptance) * value(relu(key)^2).
  void channel_mix(const RwkvPredictor::Layer& w, LayerState& s) {
    mix(xk_, x0_, s.ffn_prev, w.ffn_mix_k);
    mix(xr_, x0_, s.ffn_prev, w.ffn_mix_r);
    s.ffn_prev = x0_;
    kernels::matvec(r_, w.ffn_receptance, xr_);
    kernels::matvec(ffn_hidden_, w.ffn_key, xk_);
    for (float& h : ffn_hidden_) h = h > 0 ? h * h : 0.0f;
    kernels::matvec(project_, w.ffn_value, ffn_hidden_);
    for (std::size_t c = 0; c < embed_; ++c) project_[c] *= kernels::sigmoid(r_[c]);
  }

  const RwkvPredictor& model_;
  const std::size_t embed_;
  const int heads_;
  const std::size_t head_size_;
  const bool v5_;
  bool fed_ = false;
  std::vector<LayerState> layers_;
  std::vector<float> x_, x0_, xk_, xv_, xr_, xg_, r_, k_, v_, g_, out_, project_, ffn_hidden_;
  std::vector<float> logits_;
};

}  // namespace

std::unique_ptr<PredictorSession> RwkvPredictor::new_session() const {
  return std::make_unique<RwkvSession>(*this);
}

std::vector<float> RwkvPredictor::logits_after(std::span<const int> tokens) const {
  RwkvSession session(*this);
  for (int token : tokens) session.append(token);
  const std::span<const float> logits = session.logits();
  return std::vector<float>(logits.begin(), logits.end());
}

}  // namespace lmc
