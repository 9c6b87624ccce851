// Binary arithmetic coding of symbols under a model's next-symbol distribution (docs/PROTOCOL.md
// section 4): 32-bit integer low/high state, carries resolved by pending (outstanding) bits,
// output padded to whole bytes.
//
// A model's float probabilities become an integer CDF in one place, CodingDistribution, which the
// encoder and the decoder share: the same floats always give the same integers, so the two sides
// can never disagree about a symbol's range.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/bytes.h"

namespace lmc {

// The floor that keeps every symbol codable: p <- (1 - 2 V eps) p + eps, eps = float32 epsilon.
inline constexpr double kProbabilityFloor = 0x1p-23;

// Integer CDF resolution: floored probabilities are quantised on a grid of 2^30. Every floored
// probability is at least 2^-23, so every symbol gets a frequency of at least 2^7, and the total
// stays at or below 2^30, below the coder's smallest range (2^30 + 2), so every symbol keeps a
// nonzero slice of any range.
inline constexpr int kFrequencyBits = 30;

// One next-symbol distribution, normalised, floored and quantised.
class CodingDistribution {
 public:
  // Replaces the distribution. `probabilities` need not sum to one; they must be finite, not
  // negative, and not all zero (std::invalid_argument otherwise: a broken model, not bad data).
  void assign(std::span<const float> probabilities);

  int size() const { return static_cast<int>(floored_.size()); }
  std::uint64_t total() const { return cumulative_.back(); }
  std::uint64_t cumulative_low(int symbol) const { return cumulative_[symbol]; }
  std::uint64_t cumulative_high(int symbol) const { return cumulative_[symbol + 1]; }

  // The floored probability: what the ideal code length -log2 p is measured against.
  double floored_probability(int symbol) const { return floored_[symbol]; }
  double ideal_bits(int symbol) const;

  // The symbol whose [low, high) holds `target` (< total()).
  int symbol_at(std::uint64_t target) const;

 private:
  std::vector<double> floored_;
  std::vector<std::uint64_t> cumulative_;  // size() + 1 entries, cumulative_[0] = 0
};

class ArithmeticEncoder {
 public:
  void encode(const CodingDistribution& distribution, int symbol);

  // Flushes the final bits, pads with zero bits to a whole byte and returns the stream.
  // The encoder is spent afterwards.
  Bytes finish();

  // Exact number of coded bits before padding (final after finish()).
  std::uint64_t bit_count() const { return bit_count_; }

 private:
  void emit_with_pending(int bit);
  void emit(int bit);

  std::uint32_t low_ = 0;
  std::uint32_t high_ = 0xFFFFFFFFu;
  std::uint64_t pending_ = 0;
  std::uint64_t bit_count_ = 0;
  Bytes out_;
  int byte_fill_ = 0;  // bits already in out_.back()
};

// Decodes a stream written by ArithmeticEncoder. Any input decodes to some symbols (reads past
// the end see zero bits, every loop is bounded); finish() then checks that the stream ended
// exactly where the encoder would have ended it, which catches most corruption and truncation.
class ArithmeticDecoder {
 public:
  explicit ArithmeticDecoder(ByteView stream);

  int decode(const CodingDistribution& distribution);

  // Throws CorruptDataError when the stream's length, final bits or padding differ from what
  // the encoder would have written for the symbols decoded so far.
  void finish() const;

 private:
  int next_bit();

  ByteView stream_;
  std::uint64_t bits_read_ = 0;
  std::uint64_t renormalisations_ = 0;
  std::uint32_t low_ = 0;
  std::uint32_t high_ = 0xFFFFFFFFu;
  std::uint32_t value_ = 0;
};

}  // namespace lmc
