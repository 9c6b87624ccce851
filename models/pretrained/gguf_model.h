// GGUF models (llama.cpp's file format: Llama 2/3, Mistral, Qwen, SmolLM, Phi, ...) as a
// Predictor plus Tokenizer, through llama.cpp's C API (llama.h). Built only when CMake finds
// llama.cpp (LMC_WITH_LLAMA_CPP; models/CMakeLists.txt).
//
// Lossless coding needs the encoder and the decoder to see the same floats, so every session
// evaluates one token per llama_decode with the same context parameters: the CPU backend only
// (no GPU offload), flash attention off, an F32 KV cache, a fixed thread count and batch size.
// The probabilities are our softmax of the logits (kernels::softmax), never llama.cpp's samplers.
//
// ggml picks its CPU kernels at run time from one of several libggml-cpu-<variant>.so (haswell,
// skylakex, zen4, ...); different variants may round differently. The variant that ran is in
// describe(), and GgufOptions::cpu_variant pins one so a stream can be decoded on another
// machine that runs the same variant.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "models/predictor.h"
#include "models/tokenizers/tokenizer.h"

struct llama_model;
struct llama_context;

namespace lmc {

struct GgufOptions {
  int context = 0;          // positions per window; 0 = the model's training context
  int threads = 1;          // llama.cpp threads per session (recorded; fixed for determinism)
  std::string cpu_variant;  // libggml-cpu-<variant>.so to load; empty = the best this CPU runs
};

class GgufPredictor final : public Predictor {
 public:
  // InputError naming the file for a missing, truncated or foreign file, a vocabulary-only
  // GGUF, an encoder or recurrent model, or a context beyond the model's training context.
  static std::shared_ptr<const GgufPredictor> load(const std::filesystem::path& path,
                                                   const GgufOptions& options);
  ~GgufPredictor() override;

  int vocab_size() const override { return vocab_size_; }
  std::uint64_t parameter_count() const override { return parameters_; }
  std::unique_ptr<PredictorSession> new_session() const override;
  nlohmann::json describe() const override;

  int context() const { return context_; }
  int training_context() const { return training_context_; }
  const llama_model* model() const { return model_.get(); }
  const std::filesystem::path& path() const { return path_; }

  // Next-token logits after the prefixes tokens[0..i] for i >= first_output (row i -
  // first_output), computed in one llama_decode per `batch` tokens of a fresh context: the fast
  // path of estimate mode. Not bit-identical to the one-token sessions (matrix products over
  // several rows may sum in another order), so never used for coding that must decode.
  // tokens.size() <= context().
  std::vector<float> batch_logits(std::span<const int> tokens, std::size_t first_output,
                                  int batch) const;

  // A fresh llama context with this predictor's parameters and `batch` tokens per decode.
  struct ContextDeleter {
    void operator()(llama_context* context) const;
  };
  using ContextHandle = std::unique_ptr<llama_context, ContextDeleter>;
  ContextHandle new_context(int batch) const;

 private:
  GgufPredictor() = default;

  struct ModelDeleter {
    void operator()(llama_model* model) const;
  };
  std::unique_ptr<llama_model, ModelDeleter> model_;
  std::filesystem::path path_;
  std::string hash_;
  std::string description_;
  std::string architecture_;
  std::string cpu_variant_;
  std::string cpu_name_;
  int vocab_size_ = 0;
  int context_ = 0;
  int training_context_ = 0;
  int threads_ = 1;
  std::uint64_t parameters_ = 0;
};

// The model's own vocabulary through llama.cpp (llama_tokenize without special tokens,
// llama_token_to_piece). BOS follows the model's metadata (tokenizer.ggml.add_bos_token); a
// model that adds none still starts each context with its BOS token when it has one, since the
// first token needs a prediction.
class GgufTokenizer final : public Tokenizer {
 public:
  explicit GgufTokenizer(std::shared_ptr<const GgufPredictor> model);

  int vocab_size() const override { return static_cast<int>(pieces_.size()); }
  std::vector<int> encode(std::string_view text) const override;
  std::string_view token_bytes(int id) const override;
  std::string_view dummy_prefix() const override { return dummy_prefix_; }
  std::optional<int> bos() const override { return bos_; }
  nlohmann::json describe() const override;

 private:
  std::shared_ptr<const GgufPredictor> model_;  // keeps the vocabulary alive
  std::vector<std::string> pieces_;             // bytes of each token; empty for special ones
  std::string dummy_prefix_;
  std::optional<int> bos_;
  std::string bos_rule_;
};

}  // namespace lmc
