// A small deterministic Predictor for coder and LM-compressor tests: adaptive order-2 symbol
// counts with additive smoothing. Skewed on text (most symbols cost well under a bit once the
// counts warm up), flat on noise: the two regimes a coder must handle.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "models/predictor.h"

namespace lmc::test {

class Order2Session : public PredictorSession {
 public:
  explicit Order2Session(int vocab) : vocab_(vocab) {}

  void next_probabilities(std::span<float> probs) override {
    const auto it = counts_.find(context_);
    for (int s = 0; s < vocab_; ++s) {
      const std::uint32_t count = it == counts_.end() ? 0 : it->second[s];
      probs[s] = static_cast<float>(count) + kSmoothing;
    }
  }

  void append(int symbol) override {
    ++counts_[context_][symbol];
    context_ = static_cast<std::uint16_t>((context_ << 8) | symbol);
  }

 private:
  static constexpr float kSmoothing = 1.0f / 32;
  int vocab_;
  std::uint16_t context_ = 0;
  std::unordered_map<std::uint16_t, std::array<std::uint32_t, 256>> counts_;
};

class Order2Predictor : public Predictor {
 public:
  explicit Order2Predictor(int vocab = 256) : vocab_(vocab) {}
  int vocab_size() const override { return vocab_; }
  std::uint64_t parameter_count() const override { return 0; }
  std::unique_ptr<PredictorSession> new_session() const override {
    return std::make_unique<Order2Session>(vocab_);
  }
  nlohmann::json describe() const override {
    return {{"model", "adaptive order-2 counts (test)"}, {"vocab", vocab_}};
  }

 private:
  int vocab_;
};

}  // namespace lmc::test
