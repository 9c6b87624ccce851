// The byte Transformer as libtorch tensors: the batched forward pass used for training and for
// teacher-forced scoring. Private to models/ (it pulls in <torch/torch.h>); the incremental
// step in transformer_predictor.cpp reads the same checkpoints without libtorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "models/transformer/checkpoint.h"
#include "models/transformer/transformer_shape.h"

namespace lmc {

class TorchTransformer {
 public:
  // Parameters initialised as the paper's Haiku model: token embedding from a truncated normal
  // with std 0.02, projection matrices truncated normal with std 1/sqrt(fan in), biases 0,
  // LayerNorm scales 1. Drawn from our own seeded generator, so the same seed gives the same
  // weights whatever libtorch's generator does.
  TorchTransformer(const TransformerShape& shape, std::uint64_t seed);
  // Weights from a checkpoint (shapes checked against its architecture).
  TorchTransformer(const Checkpoint& checkpoint, const std::filesystem::path& source);

  // Log-probabilities [batch, time, vocab] of the next symbol, given `inputs` [batch, time]
  // (int64 tokens: the targets shifted right behind a 0 token). `first_position` shifts the
  // positional encodings (training on short windows that stand anywhere in a long sequence).
  // `dropout` > 0 (training only) zeroes that fraction of the embedding and of each attention
  // and feed-forward output before its residual sum, with libtorch's generator.
  torch::Tensor forward(const torch::Tensor& inputs, std::int64_t first_position = 0,
                        double dropout = 0) const;

  const TransformerShape& shape() const { return shape_; }
  const std::vector<ParameterSpec>& specs() const { return specs_; }
  std::vector<torch::Tensor>& parameters() { return parameters_; }
  const std::vector<torch::Tensor>& parameters() const { return parameters_; }

  // Moves the weights (and the position tables) to `device`; training on a GPU.
  void to(const torch::Device& device);

  // The weights as checkpoint tensors, in the shape's parameter order (on the CPU).
  std::vector<NamedTensor> export_tensors() const;

 private:
  // Sinusoids, rotary angles and causal mask for sequences up to some length.
  struct PositionTables {
    torch::Tensor sinusoids, rotary_cos, rotary_sin, causal_mask;
  };
  torch::Tensor attention(const torch::Tensor& x, int layer, const PositionTables& tables,
                          std::int64_t first_position) const;
  const torch::Tensor& parameter(int layer, int index) const;
  // Tables covering `time` positions; grown under a lock, so concurrent forwards are safe.
  PositionTables position_tables(std::int64_t time) const;

  TransformerShape shape_;
  std::vector<ParameterSpec> specs_;
  std::vector<torch::Tensor> parameters_;
  torch::Device device_ = torch::kCPU;
  mutable std::mutex tables_mutex_;
  mutable PositionTables tables_;  // grown to the longest sequence seen
};

// Tensors from a checkpoint or resume state into libtorch (copies) and back.
torch::Tensor to_torch(const NamedTensor& tensor);
NamedTensor from_torch(const std::string& name, const torch::Tensor& tensor);

// [batch, time] int64 inputs for `targets` [batch, time]: a 0 token, then targets[:, :-1].
torch::Tensor shifted_inputs(const torch::Tensor& targets);

}  // namespace lmc
