// The bit-exactness contract of the byte Transformer's forward pass (transformer_predictor.h,
// step_kernels.h): a stream encoded with the blocked encoder is decoded one position at a time, or
// in lockstep with other chunks, possibly on another machine with another vector width. So the
// probabilities of all of these must agree bit for bit, for every model size and positional
// encoding.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
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
  KvCachePrecision cache = KvCachePrecision::Half;
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
  const auto predictor = load_transformer_predictor(checkpoint_, GetParam().cache);
  EXPECT_EQ(predictor->describe().at("kv_cache"), to_string(GetParam().cache));
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
  const auto reference =
      load_transformer_predictor(checkpoint_, KernelPath::Scalar, GetParam().cache);
  EXPECT_EQ(reference->describe().at("kernels"), "scalar");
  std::vector<std::vector<float>> expected;
  for (const auto& chunk : chunks_) expected.push_back(blocked_probabilities(*reference, chunk));
  for (const KernelPath path : paths) {
    const auto predictor = load_transformer_predictor(checkpoint_, path, GetParam().cache);
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
    ::testing::Values(
        ModelCase{"200K_sinusoidal", 64, 4, "sinusoidal", {2048, 2100, 777, 64, 1}},
        ModelCase{"200K_rotary", 64, 4, "rotary", {2100, 1000, 65}},
        ModelCase{"800K_sinusoidal", 128, 4, "sinusoidal", {1030, 500}},
        ModelCase{"800K_rotary", 128, 4, "rotary", {700, 129}},
        ModelCase{"3.2M_sinusoidal", 256, 8, "sinusoidal", {400, 300}},
        ModelCase{"3.2M_rotary", 256, 8, "rotary", {333, 200}},
        // The 8-bit cache: another model of the same weights, with the same contract.
        ModelCase{"200K_rotary_int8", 64, 4, "rotary", {2100, 1000, 65}, KvCachePrecision::Int8},
        ModelCase{
            "800K_sinusoidal_int8", 128, 4, "sinusoidal", {1030, 500}, KvCachePrecision::Int8},
        ModelCase{"3.2M_rotary_int8", 256, 8, "rotary", {333, 200}, KvCachePrecision::Int8}),
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

// The contract's 32-lane sum of weight(j) value(j) for j < n, written plainly: position j into
// lane j mod 32 (fused), the last group padded with zeros, then the fixed tree.
template <class Weight, class Value>
float padded_lane_sum(int n, Weight weight, Value value) {
  float lanes[32] = {};
  for (int j = 0; j < (n + 31) / 32 * 32; ++j) {
    lanes[j % 32] = std::fma(j < n ? weight(j) : 0.0f, j < n ? value(j) : 0.0f, lanes[j % 32]);
  }
  for (int width = 16; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  return lanes[0];
}

// A head's keys or values for `stride` positions (channel c's at c * stride), random halves.
std::vector<std::uint16_t> random_halves(int head_dim, std::size_t stride, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<std::uint16_t> halves(head_dim * stride);
  for (auto& h : halves) h = float_to_half_bits(normal(rng));
  return halves;
}

// The attention kernels of every path compute what the contract's plain loops compute: a score is
// one fused chain over the channels in order, then times the scale; a weighted sum of values is
// 32 fused lanes (position j into lane j mod 32, the last group padded with zeros), then the
// fixed tree. The loops here are written without any kernel, so a kernel that reads a wrong address
// or reorders a sum fails, in the one-row (decoder) and the rows (blocked encoder) kernels alike.
TEST(KernelPaths, AttentionKernelsComputeTheContractsLoops) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const int head_dim : {16, 32}) {
    for (const int n : {1, 31, 32, 127, 128, 129, 255, 256, 300, 1000, 2048}) {
      const std::size_t stride = n + 3;  // a cache's capacity: more than the positions used
      const std::vector<std::uint16_t> keys = random_halves(head_dim, stride, rng);
      const std::vector<std::uint16_t> values = random_halves(head_dim, stride, rng);
      std::vector<float> q(head_dim), weights(n);
      for (auto& x : q) x = normal(rng);
      for (auto& x : weights) x = std::abs(normal(rng)) / n;
      const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));

      std::vector<float> expected_scores(n), expected_mixed(head_dim);
      for (int j = 0; j < n; ++j) {
        float chain = 0.0f;
        for (int c = 0; c < head_dim; ++c) {
          chain = std::fma(q[c], half_bits_to_float(keys[c * stride + j]), chain);
        }
        expected_scores[j] = chain * scale;
      }
      for (int c = 0; c < head_dim; ++c) {
        expected_mixed[c] = padded_lane_sum(
            n, [&](int j) { return weights[j]; },
            [&](int j) { return half_bits_to_float(values[c * stride + j]); });
      }

      for (const KernelPath path : step_kernels::supported_paths()) {
        const auto& k = step_kernels::kernels(path);
        const std::string where = std::string(step_kernels::to_string(path)) +
                                  ", head_dim = " + std::to_string(head_dim) +
                                  ", n = " + std::to_string(n);
        std::vector<float> scores(n), mixed(head_dim);
        k.attention_scores(q.data(), keys.data(), stride, head_dim, n, scale, scores.data());
        EXPECT_EQ(first_difference(scores, expected_scores), -1) << where;
        k.dots(weights.data(), values.data(), stride, head_dim, n, mixed.data());
        EXPECT_EQ(first_difference(mixed, expected_mixed), -1) << where;

        // The blocked encoder's kernels: 5 rows over n, n - 1, ... positions.
        constexpr int kRows = 5;
        int lengths[kRows];
        for (int r = 0; r < kRows; ++r) lengths[r] = std::max(1, n - r);
        std::vector<float> rows_q(kRows * head_dim), rows_scores(kRows * n), largest(kRows);
        for (int r = 0; r < kRows; ++r)
          std::copy(q.begin(), q.end(), rows_q.begin() + r * head_dim);
        k.attention_scores_rows(rows_q.data(), head_dim, kRows, keys.data(), stride, head_dim,
                                lengths, scale, rows_scores.data(), n, largest.data());
        std::vector<float> rows_weights(kRows * n, 0.0f), rows_mixed(kRows * head_dim);
        for (int r = 0; r < kRows; ++r) {
          std::copy_n(weights.begin(), lengths[r], rows_weights.begin() + r * n);
        }
        k.dots_rows(rows_weights.data(), n, kRows, values.data(), stride, head_dim, lengths,
                    rows_mixed.data(), head_dim);
        for (int r = 0; r < kRows; ++r) {
          for (int j = 0; j < lengths[r]; ++j) {
            ASSERT_EQ(std::bit_cast<std::uint32_t>(rows_scores[r * n + j]),
                      std::bit_cast<std::uint32_t>(expected_scores[j]))
                << where << ", row " << r << ", position " << j;
          }
        }
        // Row 0 covers all n positions, so its sums are the one-row kernel's.
        for (int c = 0; c < head_dim; ++c) {
          ASSERT_EQ(std::bit_cast<std::uint32_t>(rows_mixed[c]),
                    std::bit_cast<std::uint32_t>(expected_mixed[c]))
              << where << ", channel " << c;
        }
      }
    }
  }
}

// The same for the 8-bit cache's kernels: a score is (the chain over the codes) times the
// position's key scale, times the head's scale; value sums run over the codes (the weights
// already carry the values' scales, scale_each). One row (the decoder's) and 5 (the encoder's).
TEST(KernelPaths, Int8AttentionKernelsComputeTheContractsLoops) {
  std::mt19937 rng(6);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> code(-127, 127);
  for (const int head_dim : {16, 32}) {
    for (const int n : {1, 15, 16, 17, 31, 32, 127, 129, 256, 300, 1000, 2048}) {
      const std::size_t stride = n + 3;
      std::vector<std::int8_t> keys(head_dim * stride), values(head_dim * stride);
      for (auto& k : keys) k = static_cast<std::int8_t>(code(rng));
      for (auto& v : values) v = static_cast<std::int8_t>(code(rng));
      std::vector<float> key_scales(n), value_scales(n), q(head_dim), weights(n);
      for (auto& s : key_scales) s = std::abs(normal(rng)) / 127;
      for (auto& s : value_scales) s = std::abs(normal(rng)) / 127;
      for (auto& x : q) x = normal(rng);
      for (auto& x : weights) x = std::abs(normal(rng)) / n;
      const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim)), factor = 0.75f;

      std::vector<float> expected_scores(n), expected_weights(n), expected_mixed(head_dim);
      for (int j = 0; j < n; ++j) {
        float chain = 0.0f;
        for (int c = 0; c < head_dim; ++c) chain = std::fma(q[c], keys[c * stride + j], chain);
        expected_scores[j] = (chain * key_scales[j]) * scale;
        expected_weights[j] = (weights[j] * factor) * value_scales[j];
      }
      for (int c = 0; c < head_dim; ++c) {
        expected_mixed[c] = padded_lane_sum(
            n, [&](int j) { return expected_weights[j]; },
            [&](int j) { return static_cast<float>(values[c * stride + j]); });
      }

      for (const KernelPath path : step_kernels::supported_paths()) {
        const auto& k = step_kernels::kernels(path);
        const std::string where = std::string(step_kernels::to_string(path)) +
                                  ", head_dim = " + std::to_string(head_dim) +
                                  ", n = " + std::to_string(n);
        std::vector<float> scaled = weights;
        k.scale_each(scaled.data(), n, factor, value_scales.data());
        EXPECT_EQ(first_difference(scaled, expected_weights), -1) << where;

        for (const int rows : {1, 5}) {
          int lengths[5];
          for (int r = 0; r < rows; ++r) lengths[r] = std::max(1, n - r);
          std::vector<float> rows_q(rows * head_dim), scores(rows * n), largest(rows);
          for (int r = 0; r < rows; ++r)
            std::copy(q.begin(), q.end(), rows_q.begin() + r * head_dim);
          k.attention_scores_rows_int8(rows_q.data(), head_dim, rows, keys.data(),
                                       key_scales.data(), stride, head_dim, lengths, scale,
                                       scores.data(), n, largest.data());
          std::vector<float> rows_weights(rows * n, 0.0f), mixed(rows * head_dim);
          for (int r = 0; r < rows; ++r) {
            std::copy_n(expected_weights.begin(), lengths[r], rows_weights.begin() + r * n);
          }
          k.dots_rows_int8(rows_weights.data(), n, rows, values.data(), stride, head_dim, lengths,
                           mixed.data(), head_dim);
          for (int r = 0; r < rows; ++r) {
            for (int j = 0; j < lengths[r]; ++j) {
              ASSERT_EQ(std::bit_cast<std::uint32_t>(scores[r * n + j]),
                        std::bit_cast<std::uint32_t>(expected_scores[j]))
                  << where << ", rows " << rows << ", row " << r << ", position " << j;
            }
            EXPECT_EQ(largest[r], *std::max_element(expected_scores.begin(),
                                                    expected_scores.begin() + lengths[r]))
                << where << ", row " << r;
          }
          for (int c = 0; c < head_dim; ++c) {
            ASSERT_EQ(std::bit_cast<std::uint32_t>(mixed[c]),
                      std::bit_cast<std::uint32_t>(expected_mixed[c]))
                << where << ", rows " << rows << ", channel " << c;
          }
        }
      }
    }
  }
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
      const std::vector<std::uint16_t> keys = random_halves(kHeadDim, stride, rng);
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
