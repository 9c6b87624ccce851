#include <gtest/gtest.h>

#include "common/error.h"
#include "models/transformer/transformer_shape.h"

namespace lmc {
namespace {

TransformerShape paper_shape(int embedding, int heads) {
  TransformerShape shape;
  shape.embedding_dim = embedding;
  shape.layers = 4;
  shape.heads = heads;
  return shape;
}

TEST(TransformerShape, ParameterCountsMatchThePaper) {
  EXPECT_EQ(paper_shape(64, 4).parameter_count(), 231'936u);
  EXPECT_EQ(paper_shape(128, 4).parameter_count(), 856'832u);
  EXPECT_EQ(paper_shape(256, 8).parameter_count(), 3'286'272u);
}

TEST(TransformerShape, ListsEveryParameterOnce) {
  const auto specs = paper_shape(64, 4).parameters();
  EXPECT_EQ(specs.size(), 1u + 4 * 12 + 2);
  EXPECT_EQ(specs.front().name, "token_embedding");
  EXPECT_EQ(specs[1].name, "layers.0.attention.query");
  EXPECT_EQ(specs[7].shape, (std::vector<std::int64_t>{256, 64}));  // ffn.hidden.weight
  EXPECT_EQ(specs.back().name, "logits.bias");
}

TEST(TransformerShape, JsonRoundTrip) {
  auto shape = paper_shape(128, 4);
  shape.positional = PositionalEncoding::Rotary;
  const auto back = TransformerShape::from_json(shape.to_json(), "architecture");
  EXPECT_EQ(back.to_json(), shape.to_json());
  EXPECT_EQ(back.positional, PositionalEncoding::Rotary);
}

TEST(TransformerShape, ErrorsNameTheKey) {
  auto expect_error = [](const nlohmann::json& json, const std::string& key) {
    try {
      TransformerShape::from_json(json, "architecture");
      ADD_FAILURE() << "no error for " << json.dump();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  expect_error({{"embedding_dim", 64}, {"heads", 5}}, "architecture.heads");
  expect_error({{"positional", "learned"}}, "architecture.positional");
  expect_error({{"width", 64}}, "architecture.width");
  expect_error({{"layers", "four"}}, "architecture.layers");
}

TEST(PositionalEncoding, SinesThenCosines) {
  float encoding[8];
  sinusoidal_position(3, 8, encoding);
  EXPECT_FLOAT_EQ(encoding[0], std::sin(3.0f));
  EXPECT_FLOAT_EQ(encoding[4], std::cos(3.0f));
  EXPECT_FLOAT_EQ(encoding[1], static_cast<float>(std::sin(3.0 / 10.0)));  // 1e4^(-2/8) = 0.1
  EXPECT_FLOAT_EQ(encoding[5], static_cast<float>(std::cos(3.0 / 10.0)));
}

}  // namespace
}  // namespace lmc
