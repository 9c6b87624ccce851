#include "compressors/arithmetic_coder.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/error.h"

namespace lmc {

namespace {

constexpr std::uint32_t kHalf = 1u << 31;
constexpr std::uint32_t kQuarter = 1u << 30;
constexpr std::uint32_t kThreeQuarters = kHalf + kQuarter;
constexpr std::uint64_t kFrequencyScale = std::uint64_t{1} << kFrequencyBits;

// The coder's next interval [low, high] inside the current one for the slice
// [cumulative_low, cumulative_high) of `total`. 64-bit products keep the slice proportional to
// the frequencies (no range / total truncation that would waste up to 1/64 of a bit per symbol).
struct Interval {
  std::uint32_t low;
  std::uint32_t high;
};

Interval narrow(std::uint32_t low, std::uint32_t high, const CodingDistribution& distribution,
                int symbol) {
  const std::uint64_t range = std::uint64_t{high} - low + 1;
  const std::uint64_t total = distribution.total();
  const std::uint64_t top = range * distribution.cumulative_high(symbol) / total;
  const std::uint64_t bottom = range * distribution.cumulative_low(symbol) / total;
  return {static_cast<std::uint32_t>(low + bottom), static_cast<std::uint32_t>(low + top - 1)};
}

}  // namespace

void CodingDistribution::assign(std::span<const float> probabilities) {
  const std::size_t vocab = probabilities.size();
  if (vocab == 0 || 2.0 * static_cast<double>(vocab) * kProbabilityFloor >= 1.0) {
    throw std::invalid_argument("arithmetic coder: alphabet of " + std::to_string(vocab) +
                                " symbols cannot be floored with eps = 2^-23");
  }
  // Doubles summed in index order: the result depends on the floats only, never on the caller.
  double sum = 0.0;
  for (std::size_t i = 0; i < vocab; ++i) {
    const float p = probabilities[i];
    if (!std::isfinite(p) || p < 0.0f) {
      throw std::invalid_argument("arithmetic coder: model gave probability " + std::to_string(p) +
                                  " for symbol " + std::to_string(i));
    }
    sum += p;
  }
  if (!(sum > 0.0) || !std::isfinite(sum)) {
    throw std::invalid_argument("arithmetic coder: model probabilities sum to " +
                                std::to_string(sum));
  }

  const double keep = 1.0 - 2.0 * static_cast<double>(vocab) * kProbabilityFloor;
  floored_.resize(vocab);
  cumulative_.resize(vocab + 1);
  cumulative_[0] = 0;
  for (std::size_t i = 0; i < vocab; ++i) {
    floored_[i] = keep * (static_cast<double>(probabilities[i]) / sum) + kProbabilityFloor;
    // floored >= 2^-23, so the frequency is >= 2^7: no symbol can lose its range.
    const auto frequency =
        static_cast<std::uint64_t>(floored_[i] * static_cast<double>(kFrequencyScale));
    cumulative_[i + 1] = cumulative_[i] + frequency;
  }
  // The floored probabilities sum to 1 - V eps < 1, so the total is below the grid; the coder's
  // nonzero-slice guarantee rests on that.
  if (cumulative_.back() > kFrequencyScale) {
    throw std::logic_error("arithmetic coder: quantised total exceeds 2^30");
  }
}

double CodingDistribution::ideal_bits(int symbol) const { return -std::log2(floored_[symbol]); }

int CodingDistribution::symbol_at(std::uint64_t target) const {
  // cumulative_[0] = 0 <= target < total = cumulative_.back(), so the match is an inner entry.
  const auto after = std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
  return static_cast<int>(after - cumulative_.begin()) - 1;
}

void ArithmeticEncoder::encode(const CodingDistribution& distribution, int symbol) {
  if (symbol < 0 || symbol >= distribution.size()) {
    throw std::invalid_argument("arithmetic coder: symbol " + std::to_string(symbol) +
                                " outside an alphabet of " + std::to_string(distribution.size()));
  }
  const Interval next = narrow(low_, high_, distribution, symbol);
  low_ = next.low;
  high_ = next.high;
  for (;;) {
    if (high_ < kHalf) {
      emit_with_pending(0);
    } else if (low_ >= kHalf) {
      emit_with_pending(1);
      low_ -= kHalf;
      high_ -= kHalf;
    } else if (low_ >= kQuarter && high_ < kThreeQuarters) {
      // The interval straddles the middle: the next bit is not known yet, only that the one
      // after it is its opposite.
      ++pending_;
      low_ -= kQuarter;
      high_ -= kQuarter;
    } else {
      break;
    }
    low_ <<= 1;
    high_ = (high_ << 1) | 1u;
  }
}

Bytes ArithmeticEncoder::finish() {
  // Two more bits name a quarter that lies wholly inside [low, high] (low < 1/4 <= 1/2 <= high,
  // or low < 1/2 <= 3/4 <= high), so whatever follows them - here zero padding - decodes right.
  ++pending_;
  emit_with_pending(low_ < kQuarter ? 0 : 1);
  byte_fill_ = 0;
  return std::move(out_);
}

void ArithmeticEncoder::emit_with_pending(int bit) {
  emit(bit);
  for (; pending_ > 0; --pending_) emit(bit ^ 1);
}

void ArithmeticEncoder::emit(int bit) {
  if (byte_fill_ == 0) out_.push_back(0);
  out_.back() |= static_cast<std::uint8_t>(bit << (7 - byte_fill_));
  byte_fill_ = (byte_fill_ + 1) & 7;
  ++bit_count_;
}

ArithmeticDecoder::ArithmeticDecoder(ByteView stream) : stream_(stream) {
  for (int i = 0; i < 32; ++i) value_ = (value_ << 1) | static_cast<std::uint32_t>(next_bit());
}

int ArithmeticDecoder::decode(const CodingDistribution& distribution) {
  const std::uint64_t range = std::uint64_t{high_} - low_ + 1;
  const std::uint64_t offset = std::uint64_t{value_} - low_;
  // The largest cumulative count c with low + range * c / total <= value.
  const std::uint64_t target = ((offset + 1) * distribution.total() - 1) / range;
  if (value_ < low_ || value_ > high_ || target >= distribution.total()) {
    throw CorruptDataError("arithmetic decoder: state left its interval");
  }
  const int symbol = distribution.symbol_at(target);
  const Interval next = narrow(low_, high_, distribution, symbol);
  low_ = next.low;
  high_ = next.high;
  for (;;) {
    if (high_ < kHalf) {
      // nothing to subtract
    } else if (low_ >= kHalf) {
      low_ -= kHalf;
      high_ -= kHalf;
      value_ -= kHalf;
    } else if (low_ >= kQuarter && high_ < kThreeQuarters) {
      low_ -= kQuarter;
      high_ -= kQuarter;
      value_ -= kQuarter;
    } else {
      break;
    }
    low_ <<= 1;
    high_ = (high_ << 1) | 1u;
    value_ = (value_ << 1) | static_cast<std::uint32_t>(next_bit());
    ++renormalisations_;
  }
  return symbol;
}

void ArithmeticDecoder::finish() const {
  // The encoder wrote one bit per renormalisation plus two final bits, then zero padding.
  const std::uint64_t coded_bits = renormalisations_ + 2;
  const std::uint64_t expected_bytes = (coded_bits + 7) / 8;
  if (stream_.size() != expected_bytes) {
    throw CorruptDataError("arithmetic decoder: stream has " + std::to_string(stream_.size()) +
                           " bytes, the decoded symbols account for " +
                           std::to_string(expected_bytes));
  }
  // Those final bits followed by zeros put the value exactly at the quarter the encoder chose.
  const std::uint32_t expected_value = low_ < kQuarter ? kQuarter : kHalf;
  if (value_ != expected_value) {
    throw CorruptDataError("arithmetic decoder: final bits or padding differ from the encoder's");
  }
}

int ArithmeticDecoder::next_bit() {
  const std::uint64_t index = bits_read_ / 8;
  const int shift = 7 - static_cast<int>(bits_read_ % 8);
  ++bits_read_;
  return index < stream_.size() ? (stream_[index] >> shift) & 1 : 0;
}

}  // namespace lmc
