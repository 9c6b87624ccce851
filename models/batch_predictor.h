// What a predictor can offer beyond one session at a time (the LM compressor finds it with
// dynamic_cast): the probabilities of a whole known sequence in one call (the encoder knows its
// chunk), and sequences that advance side by side (a decoder of several chunks). Both must give
// floats bit-identical to a PredictorSession fed the same symbols, since a stream written with
// one is decoded with another.
#pragma once

#include <memory>
#include <span>

#include "common/bytes.h"

namespace lmc {

// Independent sequences stepped together: one call computes the next-symbol distribution of
// several of them with one pass over the model's weights.
class LockstepSessions {
 public:
  virtual ~LockstepSessions() = default;
  virtual int count() const = 0;
  // Writes, for each k, the distribution of sequence sequences[k]'s next symbol given what was
  // appended to it, at out[k * vocab_size ...]. Each sequence must have been appended to since
  // its previous call (a sequence is asked for each position once).
  virtual void next_probabilities(std::span<const int> sequences, std::span<float> out) = 0;
  virtual void append(int sequence, int symbol) = 0;
};

class BatchPredictor {
 public:
  virtual ~BatchPredictor() = default;
  // out (symbols.size() x vocab_size) row t = the distribution of symbols[t] given the symbols
  // before it: what a session computes one symbol at a time, bit for bit.
  virtual void sequence_probabilities(ByteView symbols, std::span<float> out) const = 0;
  virtual std::unique_ptr<LockstepSessions> new_lockstep(int count) const = 0;
  // How many sequences one lockstep decoder should serve for the most symbols per second.
  virtual int lockstep_width() const = 0;
};

}  // namespace lmc
