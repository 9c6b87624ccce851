// A llama2.c checkpoint (Karpathy's "v0" format, e.g. stories260K.bin) as a Predictor.
//
// File: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then
// float32 weights: token embedding (vocab, dim); per-layer stacks of attention RMSNorm (dim),
// wq (dim, dim), wk and wv (kv_dim, dim), wo (dim, dim), FFN RMSNorm (dim), w1 (hidden, dim),
// w2 (dim, hidden), w3 (hidden, dim); final RMSNorm (dim); the legacy RoPE tables
// (seq_len x head_size/2, twice; skipped, the step computes the rotation itself); and the
// classifier (vocab, dim) only when vocab_size is negative in the header (positive = classifier
// shared with the embedding).
//
// The model: RMSNorm, rotary positions, grouped-query attention (n_kv_heads <= n_heads),
// SwiGLU FFN. A session holds the KV cache for at most seq_len tokens.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "models/predictor.h"

namespace lmc {

struct Llama2cConfig {
  int dim = 0;
  int hidden_dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int vocab_size = 0;
  int seq_len = 0;
  bool shared_classifier = true;

  int head_size() const { return dim / n_heads; }
  int kv_dim() const { return head_size() * n_kv_heads; }
  nlohmann::json to_json() const;
};

class Llama2cPredictor final : public Predictor {
 public:
  // InputError naming the file for a header that is not a llama2.c config, or a size that does
  // not match the header.
  static std::shared_ptr<const Llama2cPredictor> load(const std::filesystem::path& path);
  // The same from the file's bytes; `path` only names them in errors and provenance (the seam the
  // fuzzer feeds).
  static std::shared_ptr<const Llama2cPredictor> load(const std::filesystem::path& path,
                                                      ByteView data);

  const Llama2cConfig& config() const { return config_; }
  int vocab_size() const override { return config_.vocab_size; }
  // Weights only: the embedding (and classifier, when not shared), norms and projections.
  std::uint64_t parameter_count() const override;
  std::unique_ptr<PredictorSession> new_session() const override;
  nlohmann::json describe() const override;

  // Offsets into weights_ (in floats) of each tensor.
  struct Layout {
    std::size_t embedding = 0, rms_att = 0, wq = 0, wk = 0, wv = 0, wo = 0, rms_ffn = 0, w1 = 0,
                w2 = 0, w3 = 0, rms_final = 0, classifier = 0;
  };
  const Layout& layout() const { return layout_; }
  const float* weights() const { return weights_.data(); }
  // cos and sin of the rotary angle for (position, pair j): index position * head_size / 2 + j.
  const std::vector<float>& rope_cos() const { return rope_cos_; }
  const std::vector<float>& rope_sin() const { return rope_sin_; }

 private:
  Llama2cPredictor() = default;

  Llama2cConfig config_;
  Layout layout_;
  std::vector<float> weights_;
  std::vector<float> rope_cos_, rope_sin_;
  std::filesystem::path path_;
  std::string hash_;
};

}  // namespace lmc
