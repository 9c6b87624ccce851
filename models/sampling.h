// Text generation from a pretrained model: greedy decoding or temperature sampling with a fixed
// seed, and the `bench generate` command built on it.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/mapping.h"
#include "models/predictor.h"
#include "models/pretrained/pretrained_model.h"

namespace lmc {

struct SamplingOptions {
  double temperature = 0;  // 0 = greedy (argmax, lowest id on ties)
  std::uint64_t seed = 1;
};

// Draws the next token from `probabilities`: argmax for temperature 0, otherwise from
// p^(1/temperature) renormalised (the same as softmax(logits / temperature)). The draw uses
// only the generator's raw 64-bit output, so a seed gives the same text on every platform.
int pick_token(std::span<const float> probabilities, double temperature, std::mt19937_64& rng);

// The prompt followed by up to `max_tokens` generated tokens; stops early at a special token
// (BOS/EOS, which stand for no text). Uses the sliding context past the model's limit.
std::string generate_text(const PretrainedModel& model, std::string_view prompt, int max_tokens,
                          const SamplingOptions& sampling);

// Bytes with gaps filled in by a byte-level predictor (the paper's Figure 3): `original` with
// every position where `sampled` is true replaced by a draw, left to right, each conditioned on
// all bytes before it (the original's where given, earlier draws where sampled). With a mapping,
// the predictor is a language model over 7-bit text: it sees the 7-bit image of the bytes and
// draws one of the 128 symbols, written back as from_seven_bits(symbol). Without one it predicts
// the 256 byte values itself (a compressor). `on_draw` runs after each draw (progress).
// The same seed gives the same bytes.
Bytes fill_sampled_bytes(const Predictor& predictor, ByteView original,
                         const std::vector<bool>& sampled, std::optional<SevenBitMapping> mapping,
                         const SamplingOptions& sampling,
                         const std::function<void()>& on_draw = nullptr);

// `bench generate`: the options as CLI11 fills them.
struct GenerateArgs {
  std::string model;            // checkpoint file
  std::string format = "auto";  // "auto" | "llama2c" | "rwkv" | "torchscript" | "gguf"
  std::string tokenizer;        // llama2.c tokenizer.bin or SentencePiece .model
  int context = 0;              // positions per window; 0 = the model's own
  std::string prompt;
  int tokens = 256;
  double temperature = 0;
  std::uint64_t seed = 1;
};

// Prints the generated text to `out`; returns the process exit code (0). Throws InputError for
// bad arguments or model files.
int generate_command(const GenerateArgs& args, std::ostream& out);
int generate_command(const GenerateArgs& args);  // to std::cout

}  // namespace lmc
