// A TorchScript module as a Predictor: how a user brings any Hugging Face causal LM (Llama 2 7B
// and friends). The module is what torch.jit.trace makes of
//
//     forward(input_ids: int64 tensor (1, T)) -> logits (1, T, V)
//
// (a tuple or a dict with "logits" first/inside is accepted too, as HF models return them).
// V may exceed the tokenizer's vocabulary (padded embedding tables); the extra columns are
// dropped. Positions past the model's context are the caller's business (SlidingContext).
//
// A traced module has no KV-cache interface, so each prediction runs the module over the whole
// current window: T tokens cost O(T^2) work. That is the price of accepting any traced model.
//
// Determinism (the coder needs bit-identical predictions when decoding): the module runs on one
// intra-op thread with the graph executor's optimisations off, so the same window gives the same
// floats on every call, in every thread and process on this machine.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "models/predictor.h"

namespace lmc {

class TorchScriptPredictor final : public Predictor {
 public:
  // `vocab_size`: the tokenizer's. InputError naming the file when it is not a TorchScript
  // archive, or when forward() does not map (1, T) ids to (1, T, >= vocab_size) logits.
  static std::shared_ptr<const TorchScriptPredictor> load(const std::filesystem::path& path,
                                                          int vocab_size);
  ~TorchScriptPredictor() override;

  int vocab_size() const override { return vocab_size_; }
  std::uint64_t parameter_count() const override { return parameter_count_; }
  std::unique_ptr<PredictorSession> new_session() const override;
  nlohmann::json describe() const override;

  // Raw logits (first vocab_size columns) at the last position of `tokens` (non-empty).
  std::vector<float> logits_after(std::span<const int> tokens) const;

 private:
  TorchScriptPredictor() = default;

  struct Module;  // keeps <torch/script.h> out of this header
  std::unique_ptr<Module> module_;
  std::filesystem::path path_;
  std::string hash_;
  int vocab_size_ = 0;
  int logit_columns_ = 0;
  std::uint64_t parameter_count_ = 0;
};

}  // namespace lmc
