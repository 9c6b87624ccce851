// Training the paper's byte Transformer (docs/PROTOCOL.md section 5) from a JSON config; the engine
// behind `bench train CONFIG [--resume]`. Config keys and the checkpoint format: models/README.md.
#pragma once

#include <filesystem>
#include <ostream>

namespace lmc {

// Trains as the config says, printing one progress line per logging interval (step, loss,
// held-out bits per byte, tokens/s, ETA) to `progress`, writing the training log CSV and
// checkpoints (atomically: temp file + rename). With `resume`, continues from the last
// checkpoint and its optimiser state. Same config and thread count give the same weights.
// Config errors throw InputError naming the key.
void run_training(const std::filesystem::path& config_path, bool resume, std::ostream& progress);

// Whether this build's libtorch is CUDA-enabled and sees a GPU (training "device": "cuda").
bool cuda_available();

}  // namespace lmc
