#include "models/sampling.h"

#include <cmath>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "common/error.h"

namespace lmc {

namespace {

// A uniform double in [0, 1) from the top 53 bits of one draw.
double uniform_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1p-53; }

int argmax(std::span<const float> probabilities) {
  int best = 0;
  for (int i = 1; i < static_cast<int>(probabilities.size()); ++i) {
    if (probabilities[i] > probabilities[best]) best = i;
  }
  return best;
}

}  // namespace

int pick_token(std::span<const float> probabilities, double temperature, std::mt19937_64& rng) {
  if (temperature < 0 || !std::isfinite(temperature)) {
    throw InputError("temperature must be finite and >= 0, got " + std::to_string(temperature));
  }
  if (temperature == 0) return argmax(probabilities);
  std::vector<double> weights(probabilities.size());
  double total = 0;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    weights[i] = std::pow(static_cast<double>(probabilities[i]), 1.0 / temperature);
    total += weights[i];
  }
  if (!(total > 0) || !std::isfinite(total)) return argmax(probabilities);  // all mass underflowed
  double target = uniform_unit(rng) * total;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    target -= weights[i];
    if (target < 0) return static_cast<int>(i);
  }
  return argmax(probabilities);  // rounding left the target at the very top
}

std::string generate_text(const PretrainedModel& model, std::string_view prompt, int max_tokens,
                          const SamplingOptions& sampling) {
  const Tokenizer& tokenizer = *model.tokenizer;
  std::vector<int> tokens = tokenizer.encode(prompt);
  SlidingContext context(model);
  for (int token : tokens) context.append(token);
  std::vector<float> probabilities(model.predictor->vocab_size());
  std::mt19937_64 rng(sampling.seed);
  for (int i = 0; i < max_tokens; ++i) {
    context.next_probabilities(probabilities);
    const int next = pick_token(probabilities, sampling.temperature, rng);
    if (tokenizer.token_bytes(next).empty()) break;  // BOS/EOS: the story is over
    tokens.push_back(next);
    context.append(next);
  }
  return tokenizer.decode(tokens);
}

Bytes fill_sampled_bytes(const Predictor& predictor, ByteView original,
                         const std::vector<bool>& sampled, std::optional<SevenBitMapping> mapping,
                         const SamplingOptions& sampling, const std::function<void()>& on_draw) {
  if (sampled.size() != original.size()) {
    throw std::invalid_argument("fill_sampled_bytes: one sampled flag per byte expected");
  }
  const int alphabet = mapping ? 128 : 256;
  if (predictor.vocab_size() < alphabet) {
    throw InputError("the model predicts " + std::to_string(predictor.vocab_size()) +
                     " symbols; sampling bytes needs " + std::to_string(alphabet));
  }
  const auto symbol_of = [&](std::uint8_t byte) -> int {
    return mapping ? to_seven_bits(byte, *mapping) : byte;
  };
  Bytes filled(original.begin(), original.end());
  std::vector<float> probabilities(static_cast<std::size_t>(predictor.vocab_size()));
  std::mt19937_64 rng(sampling.seed);
  const auto session = predictor.new_session();
  for (std::size_t i = 0; i < filled.size(); ++i) {
    if (sampled[i]) {
      session->next_probabilities(probabilities);
      // Only the symbols that stand for a byte: a text model's 128 to 255 never occur in its
      // 7-bit input and have no byte to stand for.
      const auto symbol = static_cast<std::uint8_t>(
          pick_token(std::span(probabilities).first(static_cast<std::size_t>(alphabet)),
                     sampling.temperature, rng));
      filled[i] = mapping ? from_seven_bits(symbol, *mapping) : symbol;
      if (on_draw) on_draw();
    }
    session->append(symbol_of(filled[i]));
  }
  return filled;
}

int generate_command(const GenerateArgs& args, std::ostream& out) {
  if (args.tokens < 0) throw InputError("--tokens must be >= 0");
  const std::string format = args.format == "auto" ? detect_model_format(args.model) : args.format;
  const PretrainedModel model =
      load_pretrained_model(format, args.model, args.tokenizer, args.context);
  out << generate_text(model, args.prompt, args.tokens, {args.temperature, args.seed}) << "\n";
  return 0;
}

int generate_command(const GenerateArgs& args) { return generate_command(args, std::cout); }

}  // namespace lmc
