// The language-model compressor (docs/PROTOCOL.md section 4): next-symbol predictions drive the
// arithmetic coder, each chunk coded on its own from an empty context, on a 7-bit image of the
// data.
//
// Two modes:
//  - decode (default): encoder and decoder use the same deterministic predictor, so every chunk
//    is decoded and compared, as a lossless compressor must be. A predictor that implements
//    BatchPredictor (the byte Transformer) encodes each chunk with its blocked forward pass and
//    decodes several chunks in lockstep (decompress_batch), both bit-identical to its one-position
//    sessions;
//  - estimate: the same encoder, never decoded (its sizes equal the decoded ones), or the sizes of
//    any SequenceScorer's probabilities (a teacher-forced forward pass), which cannot be decoded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/bytes.h"
#include "common/mapping.h"
#include "compressors/compressor.h"
#include "models/batch_predictor.h"
#include "models/predictor.h"
#include "models/transformer/transformer_predictor.h"

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
  // Decode mode: lossless, every stream decodable with the same predictor. With verify = false
  // (estimate mode) the streams are the same but the harness does not decode them.
  LmCompressor(std::shared_ptr<const Predictor> predictor, SevenBitMapping mapping,
               bool verify = true);
  // Estimate mode: sizes from teacher-forced scores; streams are never decoded.
  LmCompressor(SequenceScorer scorer, LmModelInfo model, SevenBitMapping mapping);

  using Compressor::compress;
  // Adds "masked_bits", "ideal_bits" (sum of -log2 p under the floored probabilities) and
  // "coded_bits" (the coder's exact length before byte padding) to `counters`.
  Bytes compress(ByteView data, Counters& counters) const override;
  // Throws CorruptDataError when the stream is detectably corrupt (a decoded symbol outside the
  // 7-bit alphabet, a length or final bits the encoder would not have written).
  Bytes decompress(ByteView compressed, std::size_t original_size) const override;
  // The chunks decoded in lockstep when the predictor is a BatchPredictor.
  std::vector<Decoded> decompress_batch(std::span<const ByteView> compressed,
                                        std::span<const std::size_t> original_sizes) const override;
  // The predictor's lockstep width: the chunks the harness hands to decompress_batch at once.
  std::size_t decode_batch_size() const override {
    return batch_ ? static_cast<std::size_t>(batch_->lockstep_width()) : 1;
  }
  Bytes expected_roundtrip(ByteView data) const override;

  bool discounts_header() const override { return false; }
  bool supports_unchunked() const override { return false; }
  bool verifiable() const override { return predictor_ != nullptr && verify_; }
  std::uint64_t parameter_count() const override { return model_.parameter_count; }
  nlohmann::json settings() const override;

 private:
  struct CodedChunk {
    Bytes stream;
    std::uint64_t coded_bits = 0;
    double ideal_bits = 0;
  };
  CodedChunk encode_incrementally(ByteView symbols) const;
  CodedChunk encode_blocked(ByteView symbols) const;
  CodedChunk encode_teacher_forced(ByteView symbols) const;

  std::shared_ptr<const Predictor> predictor_;  // decode mode
  const BatchPredictor* batch_ = nullptr;       // predictor_'s blocked and lockstep passes
  bool verify_ = true;
  SequenceScorer scorer_;  // estimate mode
  LmModelInfo model_;
  SevenBitMapping mapping_;
};

// Registry entry: {"kind": "lm", "checkpoint": PATH, "mode": "decode" | "estimate", "kv_cache":
// "binary16" | "int8"}. Both modes code with the byte Transformer's hand-written forward pass;
// estimate skips verification.
CompressorKind lm_kind();

// A byte Transformer checkpoint as a predictor. InputError naming the file for a tokenized one
// (vocabulary other than the 256 bytes): the "pretrained" compressor codes those ("lmct").
std::unique_ptr<const Predictor> load_byte_transformer(
    const std::filesystem::path& checkpoint, KvCachePrecision precision = KvCachePrecision::Half);

}  // namespace lmc
