// The paper's byte Transformer architecture (docs/PROTOCOL.md section 5), and its tokenized
// variants (vocab_size = a tokenizer's pieces), shared by the libtorch model and the hand-written
// incremental step: sizes, parameter names and shapes, positional encodings. Nothing here depends
// on libtorch.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmc {

enum class PositionalEncoding {
  Sinusoidal,  // added to the scaled token embedding (the authors' released code)
  Rotary,      // applied to queries and keys in every layer (the paper's runs)
};

struct ParameterSpec {
  std::string name;
  std::vector<std::int64_t> shape;  // matrices are (out, in), as torch::linear expects
  std::int64_t size() const;
};

struct TransformerShape {
  int vocab_size = 256;
  int embedding_dim = 64;
  int layers = 4;
  int heads = 4;
  PositionalEncoding positional = PositionalEncoding::Sinusoidal;

  int head_dim() const { return embedding_dim / heads; }
  int ffn_dim() const { return 4 * embedding_dim; }

  // Every parameter in checkpoint order. Per layer: q, k, v, o projections (no bias), the
  // attention LayerNorm (scale, bias), FFN d -> 4d -> d (with biases), the FFN LayerNorm; then
  // the output layer with bias. No final LayerNorm: that is what makes the paper's counts
  // 231,936 / 856,832 / 3,286,272 exact.
  std::vector<ParameterSpec> parameters() const;
  std::uint64_t parameter_count() const;

  nlohmann::json to_json() const;
  // Reads and checks an "architecture" object; errors name `key_path`.
  static TransformerShape from_json(const nlohmann::json& object, const std::string& key_path);
};

std::string_view to_string(PositionalEncoding positional);

// A vocabulary beyond this would make the output layer alone larger than any model trained here.
inline constexpr int kMaxVocabSize = 1 << 20;

inline constexpr float kLayerNormEpsilon = 1e-5f;

// The sinusoidal encoding of one position, as the authors' code builds it: the sines of all
// frequencies, then their cosines. Computed in double so that long positions keep their
// precision in both code paths, with our own sin, cos and power (kernels/portable_math.h) so
// that the tables have the same bits on every machine.
void sinusoidal_position(std::int64_t position, int dim, float* out);

// cos and sin of the rotary angles of one position for a head of size `head_dim`
// (head_dim / 2 frequencies, rotate-half convention).
void rotary_angles(std::int64_t position, int head_dim, float* cosines, float* sines);

}  // namespace lmc
