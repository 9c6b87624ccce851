// The paper's byte Transformer as a Predictor for lossless coding: a hand-written, single-threaded
// forward pass with a KV cache, run one position at a time (sessions), a block of positions at a
// time (the encoder, which knows the whole chunk) or one position of several sequences at a time
// (a lockstep decoder). Every output element is computed with the same operations in the same
// order in all three, and in every kernel path (step_kernels.h), so encoder and decoder see
// bit-identical probabilities whatever the CPU's vector width, thread count or batching.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "models/kernels/step_kernels.h"
#include "models/predictor.h"
#include "models/transformer/checkpoint.h"

namespace lmc {

// How the KV cache holds keys and values. Half: IEEE binary16, the default. Int8: 8-bit codes with
// one float scale per position and head, for half the attention's memory traffic again (the
// decoder is bound by it). Each is a model of its own over the same weights: the probabilities,
// so the coded streams, differ, and a stream decodes only with the precision that coded it.
// The rate each costs against libtorch's float32 is measured in docs/LM_SPEED.md.
enum class KvCachePrecision { Half, Int8 };
const char* to_string(KvCachePrecision precision);  // "binary16", "int8"
std::optional<KvCachePrecision> parse_kv_cache_precision(std::string_view name);

// Loads a checkpoint written by run_training (format in models/transformer/checkpoint.h). Sessions
// return softmax probabilities over the vocabulary: the 256 byte values, or a tokenized model's
// tokens. describe() gives the architecture, parameter count, checkpoint path, the FNV-1a 64 hash
// of the checkpoint file, the kernel path, the cache precision and a tokenized model's tokenizer
// (from its header). The predictor also implements BatchPredictor (models/batch_predictor.h).
// Throws InputError naming the file when it is missing, not a checkpoint, or truncated.
std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint);
// The same with a given kernel path (std::invalid_argument when the CPU lacks it), for tests and
// benchmarks; the one above takes step_kernels::default_kernel_path().
std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint,
                                                      step_kernels::KernelPath kernels);
// The same with a given cache precision (and the default path), or both given.
std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint,
                                                      KvCachePrecision precision);
std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint,
                                                      step_kernels::KernelPath kernels,
                                                      KvCachePrecision precision);
// The same from a checkpoint already read from `path` (whose header a loader has looked at).
std::unique_ptr<Predictor> make_transformer_predictor(const std::filesystem::path& path,
                                                      const Checkpoint& checkpoint);

}  // namespace lmc
