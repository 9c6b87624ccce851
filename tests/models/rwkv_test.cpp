// rwkv.cpp model files (RWKV-4 and v5.2) against rwkv.cpp's own expected logits.
#include "models/pretrained/rwkv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "models/sampling.h"
#include "test_support.h"

namespace lmc {
namespace {

const char* const kModelDir = "models/tiny-rwkv";

std::filesystem::path model_file(const std::string& name) {
  return test::shared_data() / kModelDir / name;
}

std::vector<float> expected_logits(const std::string& name) {
  std::ifstream in(model_file(name), std::ios::binary);
  std::vector<float> logits(256);
  in.read(reinterpret_cast<char*>(logits.data()), 256 * sizeof(float));
  EXPECT_EQ(in.gcount(), 1024);
  return logits;
}

struct Golden {
  const char* model;
  const char* logits;
  RwkvPredictor::Version version;
  std::uint64_t parameters;
};

class RwkvGolden : public testing::TestWithParam<Golden> {};

TEST_P(RwkvGolden, LogitsAfterQuoteINMatchRwkvCpp) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const Golden& golden = GetParam();
  const auto model = RwkvPredictor::load(model_file(golden.model));
  EXPECT_EQ(model->version(), golden.version);
  EXPECT_EQ(model->vocab_size(), 256);
  EXPECT_EQ(model->parameter_count(), golden.parameters);
  const std::vector<int> tokens = {'"', 'i', 'n'};
  const std::vector<float> logits = model->logits_after(tokens);
  const std::vector<float> expected = expected_logits(golden.logits);
  ASSERT_EQ(logits.size(), expected.size());
  for (std::size_t i = 0; i < logits.size(); ++i) {
    EXPECT_NEAR(logits[i], expected[i], 1e-4) << "logit " << i;
  }
}

TEST_P(RwkvGolden, SessionsAreDeterministicAndStartUniform) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  const auto model = RwkvPredictor::load(model_file(GetParam().model));
  auto a = model->new_session();
  auto b = model->new_session();
  std::vector<float> pa(256), pb(256);
  a->next_probabilities(pa);
  for (float p : pa) EXPECT_FLOAT_EQ(p, 1.0f / 256);
  const std::string text = "<page>\n  <title>AccessibleComputing</title>";
  for (char c : text) {
    a->append(static_cast<unsigned char>(c));
    b->append(static_cast<unsigned char>(c));
  }
  a->next_probabilities(pa);
  b->next_probabilities(pb);
  EXPECT_EQ(pa, pb);  // bit for bit
  double sum = 0;
  for (float p : pa) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-4);
  EXPECT_THROW(a->append(256), std::out_of_range);
}

INSTANTIATE_TEST_SUITE_P(
    TinyModels, RwkvGolden,
    testing::Values(Golden{"tiny-rwkv-4v0-660K-FP32.bin", "expected-logits-4v0-660K.bin",
                           RwkvPredictor::Version::V4, 661504},
                    Golden{"tiny-rwkv-5v2-730K-FP32.bin", "expected-logits-5v2-730K.bin",
                           RwkvPredictor::Version::V5_2, 731904}));

TEST(Rwkv, DamagedFilesAreInputErrorsNamingTheFile) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  test::TempDir dir;
  std::ifstream in(model_file("tiny-rwkv-5v2-730K-FP32.bin"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto write = [&](const std::string& name, const std::string& content) {
    const auto path = dir.path() / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  };
  const auto expect_error = [](const std::filesystem::path& path, const std::string& phrase) {
    try {
      RwkvPredictor::load(path);
      ADD_FAILURE() << path << " loaded";
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path.filename().string()), std::string::npos) << message;
      EXPECT_NE(message.find(phrase), std::string::npos) << message;
    }
  };
  expect_error(write("cut.bin", bytes.substr(0, bytes.size() - 100)), "truncated");
  expect_error(write("header-only.bin", bytes.substr(0, 10)), "truncated");
  std::string foreign = bytes;
  foreign[0] = 'X';
  expect_error(write("magic.bin", foreign), "magic");
  std::string version = bytes;
  version[4] = 99;  // version 99
  expect_error(write("version.bin", version), "version");
  expect_error(write("missing.bin", bytes.substr(0, 24)), "missing");
}

TEST(Rwkv, GeneratesBytesGreedily) {
  LMC_REQUIRE_SHARED_DATA(kModelDir);
  GenerateArgs args;
  args.model = model_file("tiny-rwkv-5v2-730K-FP32.bin").string();
  args.prompt = "\"in";
  args.tokens = 20;
  std::ostringstream out;
  generate_command(args, out);
  EXPECT_EQ(out.str().size(), 3u + 20u + 1u);  // prompt, 20 bytes, newline
  EXPECT_EQ(out.str().rfind("\"in", 0), 0u);
  args.tokenizer = "tok512.bin";
  EXPECT_THROW(generate_command(args, out), InputError);  // byte models take no tokenizer
}

}  // namespace
}  // namespace lmc
