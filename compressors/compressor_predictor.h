// Any compressor as a generative model (docs/PROTOCOL.md section 6.5): after bytes x, the next
// byte b has probability proportional to 2^-(bits(c(x b)) - bits(c(x))), over the 256 values.
// Sampling from it with `bench generate --compressor gzip` shows what a compressor "knows".
//
// Each prediction compresses x b for all 256 values of b, so it costs 256 compressions of the
// context: fine for gzip or LZMA2 on a few kB, very slow for a language-model compressor.
#pragma once

#include <memory>
#include <string>

#include "compressors/compressor.h"
#include "models/predictor.h"

namespace lmc {

class CompressorPredictor final : public Predictor {
 public:
  CompressorPredictor(std::shared_ptr<const Compressor> compressor, std::string name);

  int vocab_size() const override { return 256; }
  std::uint64_t parameter_count() const override { return compressor_->parameter_count(); }
  std::unique_ptr<PredictorSession> new_session() const override;
  nlohmann::json describe() const override;

  const Compressor& compressor() const { return *compressor_; }

 private:
  std::shared_ptr<const Compressor> compressor_;
  std::string name_;
};

}  // namespace lmc
