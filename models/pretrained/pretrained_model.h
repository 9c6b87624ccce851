// A pretrained language model ready to predict text: the network, its tokenizer and its context
// limit, plus the sliding context window that lets a fixed-context model run over any length.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/predictor.h"
#include "models/tokenizers/tokenizer.h"

namespace lmc {

struct PretrainedModel {
  std::string format;  // "llama2c" | "rwkv" | "torchscript" | "gguf" | "lmct"
  std::shared_ptr<const Predictor> predictor;
  std::shared_ptr<const Tokenizer> tokenizer;
  int context_limit = 0;  // positions a session holds, BOS included; 0 = unbounded (recurrent)
  // Estimate mode's fast path, where a format has one (gguf): next-token logits after the
  // prefixes window[0..i], i >= first_output, in one batched pass (row i - first_output).
  // Close to, but not bit-identical with, the one-token session; never used to decode.
  std::function<std::vector<float>(std::span<const int> window, std::size_t first_output)>
      window_logits;

  nlohmann::json describe() const;
};

// Settings only some formats read.
struct PretrainedOptions {
  int threads = 1;          // gguf: llama.cpp threads per session
  std::string cpu_variant;  // gguf: libggml-cpu-<variant> to load; empty = the best here
};

// "llama2c": a llama2.c checkpoint plus its tokenizer.bin (required); "rwkv": an rwkv.cpp file
// with the byte tokenizer (`tokenizer` must be empty); "torchscript": a traced module plus its
// SentencePiece .model, and `context` is required; "gguf": a GGUF file with its own vocabulary
// through llama.cpp (`tokenizer` must be empty; models/pretrained/gguf_model.h), in builds with
// llama.cpp; "lmct": a tokenized Transformer of lmc_train, whose header names its SentencePiece
// tokenizer (`tokenizer`, when given, must be that file). `context` > 0 limits the window (at most
// the model's own limit); 0 keeps the model's own. InputError naming the file or the format
// otherwise.
PretrainedModel load_pretrained_model(std::string_view format,
                                      const std::filesystem::path& checkpoint,
                                      const std::filesystem::path& tokenizer, int context = 0,
                                      const PretrainedOptions& options = {});

// True when this build links llama.cpp (the "gguf" format).
bool gguf_format_available();

// "rwkv", "torchscript" (a zip archive), "gguf" or "lmct" by the file's magic, else "llama2c"
// (whose header has no magic).
std::string detect_model_format(const std::filesystem::path& checkpoint);

// The sessions SlidingContext goes through for `count` tokens: each starts from BOS (when
// `bos`) and tokens[kept_from, first_new) re-read, then appends tokens[first_new, end) one by
// one, predicting each before it is appended.
struct SlidingWindow {
  std::size_t kept_from = 0, first_new = 0, end = 0;
};
std::vector<SlidingWindow> sliding_windows(int context_limit, bool bos, std::size_t count);

// The probabilities SlidingContext would give for each of `tokens` (row i: the distribution of
// tokens[i], size vocab), from the model's window_logits, one batched pass per window.
// The model needs a BOS (the first token's prediction comes from it) and window_logits.
std::vector<float> windowed_probabilities(const PretrainedModel& model,
                                          std::span<const int> tokens);

// Next-token predictions over an unbounded token stream. The session starts with BOS (when the
// tokenizer has one). When a token no longer fits in the context, the session restarts from BOS
// and the last context_limit / 2 - 1 tokens, then takes the token: the model recomputes that half
// window and continues, so every prediction sees between context_limit / 2 and context_limit
// positions. The policy depends only on the tokens, so encoder and decoder slide identically.
class SlidingContext {
 public:
  explicit SlidingContext(const PretrainedModel& model);

  // Next-token probabilities; size = the model's vocab.
  void next_probabilities(std::span<float> probabilities) {
    session_->next_probabilities(probabilities);
  }
  void append(int token);

  // How many times the window slid, and how many tokens the model re-read for it.
  std::uint64_t slides() const { return slides_; }
  std::uint64_t recomputed_tokens() const { return recomputed_tokens_; }

  // The policy in words, for a compressor's settings().
  static std::string policy(int context_limit);

 private:
  void restart();

  const PretrainedModel& model_;
  std::unique_ptr<PredictorSession> session_;
  std::vector<int> window_;  // tokens in the session, BOS excluded
  int reserved_ = 0;         // 1 when the session starts with BOS
  std::uint64_t slides_ = 0;
  std::uint64_t recomputed_tokens_ = 0;
};

}  // namespace lmc
