// Saved streams (docs/PROTOCOL.md section 8): what the stream container's header says about the
// compressor and the data, how a decoder rebuilds the compressor from it through the registry
// (checking the model file's hash and the kernel contract), and the decoding of every stream on
// all cores with each chunk's checksum checked. `bench run --save-compressed`, `bench decode`,
// `bench compress` and `bench decompress` share it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/mapping.h"
#include "compressors/compressor.h"
#include "compressors/stream_container.h"
#include "harness/run/config.h"
#include "harness/run/runner.h"

namespace lmc {

// The header for streams of `compressor` (built from `entry`) over chunks of `chunk_size` bytes
// with `mapping`; `data` says where the originals come from (a dataset's provenance and chunk
// range, or a file).
nlohmann::json saved_stream_header(const CompressorEntry& entry, const Compressor& compressor,
                                   std::size_t chunk_size, SevenBitMapping mapping,
                                   nlohmann::json data);

// The hashes of the model files (checkpoint, tokenizer) that decide a compressor's probabilities:
// every "...fnv1a64" value of its settings, by key path ("model.checkpoint_fnv1a64").
std::map<std::string, std::string> model_file_hashes(const nlohmann::json& settings);

// The model files among a compressor's options: its non-empty Path options.
std::vector<std::string> model_path_options(const CompressorKind& kind,
                                            const nlohmann::json& options);

// "enwiki__lm-200k.lmcs": one file per row, from names made safe for a file system.
std::string saved_stream_file_name(const std::string& dataset, const std::string& compressor);

// The compressor a header describes, rebuilt. `models`: model files the user named (--model)
// for recorded ones that moved; a recorded model file is replaced by the one with the same file
// name, or by the only one given. InputError naming the container for an unknown kind, a missing
// model file, a model whose hash differs from the recorded one (the wrong model), or a kernel
// contract this build does not implement.
struct RebuiltCompressor {
  std::unique_ptr<Compressor> compressor;
  std::string name;
  std::size_t chunk_size = 0;
  SevenBitMapping mapping = SevenBitMapping::ShiftRight;
};
RebuiltCompressor rebuild_compressor(const StreamContainerReader& container,
                                     const std::vector<std::filesystem::path>& models);

// Decodes every chunk of `container` on `threads` threads, in groups of the compressor's
// decode_batch_size, checks each one's length and checksum, and hands it to `check` (any thread,
// any order; chunk index and decoded bytes). RoundTripError naming the container and the chunk
// when a chunk does not decode or decodes to other bytes than were coded.
using DecodedChunkCheck = std::function<void(std::uint64_t chunk, const Bytes& decoded)>;
void decode_container(const StreamContainerReader& container, const Compressor& compressor,
                      unsigned threads, ProgressSink* progress, const DecodedChunkCheck& check);

}  // namespace lmc
