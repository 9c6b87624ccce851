// In-context compression (docs/PROTOCOL.md section 6.4, Figure 4): the rate of the first k
// bytes of a chunk as k grows from 1 to the chunk size, averaged over a dataset's first chunks,
// for every configured compressor.
//
// Each prefix is compressed on its own, exactly as a chunk would be, so a classical codec's rate
// includes its container header (which dominates at small k, as in the paper) and a language
// model's is its arithmetic-coded size rescaled for the 7-bit mapping as in Table 1:
// size x 8k / (8k - masked bits). Sizes only: lossless verification is `bench run`'s job.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "harness/run/runner.h"

namespace lmc {

struct InContextCurve {
  std::string dataset, dataset_kind, compressor, compressor_kind;
  std::uint64_t chunks = 0;      // chunks averaged over
  std::uint64_t parameters = 0;  // > 0 for language models
  // The compressor's settings as results.json records them (model hash, KV cache, kernel path),
  // so a curve names the exact model that drew it.
  nlohmann::json settings;
  std::vector<std::size_t> prefix_bytes;
  std::vector<double> rates;  // % per prefix length
};

// 1, 2, 3, 4, 6, 8, 12, 16, ... (powers of two and 1.5 x powers of two) below `chunk_size`,
// then `chunk_size` itself.
std::vector<std::size_t> prefix_grid(std::size_t chunk_size);

// Compressed bytes of each prefix of `chunk` (grid lengths), rescaled as described above.
std::vector<double> prefix_sizes(const Compressor& compressor, ByteView chunk,
                                 std::span<const std::size_t> grid);

// The curves of every dataset x compressor of a prepared run over the first `max_chunks` chunks
// of each dataset (fewer when the dataset or the compressor's num_chunks says so). Work is spread
// over `threads`; `progress` gets one lane per compressor, a unit per chunk.
std::vector<InContextCurve> measure_in_context(const PreparedRun& run, std::uint64_t max_chunks,
                                               unsigned threads, ProgressSink* progress);

// in_context.json ("lmc-bench/in-context/1") and in_context.csv.
nlohmann::json in_context_json(const std::vector<InContextCurve>& curves, std::size_t chunk_size,
                               const nlohmann::json& provenance, const nlohmann::json& config);
std::string in_context_csv(const std::vector<InContextCurve>& curves);
// A Markdown table of the rates at a few prefix lengths, for the terminal.
std::string in_context_markdown(const std::vector<InContextCurve>& curves);

}  // namespace lmc
