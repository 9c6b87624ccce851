// A pretrained language model as a compressor (docs/PROTOCOL.md sections 4-5: Chinchilla / Llama 2
// rows): the 7-bit image of each chunk is an ASCII string, tokenised with the model's tokenizer,
// and the arithmetic coder codes the tokens with the model's next-token predictions. Under the
// identity mapping (bench compress) the chunk's bytes themselves are tokenised, all 8 bits: any
// bytes, for a tokenizer with a token for each byte value (byte fallback) whose tokens spell any
// bytes exactly (Tokenizer::any_bytes_problem).
//
// Top-k coding with an escape. As in the paper, only the top-k next-token probabilities are
// used, renormalised; unlike the paper (whose true token was always in the top 100), a token
// outside the top k stays codable:
//  - candidates are the tokens a 7-bit string can tokenise to: tokens with text, all of it
//    below 0x80 (special tokens and non-ASCII tokens never occur); under the identity mapping,
//    every token with text;
//  - the top k candidates by probability (ties: lower id first) plus one ESCAPE symbol form the
//    coded alphabet; ESCAPE's weight is the candidates' mass outside the top k, floored at
//    2^-16 of the total so it is never zero;
//  - after an ESCAPE, the token is coded uniformly over the candidates outside the top k, in id
//    order (log2(candidates - k) bits).
//
// Length: the stream holds token codes only. The decoder knows the chunk's byte length and
// stops once the decoded tokens' bytes reach it (plus the tokenizer's dummy-prefix space);
// every token carries at least one byte, so decoding is bounded.
//
// Context: each chunk starts from a fresh session (BOS when the model has one); a fixed-context
// model slides its window (SlidingContext) identically in encoder and decoder.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/bytes.h"
#include "common/mapping.h"
#include "compressors/compressor.h"
#include "models/pretrained/pretrained_model.h"

namespace lmc {

class PretrainedCompressor final : public Compressor {
 public:
  // InputError unless 1 <= top_k < number of candidate tokens and the tokenizer codes the
  // mapping's images losslessly (7-bit text, or any bytes for the identity). `estimate`: the
  // streams are never decoded (verifiable() is false); a model with window_logits (gguf) then
  // computes each window's probabilities in one batched pass instead of one token at a time.
  PretrainedCompressor(PretrainedModel model, int top_k, SevenBitMapping mapping,
                       bool estimate = false);

  using Compressor::compress;
  // Counters: "masked_bits", "tokens", "escapes", "escape_bits" (ideal bits of the escape
  // symbols and the uniform codes after them), "ideal_bits" (all tokens, -log2 of the floored
  // coded probabilities), "coded_bits" (exact coder length before padding), "window_slides".
  Bytes compress(ByteView data, Counters& counters) const override;
  // CorruptDataError when the stream decodes past the chunk's length or ends where the encoder
  // would not have ended it.
  Bytes decompress(ByteView compressed, std::size_t original_size) const override;
  Bytes expected_roundtrip(ByteView data) const override;

  bool discounts_header() const override { return false; }
  bool supports_unchunked() const override { return false; }
  bool verifiable() const override { return !estimate_; }
  std::uint64_t parameter_count() const override { return model_.predictor->parameter_count(); }
  nlohmann::json settings() const override;

  const PretrainedModel& model() const { return model_; }

 private:
  PretrainedModel model_;
  int top_k_;
  SevenBitMapping mapping_;
  bool estimate_ = false;
  bool batched_ = false;         // estimate mode through the model's window_logits
  std::vector<int> candidates_;  // ids in increasing order
};

// Registry entry: {"kind": "pretrained", "format": "llama2c" | "rwkv" | "torchscript" | "gguf",
// "checkpoint": PATH, "tokenizer": PATH (llama2c, torchscript), "top_k": 100,
// "mode": "decode" | "estimate", "threads" and "cpu_variant" (gguf)}.
CompressorKind pretrained_kind();

}  // namespace lmc
