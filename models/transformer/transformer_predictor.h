// The paper's byte Transformer as a Predictor for lossless coding: a hand-written, single-threaded
// forward pass with a KV cache, run one position at a time (sessions), a block of positions at a
// time (the encoder, which knows the whole chunk) or one position of several sequences at a time
// (a lockstep decoder). Every output element is computed with the same operations in the same
// order in all three, and in every kernel path (step_kernels.h), so encoder and decoder see
// bit-identical probabilities whatever the CPU's vector width, thread count or batching.
#pragma once

#include <filesystem>
#include <memory>

#include "models/kernels/step_kernels.h"
#include "models/predictor.h"
#include "models/transformer/checkpoint.h"

namespace lmc {

// Loads a checkpoint written by run_training (format in models/transformer/checkpoint.h). Sessions
// return softmax probabilities over the vocabulary: the 256 byte values, or a tokenized model's
// tokens. describe() gives the architecture, parameter count, checkpoint path, the FNV-1a 64 hash
// of the checkpoint file, the kernel path, and a tokenized model's tokenizer (from its header).
// The predictor also implements BatchPredictor (models/batch_predictor.h).
// Throws InputError naming the file when it is missing, not a checkpoint, or truncated.
std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint);
// The same with a given kernel path (std::invalid_argument when the CPU lacks it), for tests and
// benchmarks; the one above takes step_kernels::default_kernel_path().
std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint,
                                                      step_kernels::KernelPath kernels);
// The same from a checkpoint already read from `path` (whose header a loader has looked at).
std::unique_ptr<Predictor> make_transformer_predictor(const std::filesystem::path& path,
                                                      const Checkpoint& checkpoint);

}  // namespace lmc
