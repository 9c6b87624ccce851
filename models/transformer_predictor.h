// The paper's byte Transformer as a Predictor for lossless coding: a hand-written, single-threaded
// incremental step with a KV cache. Every reduction runs in a fixed order and nothing depends on
// thread count, memory alignment or how many sessions run at once, so encoder and decoder (same
// binary) see bit-identical probabilities.
#pragma once

#include <filesystem>
#include <memory>

#include "models/predictor.h"

namespace lmc {

// Loads a checkpoint written by run_training (format in models/checkpoint.h). Sessions return
// softmax probabilities over the 256 byte values. describe() gives the architecture, parameter
// count, checkpoint path and the FNV-1a 64 hash of the checkpoint file.
// Throws InputError naming the file when it is missing, not a checkpoint, or truncated.
std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint);

}  // namespace lmc
