// Evaluation of every compressor on every dataset of a config (docs/PROTOCOL.md section 3):
// chunked (each chunk on its own, split into ranges of chunks over threads) and unchunked (one
// stream over all chunks), verifying every compressed chunk by decoding it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "compressors/compressor.h"
#include "datasets/dataset.h"
#include "harness/run/accounting.h"
#include "harness/run/config.h"

namespace lmc {

// A decoded chunk differs from its input, or does not decode. Exit code 3.
class RoundTripError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The run was stopped (Ctrl-C, SIGTERM) before it finished; its finished work is in the journal.
class RunInterrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RunJournal;

// Thread-safe sink for progress. Units are chunk x compressor evaluations, counted on lanes:
// one lane per compressor and mode, whose units cost about the same. A language model's chunk
// costs 10^5 times a gzip chunk, so only per-lane speeds give an honest time left.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // lane_units[l]: the units lane l will report.
  virtual void start(std::span<const std::uint64_t> lane_units, std::uint64_t total_bytes) = 0;
  // `seconds`: CPU time the units took (compress plus verify).
  virtual void advance(std::size_t lane, std::uint64_t units, std::uint64_t bytes,
                       double seconds) = 0;
  virtual void finish() = 0;
};

// A dataset and its compressors, built and checked before any work starts.
struct PreparedDataset {
  const DatasetEntry* entry;
  std::unique_ptr<Dataset> dataset;
  std::uint64_t available_chunks = 0;
  std::uint64_t chunks = 0;                              // min(available, num_chunks)
  std::vector<std::unique_ptr<Compressor>> compressors;  // one per config compressor entry
};

struct PreparedRun {
  const RunConfig* config;
  std::vector<PreparedDataset> datasets;
};

// Builds every dataset and compressor; throws InputError (naming the key path) when data is
// missing or an option is wrong. Does no compression work.
PreparedRun prepare_run(const RunConfig& config);

struct RowResult {
  std::string dataset;
  std::string compressor;
  std::string dataset_kind;
  std::string compressor_kind;
  Mode mode;
  std::size_t chunk_size = 0;
  std::uint64_t requested_chunks = 0;  // 0 = all
  std::uint64_t available_chunks = 0;
  std::uint64_t dataset_chunks = 0;  // chunks the dataset contributes (a compressor may cap)
  bool verified = false;             // verification ran (and passed: failures abort the run)
  bool decodable = true;             // false for estimate-only compressors
  PartialResult totals;
  AccountingRule rule;
  Rates rates;
  nlohmann::json settings;
};

struct RunOptions {
  bool verify = true;
  // Measure each row's peak memory in its first window, run alone (harness/run/resident_memory.h).
  bool peak_memory = true;
  unsigned threads = 1;
  ProgressSink* progress = nullptr;
  // Records each finished piece of work, and holds those of an earlier attempt (resume), which
  // are merged instead of evaluated again. nullptr: no journal.
  RunJournal* journal = nullptr;
  // Set (by a signal handler, say) to stop the run: the pieces in flight finish their current
  // chunk, then execute_run throws RunInterrupted. Errors set it too.
  std::atomic<bool>* interrupt = nullptr;
  // Several processes (MPI ranks) share a run: the pieces of work are numbered in the same order
  // in each, and this one evaluates pieces shard, shard + shards, ... Its rows then hold only its
  // own partial totals (plus, in shard 0, what the journal already had), to be summed across
  // shards before the rates mean anything.
  std::size_t shard = 0;
  std::size_t shards = 1;
  // With a journal, a range of chunks is saved at least this often (slow models take minutes per
  // chunk: a kill then loses at most this much work per thread).
  std::chrono::milliseconds journal_interval{60'000};
  std::function<void(const std::string&)> log = [](const std::string&) {};
  // Receives every compressed chunk of the chunked rows (row index in plan_rows order, chunk
  // index, the chunk, its stream), from any thread, in any order. Empty: nothing is kept.
  std::function<void(std::size_t row, std::uint64_t chunk, ByteView original, ByteView compressed)>
      save_compressed;
};

std::vector<RowResult> execute_run(const PreparedRun& run, const RunOptions& options);

// One row of a run, before any work: a dataset, a compressor (indices into the prepared run), a
// mode, and the chunks the row covers (the dataset's, capped by the compressor's num_chunks).
struct PlannedRow {
  std::size_t dataset = 0;
  std::size_t compressor = 0;
  Mode mode = Mode::Chunked;
  std::uint64_t chunks = 0;
  unsigned repetitions = 1;  // passes over each chunk (repetitions_of)
};

// The rows execute_run evaluates, in table order: per dataset, per mode, per compressor.
// Compressors that cannot stream get no unchunked row; `log` says so.
std::vector<PlannedRow> plan_rows(const PreparedRun& run,
                                  const std::function<void(const std::string&)>& log = {});

// --- The seams a distributed or resumable runner builds on -------------------------------

struct ChunkRange {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
};

// Splits [0, chunks) into consecutive ranges of at most `range_size` chunks.
std::vector<ChunkRange> split_into_ranges(std::uint64_t chunks, std::uint64_t range_size);

class MemoryWindows;

// The rows a range of chunks is evaluated for: names for messages, and per compressor its
// progress lane and repetitions.
struct EvaluationRows {
  std::string dataset{};
  std::vector<std::string> compressors{};
  std::vector<std::size_t> progress_lanes{};  // one per compressor; empty: all on lane 0
  std::vector<unsigned> repetitions{};        // one per compressor; empty: 1 each
  // Measures each row's first window (its first group of chunks); nullptr: nothing is measured.
  MemoryWindows* memory = nullptr;
};

// Chunked evaluation of one range: the chunks are read once and given to every compressor.
// Returns one partial per compressor. Throws RoundTripError naming compressor, dataset, chunk.
//
// Each compressor codes each chunk as many times as its repetitions say, each pass timed on its
// own; the streams of every pass must be byte-identical (RoundTripError otherwise: the codec is
// not deterministic), and every pass's decoding is verified. Counters count the first pass.
//
// With a `checkpoint`, a long range is saved in pieces: at most every `interval`, save() gets the
// chunks finished since the last piece with their partials, and evaluation goes on with fresh
// partials; the returned partials then cover only the chunks after the last piece.
//
// With a `saver`, every compressed chunk is handed to it (compressor index, chunk index, the
// chunk, its compressed stream) once it is verified: `bench run --save-compressed`.
struct RangeCheckpoint {
  std::chrono::milliseconds interval{60'000};
  std::function<void(ChunkRange done, const std::vector<PartialResult>& partials)> save;
};
using CompressedChunkSaver = std::function<void(std::size_t compressor, std::uint64_t chunk,
                                                ByteView original, ByteView compressed)>;
std::vector<PartialResult> evaluate_range(const Dataset& dataset, ChunkRange range,
                                          std::span<const Compressor* const> compressors,
                                          const EvaluationRows& rows, bool verify,
                                          ProgressSink* progress, const std::atomic<bool>* stop,
                                          const RangeCheckpoint* checkpoint = nullptr,
                                          const CompressedChunkSaver* saver = nullptr);

// Unchunked evaluation: chunks [0, chunks) as one stream, decoded alongside and compared, so
// memory stays bounded for streaming codecs. With repetitions, the whole stream is coded again,
// each pass timed on its own and its stream compared with the first's (length and FNV-1a 64);
// the row's first window in `memory` (its first pass, when not nullptr) measures its peak memory.
// Stopped before its last chunk, it returns what it read with the stream left unfinished
// (result.chunks < chunks): no result to keep.
struct StreamRow {
  std::string dataset{};
  std::string compressor{};
  std::size_t progress_lane = 0;
  unsigned repetitions = 1;
  MemoryWindows* memory = nullptr;
};
PartialResult evaluate_unchunked(const Dataset& dataset, std::uint64_t chunks,
                                 const Compressor& compressor, const StreamRow& row, bool verify,
                                 ProgressSink* progress, const std::atomic<bool>* stop);

}  // namespace lmc
