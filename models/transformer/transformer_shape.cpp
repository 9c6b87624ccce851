#include "models/transformer/transformer_shape.h"

#include <cmath>
#include <numeric>

#include "common/error.h"
#include "common/options.h"
#include "models/kernels/portable_math.h"

namespace lmc {

std::int64_t ParameterSpec::size() const {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

std::vector<ParameterSpec> TransformerShape::parameters() const {
  const std::int64_t d = embedding_dim;
  const std::int64_t f = ffn_dim();
  std::vector<ParameterSpec> specs;
  specs.push_back({"token_embedding", {vocab_size, d}});
  for (int layer = 0; layer < layers; ++layer) {
    const std::string prefix = "layers." + std::to_string(layer) + ".";
    specs.push_back({prefix + "attention.query", {d, d}});
    specs.push_back({prefix + "attention.key", {d, d}});
    specs.push_back({prefix + "attention.value", {d, d}});
    specs.push_back({prefix + "attention.output", {d, d}});
    specs.push_back({prefix + "attention_norm.scale", {d}});
    specs.push_back({prefix + "attention_norm.bias", {d}});
    specs.push_back({prefix + "ffn.hidden.weight", {f, d}});
    specs.push_back({prefix + "ffn.hidden.bias", {f}});
    specs.push_back({prefix + "ffn.output.weight", {d, f}});
    specs.push_back({prefix + "ffn.output.bias", {d}});
    specs.push_back({prefix + "ffn_norm.scale", {d}});
    specs.push_back({prefix + "ffn_norm.bias", {d}});
  }
  specs.push_back({"logits.weight", {vocab_size, d}});
  specs.push_back({"logits.bias", {vocab_size}});
  return specs;
}

std::uint64_t TransformerShape::parameter_count() const {
  std::uint64_t total = 0;
  for (const auto& spec : parameters()) total += static_cast<std::uint64_t>(spec.size());
  return total;
}

std::string_view to_string(PositionalEncoding positional) {
  return positional == PositionalEncoding::Rotary ? "rotary" : "sinusoidal";
}

nlohmann::json TransformerShape::to_json() const {
  return {{"kind", vocab_size == 256 ? "byte_transformer" : "token_transformer"},
          {"vocab_size", vocab_size},
          {"embedding_dim", embedding_dim},
          {"layers", layers},
          {"heads", heads},
          {"positional", to_string(positional)},
          {"norm", "post_layernorm"},
          {"ffn_activation", "gelu_tanh"}};
}

TransformerShape TransformerShape::from_json(const nlohmann::json& object,
                                             const std::string& key_path) {
  const std::vector<OptionSpec> specs = {
      {"embedding_dim", OptionType::Integer, 64, "model width d"},
      {"layers", OptionType::Integer, 4, "number of Transformer blocks"},
      {"heads", OptionType::Integer, 4, "attention heads; must divide embedding_dim"},
      {"positional", OptionType::String, "sinusoidal", "sinusoidal or rotary"},
      {"vocab_size", OptionType::Integer, 256,
       "alphabet size: 256 for a byte model; a tokenized model's is its tokenizer's"},
  };
  const auto options =
      Options::validate(object, specs, key_path, {"kind", "norm", "ffn_activation"});
  TransformerShape shape;
  shape.embedding_dim = static_cast<int>(options.integer("embedding_dim"));
  shape.layers = static_cast<int>(options.integer("layers"));
  shape.heads = static_cast<int>(options.integer("heads"));
  shape.vocab_size = static_cast<int>(options.integer("vocab_size"));
  const auto positional = options.string("positional");
  if (positional == "sinusoidal") {
    shape.positional = PositionalEncoding::Sinusoidal;
  } else if (positional == "rotary") {
    shape.positional = PositionalEncoding::Rotary;
  } else {
    throw InputError(options.key_path("positional") +
                     ": expected \"sinusoidal\" or \"rotary\", got \"" + positional + "\"");
  }
  if (shape.embedding_dim <= 0 || shape.embedding_dim > 4096) {
    throw InputError(options.key_path("embedding_dim") + ": must be in 1..4096");
  }
  if (shape.layers <= 0 || shape.layers > 64) {
    throw InputError(options.key_path("layers") + ": must be in 1..64");
  }
  if (shape.heads <= 0 || shape.embedding_dim % shape.heads != 0) {
    throw InputError(options.key_path("heads") + ": must be positive and divide embedding_dim");
  }
  if (shape.positional == PositionalEncoding::Rotary && shape.head_dim() % 2 != 0) {
    throw InputError(options.key_path("heads") + ": rotary positions need an even head size");
  }
  if (shape.vocab_size < 2 || shape.vocab_size > kMaxVocabSize) {
    throw InputError(options.key_path("vocab_size") + ": must be in 2.." +
                     std::to_string(kMaxVocabSize) +
                     " (256 for a byte model; a tokenized model's is its tokenizer's)");
  }
  return shape;
}

namespace {

// sin and cos of position / 10000^(2 i / dim), the angle of frequency i of both encodings.
void positional_sin_cos(std::int64_t position, int i, int dim, double& sine, double& cosine) {
  const double inverse_frequency = portable::power_of_10000(-2.0 * i / dim);
  portable::sin_cos(static_cast<double>(position) * inverse_frequency, sine, cosine);
}

}  // namespace

void sinusoidal_position(std::int64_t position, int dim, float* out) {
  const int frequencies = (dim + 1) / 2;
  for (int i = 0; i < frequencies; ++i) {
    double sine = 0, cosine = 0;
    positional_sin_cos(position, i, dim, sine, cosine);
    out[i] = static_cast<float>(sine);
    if (frequencies + i < dim) out[frequencies + i] = static_cast<float>(cosine);
  }
}

void rotary_angles(std::int64_t position, int head_dim, float* cosines, float* sines) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    double sine = 0, cosine = 0;
    positional_sin_cos(position, i, head_dim, sine, cosine);
    cosines[i] = static_cast<float>(cosine);
    sines[i] = static_cast<float>(sine);
  }
}

}  // namespace lmc
