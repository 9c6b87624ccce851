// The one interface every codec implements: classical baselines and language-model compressors.
//
// The harness drives a Compressor in two ways (docs/PROTOCOL.md section 3):
//  - chunked: compress() / decompress() on each chunk on its own;
//  - unchunked: a StreamEncoder fed every chunk in order, so a 1 GB corpus never needs a 1 GB
//    buffer for codecs that can stream; a StreamDecoder checks the result.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/mapping.h"
#include "common/options.h"

namespace lmc {

// Additive per-chunk statistics a codec may report beyond its output size (for example the LM
// compressor's ideal code length). Partial results merge by summing them, so they must be sums,
// never averages. The harness reads one key: "masked_bits", the bits a 7-bit mapping dropped,
// for the rescaling size x total_bits / (total_bits - masked_bits) (docs/PROTOCOL.md section 4).
inline constexpr const char* kMaskedBits = "masked_bits";
using Counters = std::map<std::string, double>;

// Consumes input in pieces and appends output to `out`; finish() flushes the rest.
class StreamCodec {
 public:
  virtual ~StreamCodec() = default;
  virtual void write(ByteView in, Bytes& out) = 0;
  virtual void finish(Bytes& out) = 0;
};

class Compressor {
 public:
  virtual ~Compressor() = default;

  // One self-contained compressed stream for `data`. May add to `counters`.
  virtual Bytes compress(ByteView data, Counters& counters) const = 0;
  Bytes compress(ByteView data) const {
    Counters ignored;
    return compress(data, ignored);
  }

  // Inverse of compress(). `original_size` is the chunk length known to the container (the LM
  // compressor's stream, like the paper's, does not store it). Throws CorruptDataError on
  // input that does not decode; must never hang or crash on arbitrary bytes.
  virtual Bytes decompress(ByteView compressed, std::size_t original_size) const = 0;

  // decompress() of several independent streams (the harness verifies a range's chunks in
  // groups): result i holds the bytes of compressed[i], or the message of the CorruptDataError
  // its decoding raised. The default decodes one stream after another; a codec that decodes
  // several faster together (the LM compressor: one pass over the weights per step for all of
  // them) overrides it.
  struct Decoded {
    Bytes bytes;
    std::string error;  // empty: decoded
  };
  virtual std::vector<Decoded> decompress_batch(std::span<const ByteView> compressed,
                                                std::span<const std::size_t> original_sizes) const;
  // How many streams decompress_batch decodes faster together than one by one; the harness
  // verifies chunks in groups of this size.
  virtual std::size_t decode_batch_size() const { return 1; }

  // What decompress(compress(x)) must equal: x for lossless codecs; the LM compressor codes a
  // 7-bit image of x (docs/PROTOCOL.md section 4) and overrides this.
  virtual Bytes expected_roundtrip(ByteView data) const { return Bytes(data.begin(), data.end()); }

  // Streaming variants for the unchunked mode. The defaults buffer everything and call
  // compress()/decompress(): correct for any codec, O(corpus) memory.
  virtual std::unique_ptr<StreamCodec> stream_encoder() const;
  virtual std::unique_ptr<StreamCodec> stream_decoder() const;

  // Chunked totals count a container header once (docs/PROTOCOL.md section 3); an LM compressor has
  // no header and no discount.
  virtual bool discounts_header() const { return true; }

  // False for codecs defined per chunk only (the LM compressor codes each chunk from an empty
  // context); the harness then reports no unchunked row for them.
  virtual bool supports_unchunked() const { return true; }

  // False for a compressor that only estimates its output size (the LM compressor's
  // teacher-forced "estimate" mode): the harness cannot decode it and labels its rows so.
  virtual bool verifiable() const { return true; }

  // Weights that a decoder needs, for the adjusted rate (2 bytes each). 0 for classical codecs.
  virtual std::uint64_t parameter_count() const { return 0; }

  // Everything that pins the output down: library and version, level, encoder settings.
  virtual nlohmann::json settings() const = 0;
};

// What a compressor may need to know about the corpus it runs on. The harness builds one
// Compressor per (compressor, dataset) pair.
struct CodecContext {
  std::size_t chunk_size = 2048;
  SevenBitMapping mapping = SevenBitMapping::ShiftRight;
};

// A registry entry: how `{"name": ..., "kind": ..., options...}` in a config becomes a
// Compressor. `kind` defaults to `name`.
struct CompressorKind {
  std::string name;
  std::string summary;
  std::vector<OptionSpec> options;
  std::function<std::unique_ptr<Compressor>(const Options&, const CodecContext&)> make;
  // Times a run codes each chunk unless the config says otherwise (docs/PROTOCOL.md section 9):
  // the median of three passes for a codec that takes milliseconds per chunk, one pass for a kind
  // that takes seconds (language models, programs started per chunk).
  unsigned default_repetitions = 3;
};

// Every kind this build knows: compressors/registry.cpp, or a test build's own registry.
const std::vector<CompressorKind>& compressor_kinds();

// The kind of compressor_kinds() called `name`; nullptr when there is none.
inline const CompressorKind* find_compressor_kind(std::string_view name) {
  for (const CompressorKind& kind : compressor_kinds()) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

}  // namespace lmc
