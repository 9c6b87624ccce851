// The bit-exactness contract of the byte Transformer's forward pass (transformer_predictor.h,
// step_kernels.h): a stream encoded with the blocked encoder is decoded one position at a time, or
// in lockstep with other chunks, possibly on another machine with another vector width. So the
// probabilities of all of these must agree bit for bit, for every model size and positional
// encoding.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "compressors/random_checkpoint.h"
#include "model_test_support.h"
#include "models/batch_predictor.h"
#include "models/kernels/half.h"
#include "models/kernels/step_kernels.h"
#include "models/transformer/transformer_predictor.h"
#include "test_support.h"

namespace lmc {
namespace {

using step_kernels::KernelPath;

// Word salad over the 7-bit alphabet, with some noise: skewed but not trivial distributions.
Bytes text_like(std::size_t n, std::uint64_t seed) {
  static const char* const kWords[] = {"the ",    "of ",      "[[Anarchism]] ", "<page>\n",
                                       "{{cite ", "history ", "&quot;",         "title=\"",
                                       "1911 ",   "which "};
  std::mt19937_64 rng(seed);
  Bytes out;
  while (out.size() < n) {
    if (rng() % 8 == 0) {
      out.push_back(static_cast<std::uint8_t>(rng() % 128));
      continue;
    }
    for (const char* c = kWords[rng() % std::size(kWords)]; *c && out.size() < n; ++c) {
      out.push_back(static_cast<std::uint8_t>(*c));
    }
  }
  return out;
}

using test::incremental_probabilities;

std::vector<float> blocked_probabilities(const Predictor& predictor, ByteView symbols) {
  std::vector<float> all(symbols.size() * 256);
  dynamic_cast<const BatchPredictor&>(predictor).sequence_probabilities(symbols, all);
  return all;
}

// All chunks decoded side by side; chunks of different lengths drop out as they end.
std::vector<std::vector<float>> lockstep_probabilities(const Predictor& predictor,
                                                       const std::vector<Bytes>& chunks) {
  const int count = static_cast<int>(chunks.size());
  auto lockstep = dynamic_cast<const BatchPredictor&>(predictor).new_lockstep(count);
  std::vector<std::vector<float>> all(chunks.size());
  for (int k = 0; k < count; ++k) all[k].resize(chunks[k].size() * 256);
  std::vector<float> out;
  for (std::size_t t = 0;; ++t) {
    std::vector<int> active;
    for (int k = 0; k < count; ++k) {
      if (t < chunks[k].size()) active.push_back(k);
    }
    if (active.empty()) break;
    out.resize(active.size() * 256);
    lockstep->next_probabilities(active, out);
    for (std::size_t i = 0; i < active.size(); ++i) {
      const int k = active[i];
      std::copy_n(&out[i * 256], 256, &all[k][t * 256]);
      lockstep->append(k, chunks[k][t]);
    }
  }
  return all;
}

// Index of the first differing float, or -1.
long first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i])) {
      return static_cast<long>(i);
    }
  }
  return -1;
}

struct ModelCase {
  const char* name;
  int embedding_dim, heads;
  const char* positional;
  std::vector<std::size_t> lengths;  // of the test chunks: block boundaries and beyond 2048
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

class ForwardPaths : public ::testing::TestWithParam<ModelCase> {
 protected:
  void SetUp() override {
    const ModelCase& c = GetParam();
    TransformerShape shape;
    shape.embedding_dim = c.embedding_dim;
    shape.layers = 4;
    shape.heads = c.heads;
    shape.positional = std::string(c.positional) == "rotary" ? PositionalEncoding::Rotary
                                                             : PositionalEncoding::Sinusoidal;
    checkpoint_ = dir_.path() / "model.lmct";
    // Weights near the paper's initialisation scale, so attention is neither flat nor one-hot.
    test::write_random_checkpoint(checkpoint_, shape, 7, 1.0f / std::sqrt(float(c.embedding_dim)));
    for (std::size_t i = 0; i < c.lengths.size(); ++i) {
      chunks_.push_back(text_like(c.lengths[i], 100 + i));
    }
  }
  test::TempDir dir_;
  std::filesystem::path checkpoint_;
  std::vector<Bytes> chunks_;
};

// The encoder's blocks, a session's single positions and a lockstep decoder's rows give the
// same floats.
TEST_P(ForwardPaths, BlockedEncoderSessionAndLockstepAreBitIdentical) {
  const auto predictor = load_transformer_predictor(checkpoint_);
  const auto lockstep = lockstep_probabilities(*predictor, chunks_);
  for (std::size_t i = 0; i < chunks_.size(); ++i) {
    const auto session = incremental_probabilities(*predictor, chunks_[i]);
    EXPECT_EQ(first_difference(blocked_probabilities(*predictor, chunks_[i]), session), -1)
        << "chunk " << i << " of " << chunks_[i].size() << " bytes";
    EXPECT_EQ(first_difference(lockstep[i], session), -1) << "chunk " << i;
  }
}

// Every kernel path this CPU runs (scalar, AVX2, AVX-512) gives the same floats: a stream written
// on one x86-64 machine decodes on another.
TEST_P(ForwardPaths, EveryKernelPathIsBitIdentical) {
  const auto paths = step_kernels::supported_paths();
  RecordProperty("paths", std::to_string(paths.size()));
  const auto reference = load_transformer_predictor(checkpoint_, KernelPath::Scalar);
  EXPECT_EQ(reference->describe().at("kernels"), "scalar");
  std::vector<std::vector<float>> expected;
  for (const auto& chunk : chunks_) expected.push_back(blocked_probabilities(*reference, chunk));
  for (const KernelPath path : paths) {
    const auto predictor = load_transformer_predictor(checkpoint_, path);
    EXPECT_EQ(predictor->describe().at("kernels"), step_kernels::to_string(path));
    for (std::size_t i = 0; i < chunks_.size(); ++i) {
      EXPECT_EQ(first_difference(blocked_probabilities(*predictor, chunks_[i]), expected[i]), -1)
          << step_kernels::to_string(path) << ", chunk " << i;
    }
    // The one-position step of each path too, on a prefix (the scalar path is slow).
    const Bytes prefix(chunks_[0].begin(), chunks_[0].begin() + 300);
    EXPECT_EQ(
        first_difference(incremental_probabilities(*predictor, prefix),
                         std::vector<float>(expected[0].begin(), expected[0].begin() + 300 * 256)),
        -1)
        << step_kernels::to_string(path);
  }
}

INSTANTIATE_TEST_SUITE_P(
    PaperSizes, ForwardPaths,
    ::testing::Values(ModelCase{"200K_sinusoidal", 64, 4, "sinusoidal", {2048, 2100, 777, 64, 1}},
                      ModelCase{"200K_rotary", 64, 4, "rotary", {2100, 1000, 65}},
                      ModelCase{"800K_sinusoidal", 128, 4, "sinusoidal", {1030, 500}},
                      ModelCase{"800K_rotary", 128, 4, "rotary", {700, 129}},
                      ModelCase{"3.2M_sinusoidal", 256, 8, "sinusoidal", {400, 300}},
                      ModelCase{"3.2M_rotary", 256, 8, "rotary", {333, 200}}),
    [](const auto& info) {
      std::string name = info.param.name;
      for (auto& c : name) c = c == '.' ? '_' : c;
      return name;
    });

TEST(KernelPaths, DispatchFollowsTheEnvironmentAndRefusesWhatItCannotRun) {
  EXPECT_EQ(step_kernels::supported_paths().front(), KernelPath::Scalar);
  EXPECT_EQ(step_kernels::parse_kernel_path("avx2"), KernelPath::Avx2);
  EXPECT_FALSE(step_kernels::parse_kernel_path("sse9").has_value());
  const char* saved = std::getenv("LMC_STEP_KERNELS");
  const std::string previous = saved ? saved : "";
  setenv("LMC_STEP_KERNELS", "scalar", 1);
  EXPECT_EQ(step_kernels::default_kernel_path(), KernelPath::Scalar);
  setenv("LMC_STEP_KERNELS", "sse9", 1);
  EXPECT_THROW(step_kernels::default_kernel_path(), std::invalid_argument);
  unsetenv("LMC_STEP_KERNELS");
  EXPECT_EQ(step_kernels::default_kernel_path(), step_kernels::supported_paths().back());
  if (saved) setenv("LMC_STEP_KERNELS", previous.c_str(), 1);
}

// The fused softmax passes (the scores' maximum taken while they are written, exponentials summed
// while they are written) compute what separate passes would, in every path, bit for bit.
TEST(KernelPaths, FusedSoftmaxPassesMatchSeparatePasses) {
  const auto& scalar = step_kernels::scalar_kernels();
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  constexpr int kHeadDim = 16;
  for (const KernelPath path : step_kernels::supported_paths()) {
    const auto& k = step_kernels::kernels(path);
    for (int n : {1, 7, 16, 31, 32, 33, 100, 128, 129, 300, 1000}) {
      const std::size_t stride = n + 5;
      std::vector<std::uint16_t> keys(kHeadDim * stride);
      for (auto& key : keys) key = float_to_half_bits(normal(rng));
      std::vector<float> q(kHeadDim);
      for (auto& x : q) x = normal(rng);
      std::vector<float> expected(n), scores(n);
      const float expected_max = scalar.attention_scores(q.data(), keys.data(), stride, kHeadDim, n,
                                                         0.25f, expected.data());
      const float largest =
          k.attention_scores(q.data(), keys.data(), stride, kHeadDim, n, 0.25f, scores.data());
      EXPECT_EQ(first_difference(scores, expected), -1)
          << step_kernels::to_string(path) << ", n = " << n;
      EXPECT_EQ(largest, *std::max_element(scores.begin(), scores.end()));
      EXPECT_EQ(largest, expected_max);

      std::vector<float> exps = scores;
      const float total = k.exp_sum(exps.data(), n, largest);
      const float expected_total = scalar.exp_sum(expected.data(), n, expected_max);
      EXPECT_EQ(first_difference(exps, expected), -1)
          << step_kernels::to_string(path) << ", n = " << n;
      EXPECT_EQ(std::bit_cast<std::uint32_t>(total), std::bit_cast<std::uint32_t>(expected_total));
      EXPECT_EQ(std::bit_cast<std::uint32_t>(total),
                std::bit_cast<std::uint32_t>(k.sum(exps.data(), n)));

      k.scale(exps.data(), n, 1.0f / total);
      for (int i = 0; i < n; ++i) expected[i] *= 1.0f / expected_total;
      EXPECT_EQ(first_difference(exps, expected), -1)
          << step_kernels::to_string(path) << ", n = " << n;
    }
  }
}

}  // namespace
}  // namespace lmc
