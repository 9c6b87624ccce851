// Writes a byte-Transformer checkpoint with seeded random weights, for tests and benchmarks that
// need a real model file without training one. Weights are larger than the paper's init so the
// untrained model's distributions are far from uniform and the coder sees skewed probabilities.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>

#include "models/transformer/checkpoint.h"
#include "models/transformer/transformer_shape.h"

namespace lmc::test {

inline void write_random_checkpoint(const std::filesystem::path& path,
                                    const TransformerShape& shape, std::uint64_t seed,
                                    float weight_std = 0.3f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> weight(0.0f, weight_std);
  Checkpoint checkpoint;
  checkpoint.header["architecture"] = shape.to_json();
  checkpoint.header["training"] = {{"steps", 0}, {"init", "random test weights"}, {"seed", seed}};
  for (const auto& spec : shape.parameters()) {
    NamedTensor tensor{spec.name, spec.shape, std::vector<float>(spec.size())};
    const bool is_norm_scale = spec.name.ends_with("norm.scale");
    for (auto& v : tensor.values) v = is_norm_scale ? 1.0f : weight(rng);
    checkpoint.tensors.push_back(std::move(tensor));
  }
  write_checkpoint(path, checkpoint);
}

}  // namespace lmc::test
