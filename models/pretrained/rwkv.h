// rwkv.cpp model files (RWKV-4 and RWKV v5.2, float32) as a Predictor.
//
// File: 6 int32 (magic 0x67676d66 "ggmf", version 100 or 101, n_vocab, n_embed, n_layer,
// data type 0 = float32), then tensors until the end: int32 n_dims, key length, type
// (0 = float32; float16 is refused), n_dims int32 sizes in ggml (reversed) order, the key, and
// row-major data. Matrices are PyTorch's (out, in). The architecture is told apart by the
// tensors: v5.2 has att.time_faaaa, att.gate and att.ln_x; v4 has att.time_first.
//
// Both are recurrent: a session's state is a few vectors per layer, the context unbounded.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "models/predictor.h"

namespace lmc {

class RwkvPredictor final : public Predictor {
 public:
  enum class Version { V4, V5_2 };

  // InputError naming the file on a wrong magic or version, a missing or misshapen tensor, a
  // float16 tensor, or a truncated file.
  static std::shared_ptr<const RwkvPredictor> load(const std::filesystem::path& path);
  // The same from the file's bytes; `path` only names them in errors and provenance (the seam the
  // fuzzer feeds).
  static std::shared_ptr<const RwkvPredictor> load(const std::filesystem::path& path,
                                                   ByteView data);

  int vocab_size() const override { return n_vocab_; }
  std::uint64_t parameter_count() const override { return parameter_count_; }
  std::unique_ptr<PredictorSession> new_session() const override;
  nlohmann::json describe() const override;

  // The raw logits after feeding `tokens` to a fresh session (what rwkv.cpp's tests compare).
  std::vector<float> logits_after(std::span<const int> tokens) const;

  // One layer's tensors (pointers into the loaded weights).
  struct Layer {
    const float *ln1_weight, *ln1_bias, *ln2_weight, *ln2_bias;
    const float *time_decay, *time_first;  // v4: -exp(w), u; v5.2: exp(-exp(w)), u ("faaaa")
    const float *att_mix_k, *att_mix_v, *att_mix_r, *att_mix_g;                 // mix_g: v5.2 only
    const float *att_key, *att_value, *att_receptance, *att_output, *att_gate;  // gate: v5.2
    const float *ln_x_weight, *ln_x_bias;                                       // v5.2 only
    const float *ffn_mix_k, *ffn_mix_r, *ffn_key, *ffn_value, *ffn_receptance;
  };

  Version version() const { return version_; }
  int n_embed() const { return n_embed_; }
  int n_ffn() const { return n_ffn_; }
  int n_heads() const { return n_heads_; }  // v5.2 only (1 for v4)
  const std::vector<Layer>& layers() const { return layers_; }
  const float* embedding() const { return embedding_; }
  const float* ln0_weight() const { return ln0_weight_; }
  const float* ln0_bias() const { return ln0_bias_; }
  const float* ln_out_weight() const { return ln_out_weight_; }
  const float* ln_out_bias() const { return ln_out_bias_; }
  const float* head() const { return head_; }

 private:
  RwkvPredictor() = default;

  Version version_ = Version::V4;
  int n_vocab_ = 0, n_embed_ = 0, n_ffn_ = 0, n_heads_ = 1;
  std::uint64_t parameter_count_ = 0;
  std::vector<float> storage_;
  std::vector<Layer> layers_;
  const float *embedding_ = nullptr, *ln0_weight_ = nullptr, *ln0_bias_ = nullptr;
  const float *ln_out_weight_ = nullptr, *ln_out_bias_ = nullptr, *head_ = nullptr;
  std::filesystem::path path_;
  std::string hash_;
};

}  // namespace lmc
