// The seam between models and the LM compressor: a next-symbol distribution given the symbols
// so far. Encoder and decoder must see bit-identical distributions, so an implementation used
// for lossless coding must be deterministic: the same symbols in give the same floats out,
// whatever the thread count or how many sessions run at once.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

namespace lmc {

// One sequence being predicted (owns its KV cache or recurrent state). Not thread-safe; each
// thread creates its own.
class PredictorSession {
 public:
  virtual ~PredictorSession() = default;
  // Probabilities of the next symbol given everything appended so far; size = vocab_size().
  // Need not be normalised exactly; the coder normalises and floors.
  virtual void next_probabilities(std::span<float> probs) = 0;
  virtual void append(int symbol) = 0;
};

// A loaded model: immutable, shared by all sessions and threads.
class Predictor {
 public:
  virtual ~Predictor() = default;
  virtual int vocab_size() const = 0;
  virtual std::uint64_t parameter_count() const = 0;
  virtual std::unique_ptr<PredictorSession> new_session() const = 0;
  // Architecture, checkpoint path and hash, for results' provenance.
  virtual nlohmann::json describe() const = 0;
};

}  // namespace lmc
