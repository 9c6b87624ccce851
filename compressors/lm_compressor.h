// The language-model compressor (docs/PROTOCOL.md section 4): next-symbol predictions drive the
// arithmetic coder, each chunk coded on its own from an empty context, on a 7-bit image of the
// data.
//
// Two modes:
//  - decode (default): encoder and decoder step the same deterministic incremental predictor, so
//    every chunk is decoded and compared, as a lossless compressor must be;
//  - estimate: the probabilities come from one teacher-forced forward pass per chunk (what the
//    paper's authors measured). Its floats differ from the incremental path in the last bits, so
//    the sizes are real arithmetic-coded sizes but the streams cannot be decoded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/bytes.h"
#include "common/mapping.h"
#include "compressors/compressor.h"
#include "models/predictor.h"

namespace lmc {

// The 7-bit image of a chunk and how many bits the mapping dropped: the harness rescales the
// coded size by total_bits / (total_bits - masked_bits).
struct SevenBitImage {
  Bytes symbols;
  std::uint64_t masked_bits = 0;
};

SevenBitImage map_to_seven_bits(ByteView data, SevenBitMapping mapping);

// Scores a whole sequence at once for the estimate mode: n x vocab natural-log probabilities,
// row t the distribution of symbols[t] given symbols[0..t-1].
using SequenceScorer = std::function<std::vector<float>(ByteView symbols)>;

// What the compressor reports about its model, whichever path computes the probabilities.
struct LmModelInfo {
  int vocab_size = 256;
  std::uint64_t parameter_count = 0;
  nlohmann::json description;  // architecture, checkpoint path and hash
};

class LmCompressor final : public Compressor {
 public:
  // Decode mode: lossless, every stream decodable with the same predictor.
  LmCompressor(std::shared_ptr<const Predictor> predictor, SevenBitMapping mapping);
  // Estimate mode: sizes from teacher-forced scores; streams are never decoded.
  LmCompressor(SequenceScorer scorer, LmModelInfo model, SevenBitMapping mapping);

  using Compressor::compress;
  // Adds "masked_bits", "ideal_bits" (sum of -log2 p under the floored probabilities) and
  // "coded_bits" (the coder's exact length before byte padding) to `counters`.
  Bytes compress(ByteView data, Counters& counters) const override;
  // Throws CorruptDataError when the stream is detectably corrupt (a decoded symbol outside the
  // 7-bit alphabet, a length or final bits the encoder would not have written).
  Bytes decompress(ByteView compressed, std::size_t original_size) const override;
  Bytes expected_roundtrip(ByteView data) const override;

  bool discounts_header() const override { return false; }
  bool supports_unchunked() const override { return false; }
  bool verifiable() const override { return predictor_ != nullptr; }
  std::uint64_t parameter_count() const override { return model_.parameter_count; }
  nlohmann::json settings() const override;

 private:
  struct CodedChunk {
    Bytes stream;
    std::uint64_t coded_bits = 0;
    double ideal_bits = 0;
  };
  CodedChunk encode_incrementally(ByteView symbols) const;
  CodedChunk encode_teacher_forced(ByteView symbols) const;

  std::shared_ptr<const Predictor> predictor_;  // decode mode
  SequenceScorer scorer_;                       // estimate mode
  LmModelInfo model_;
  SevenBitMapping mapping_;
};

// Registry entry: {"kind": "lm", "checkpoint": PATH, "mode": "decode" | "estimate"}.
CompressorKind lm_kind();

}  // namespace lmc
