#include "compressors/compressor_predictor.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lmc {

namespace {

class CompressorSession final : public PredictorSession {
 public:
  explicit CompressorSession(const Compressor& compressor) : compressor_(compressor) {}

  void next_probabilities(std::span<float> probabilities) override {
    std::vector<double> bits(256);
    context_.push_back(0);
    for (int b = 0; b < 256; ++b) {
      context_.back() = static_cast<std::uint8_t>(b);
      bits[b] = 8.0 * static_cast<double>(compressor_.compress(context_).size());
    }
    context_.pop_back();
    // bits(c(x)) is common to all b: measuring from the shortest keeps the powers in range.
    const double shortest = *std::min_element(bits.begin(), bits.end());
    for (int b = 0; b < 256; ++b) {
      probabilities[b] = static_cast<float>(std::exp2(shortest - bits[b]));
    }
  }

  void append(int symbol) override { context_.push_back(static_cast<std::uint8_t>(symbol)); }

 private:
  const Compressor& compressor_;
  Bytes context_;
};

}  // namespace

CompressorPredictor::CompressorPredictor(std::shared_ptr<const Compressor> compressor,
                                         std::string name)
    : compressor_(std::move(compressor)), name_(std::move(name)) {}

std::unique_ptr<PredictorSession> CompressorPredictor::new_session() const {
  return std::make_unique<CompressorSession>(*compressor_);
}

nlohmann::json CompressorPredictor::describe() const {
  return {{"model", "compressor as a generative model (docs/PROTOCOL.md section 6.5)"},
          {"compressor", name_},
          {"settings", compressor_->settings()},
          {"rule", "p(b | x) proportional to 2^-(bits(c(x b)) - bits(c(x)))"}};
}

}  // namespace lmc
