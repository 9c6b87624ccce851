#include "harness/run/runner.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/error.h"
#include "common/hash.h"
#include "harness/run/journal.h"
#include "harness/run/resident_memory.h"
#include "harness/run/task_pool.h"

namespace lmc {

namespace {

// Datasets that never run out (random) report this many chunks or more; they need num_chunks.
constexpr std::uint64_t kUnboundedChunks = std::uint64_t{1} << 40;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Times one call and adds its duration to `total`.
template <typename F>
auto timed(double& total, F&& f) {
  const auto start = std::chrono::steady_clock::now();
  if constexpr (std::is_void_v<decltype(f())>) {
    f();
    total += seconds_since(start);
  } else {
    auto result = f();
    total += seconds_since(start);
    return result;
  }
}

std::string chunk_label(const std::string& compressor, const std::string& dataset,
                        std::uint64_t chunk) {
  return "compressor '" + compressor + "' on dataset '" + dataset + "', chunk " +
         std::to_string(chunk);
}

bool stopped(const std::atomic<bool>* stop) { return stop != nullptr && stop->load(); }

// Decodes a group of compressed chunks in one decompress_batch call, timed into `seconds`, and
// compares each with what the round trip must give; the first failure throws RoundTripError
// naming its chunk.
void verify_group(const Compressor& compressor, const std::vector<Bytes>& chunks,
                  const std::vector<Bytes>& compressed, double& seconds,
                  const std::string& compressor_name, const std::string& dataset_name,
                  std::uint64_t first_index) {
  std::vector<ByteView> streams(compressed.begin(), compressed.end());
  std::vector<std::size_t> sizes;
  for (const auto& chunk : chunks) sizes.push_back(chunk.size());
  const auto decoded = timed(seconds, [&] { return compressor.decompress_batch(streams, sizes); });
  for (std::size_t g = 0; g < chunks.size(); ++g) {
    const std::string what = chunk_label(compressor_name, dataset_name, first_index + g);
    if (!decoded[g].error.empty()) {
      throw RoundTripError("round trip failed: " + what + ": decoding failed: " + decoded[g].error);
    }
    if (decoded[g].bytes != compressor.expected_roundtrip(chunks[g])) {
      throw RoundTripError("round trip failed: " + what +
                           ": decoded bytes differ from the input (" +
                           std::to_string(decoded[g].bytes.size()) + " bytes decoded)");
    }
  }
}

// A codec whose passes over the same input differ is not deterministic: a finding, never noise.
[[noreturn]] void throw_nondeterministic(const std::string& what, unsigned pass,
                                         unsigned repetitions, ByteView first, ByteView again) {
  const auto differ = std::mismatch(first.begin(), first.end(), again.begin(), again.end());
  throw RoundTripError("not deterministic: " + what + ": pass " + std::to_string(pass + 1) +
                       " of " + std::to_string(repetitions) + " gave " +
                       std::to_string(again.size()) + " bytes, pass 1 gave " +
                       std::to_string(first.size()) + ", first difference at byte " +
                       std::to_string(differ.first - first.begin()));
}

// Compresses each chunk of a group once per repetition, back to back, pass r timed into
// partial.compress_seconds.passes[r]; every pass must give the first pass's bytes. Counters and
// sizes count the first pass.
void compress_group(const Compressor& compressor, const std::vector<Bytes>& chunks,
                    std::vector<Bytes>& compressed, PartialResult& partial,
                    const std::string& compressor_name, const std::string& dataset_name,
                    std::uint64_t first_index) {
  std::vector<double>& passes = partial.compress_seconds.passes;
  const auto repetitions = static_cast<unsigned>(passes.size());
  compressed.resize(chunks.size());
  Counters uncounted;
  for (std::size_t g = 0; g < chunks.size(); ++g) {
    compressed[g] =
        timed(passes[0], [&] { return compressor.compress(chunks[g], partial.counters); });
    for (unsigned r = 1; r < repetitions; ++r) {
      const Bytes again =
          timed(passes[r], [&] { return compressor.compress(chunks[g], uncounted); });
      if (again != compressed[g]) {
        throw_nondeterministic(chunk_label(compressor_name, dataset_name, first_index + g), r,
                               repetitions, compressed[g], again);
      }
    }
    partial.chunks += 1;
    partial.raw_bytes += chunks[g].size();
    partial.compressed_bytes += compressed[g].size();
  }
}

// Zero totals for each compressor of a range, with one pass per repetition.
std::vector<PartialResult> empty_partials(const EvaluationRows& rows, std::size_t compressors) {
  std::vector<PartialResult> partials(compressors);
  for (std::size_t c = 0; c < compressors; ++c) {
    const unsigned repetitions = rows.repetitions.empty() ? 1 : std::max(1u, rows.repetitions[c]);
    partials[c].compress_seconds = RepeatedSeconds::zeros(repetitions);
    partials[c].decompress_seconds = RepeatedSeconds::zeros(repetitions);
  }
  return partials;
}

// Runs `work` as a window of `row` in `memory` (when there is one), keeping what it measured.
template <typename Work>
void in_memory_window(MemoryWindows* memory, const std::string& row, PartialResult& partial,
                      Work&& work) {
  if (memory == nullptr) {
    work();
    return;
  }
  const WindowPeak peak = memory->run(row, work);
  partial.peak_rss_bytes = std::max(partial.peak_rss_bytes, peak.peak_bytes);
  partial.peak_rss_growth_bytes = std::max(partial.peak_rss_growth_bytes, peak.growth_bytes);
}

// A row's name among the windows of a run.
std::string window_row(const std::string& dataset, const std::string& compressor, Mode mode) {
  return dataset + " / " + compressor + " / " + std::string(to_string(mode));
}

}  // namespace

PreparedRun prepare_run(const RunConfig& config) {
  PreparedRun run{&config, {}};
  for (const auto& entry : config.datasets) {
    PreparedDataset prepared;
    prepared.entry = &entry;
    prepared.dataset = find_dataset_kind(entry.kind)->make(entry.options, config.chunk_size);
    prepared.available_chunks = prepared.dataset->available_chunks();
    if (!entry.num_chunks && prepared.available_chunks >= kUnboundedChunks) {
      throw InputError(entry.key_path + ".num_chunks: required for dataset kind '" + entry.kind +
                       "', which has no natural end");
    }
    prepared.chunks =
        std::min(prepared.available_chunks, entry.num_chunks.value_or(prepared.available_chunks));
    if (prepared.chunks == 0) {
      throw InputError(entry.key_path + ": holds no complete chunk of " +
                       std::to_string(config.chunk_size) + " bytes");
    }
    const CodecContext context{config.chunk_size, entry.mapping};
    for (const auto& compressor : config.compressors) {
      prepared.compressors.push_back(
          find_compressor_kind(compressor.kind)->make(compressor.options, context));
    }
    run.datasets.push_back(std::move(prepared));
  }
  return run;
}

std::vector<ChunkRange> split_into_ranges(std::uint64_t chunks, std::uint64_t range_size) {
  std::vector<ChunkRange> ranges;
  range_size = std::max<std::uint64_t>(1, range_size);
  for (std::uint64_t first = 0; first < chunks; first += range_size) {
    ranges.push_back({first, std::min(range_size, chunks - first)});
  }
  return ranges;
}

std::vector<PartialResult> evaluate_range(const Dataset& dataset, ChunkRange range,
                                          std::span<const Compressor* const> compressors,
                                          const EvaluationRows& rows, bool verify,
                                          ProgressSink* progress, const std::atomic<bool>* stop,
                                          const RangeCheckpoint* checkpoint,
                                          const CompressedChunkSaver* saver) {
  std::vector<PartialResult> partials = empty_partials(rows, compressors.size());
  std::uint64_t piece_first = range.first;
  auto piece_started = std::chrono::steady_clock::now();
  auto reader = dataset.open(range.first);
  // Chunks are compressed, then verified, in groups of the largest batch any compressor decodes
  // faster together (the LM compressor's lockstep decoder); 1 for classical codecs.
  std::uint64_t batch = 1;
  for (const Compressor* compressor : compressors) {
    batch = std::max<std::uint64_t>(batch, compressor->decode_batch_size());
  }
  std::vector<Bytes> chunks;
  std::vector<Bytes> compressed;
  for (std::uint64_t i = 0; i < range.count && !stopped(stop);) {
    const std::uint64_t group = std::min(batch, range.count - i);
    chunks.resize(group, Bytes(dataset.chunk_size()));
    for (std::uint64_t g = 0; g < group; ++g) {
      if (!reader->next(chunks[g])) {
        throw InputError("dataset '" + rows.dataset + "' ended at chunk " +
                         std::to_string(range.first + i + g) + ", before the " +
                         std::to_string(range.first + range.count) + " chunks it announced");
      }
    }
    for (std::size_t c = 0; c < compressors.size(); ++c) {
      const Compressor& compressor = *compressors[c];
      PartialResult& partial = partials[c];
      const double seconds_before =
          partial.compress_seconds.total() + partial.decompress_seconds.total();
      const std::string row = window_row(rows.dataset, rows.compressors[c], Mode::Chunked);
      in_memory_window(rows.memory, row, partial, [&] {
        compress_group(compressor, chunks, compressed, partial, rows.compressors[c], rows.dataset,
                       range.first + i);
        if (!verify || !compressor.verifiable()) return;
        for (double& seconds : partial.decompress_seconds.passes) {
          verify_group(compressor, chunks, compressed, seconds, rows.compressors[c], rows.dataset,
                       range.first + i);
        }
        partial.verified_chunks += group;
      });
      if (saver != nullptr) {
        for (std::uint64_t g = 0; g < group; ++g) {
          (*saver)(c, range.first + i + g, chunks[g], compressed[g]);
        }
      }
      if (progress != nullptr) {
        const std::size_t lane = rows.progress_lanes.empty() ? 0 : rows.progress_lanes[c];
        progress->advance(
            lane, group, group * dataset.chunk_size(),
            partial.compress_seconds.total() + partial.decompress_seconds.total() - seconds_before);
      }
    }
    i += group;
    if (checkpoint != nullptr && i < range.count &&
        std::chrono::steady_clock::now() - piece_started >= checkpoint->interval) {
      checkpoint->save({piece_first, range.first + i - piece_first}, partials);
      partials = empty_partials(rows, compressors.size());
      piece_first = range.first + i;
      piece_started = std::chrono::steady_clock::now();
    }
  }
  return partials;
}

namespace {

// Compares the decoder's output, as it arrives, with the raw bytes fed to the encoder.
class StreamComparator {
 public:
  StreamComparator(std::string what, std::size_t chunk_size)
      : what_(std::move(what)), chunk_size_(chunk_size) {}

  void expect(ByteView raw) { append(pending_, raw); }

  void check(ByteView decoded) {
    const std::size_t available = pending_.size() - head_;
    if (decoded.size() > available) fail(matched_ + available, "the decoder produced extra bytes");
    const auto mismatch =
        std::mismatch(decoded.begin(), decoded.end(), pending_.begin() + head_).first;
    if (mismatch != decoded.end()) {
      fail(matched_ + static_cast<std::uint64_t>(mismatch - decoded.begin()), "bytes differ");
    }
    head_ += decoded.size();
    matched_ += decoded.size();
    if (head_ > (std::size_t{1} << 20) && head_ * 2 > pending_.size()) {
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void finish() {
    if (head_ != pending_.size()) fail(matched_, "the decoded stream ended early");
  }

 private:
  [[noreturn]] void fail(std::uint64_t offset, const std::string& why) const {
    throw RoundTripError("round trip failed: " + what_ + ", chunk " +
                         std::to_string(offset / chunk_size_) + " (unchunked stream, byte " +
                         std::to_string(offset) + "): " + why);
  }

  std::string what_;
  std::size_t chunk_size_;
  Bytes pending_;
  std::size_t head_ = 0;
  std::uint64_t matched_ = 0;
};

}  // namespace

namespace {

// One pass of an unchunked stream: its sizes and seconds, and the hash of its compressed bytes
// (passes of one row must give the same stream).
struct StreamPass {
  std::uint64_t chunks = 0;
  std::uint64_t raw_bytes = 0;
  std::uint64_t compressed_bytes = 0;
  std::uint64_t stream_hash = kFnv1a64Basis;
  double compress_seconds = 0;
  double decompress_seconds = 0;
  bool verified = false;
};

StreamPass code_stream(const Dataset& dataset, std::uint64_t chunks, const Compressor& compressor,
                       const StreamRow& row, const std::string& what, bool verify,
                       ProgressSink* progress, const std::atomic<bool>* stop) {
  StreamPass pass;
  auto encoder = compressor.stream_encoder();
  auto decoder = verify ? compressor.stream_decoder() : nullptr;
  StreamComparator comparator(what, dataset.chunk_size());
  Bytes compressed;
  Bytes decoded;

  // Hands freshly compressed bytes to the decoder and checks what comes out.
  auto decode_step = [&](bool last) {
    pass.compressed_bytes += compressed.size();
    pass.stream_hash = fnv1a64(compressed, pass.stream_hash);
    if (decoder) {
      try {
        timed(pass.decompress_seconds, [&] {
          decoder->write(compressed, decoded);
          if (last) decoder->finish(decoded);
        });
      } catch (const CorruptDataError& e) {
        throw RoundTripError("round trip failed: " + what + " (unchunked stream): " + e.what());
      }
      comparator.check(decoded);
      decoded.clear();
    }
    compressed.clear();
  };

  auto reader = dataset.open(0);
  Bytes chunk(dataset.chunk_size());
  for (std::uint64_t i = 0; i < chunks && !stopped(stop); ++i) {
    if (!reader->next(chunk)) {
      throw InputError("dataset '" + row.dataset + "' ended at chunk " + std::to_string(i) +
                       ", before the " + std::to_string(chunks) + " chunks it announced");
    }
    if (decoder) comparator.expect(chunk);
    const double seconds_before = pass.compress_seconds + pass.decompress_seconds;
    timed(pass.compress_seconds, [&] { encoder->write(chunk, compressed); });
    pass.chunks += 1;
    pass.raw_bytes += chunk.size();
    decode_step(false);
    if (progress != nullptr) {
      progress->advance(row.progress_lane, 1, chunk.size(),
                        pass.compress_seconds + pass.decompress_seconds - seconds_before);
    }
  }
  if (pass.chunks < chunks) return pass;  // stopped: the stream stays unfinished
  timed(pass.compress_seconds, [&] { encoder->finish(compressed); });
  decode_step(true);
  if (decoder) {
    comparator.finish();
    pass.verified = true;
  }
  return pass;
}

}  // namespace

PartialResult evaluate_unchunked(const Dataset& dataset, std::uint64_t chunks,
                                 const Compressor& compressor, const StreamRow& row, bool verify,
                                 ProgressSink* progress, const std::atomic<bool>* stop) {
  verify = verify && compressor.verifiable();
  const std::string what = "compressor '" + row.compressor + "' on dataset '" + row.dataset + "'";
  const unsigned repetitions = std::max(1u, row.repetitions);
  PartialResult result;
  result.compress_seconds = RepeatedSeconds::zeros(repetitions);
  result.decompress_seconds = RepeatedSeconds::zeros(repetitions);
  std::uint64_t first_hash = 0;
  for (unsigned r = 0; r < repetitions; ++r) {
    StreamPass pass;
    in_memory_window(
        row.memory, window_row(row.dataset, row.compressor, Mode::Unchunked), result, [&] {
          pass = code_stream(dataset, chunks, compressor, row, what, verify, progress, stop);
        });
    if (pass.chunks < chunks) {  // stopped midway: no result to keep
      result.chunks = pass.chunks;
      return result;
    }
    result.compress_seconds.passes[r] = pass.compress_seconds;
    result.decompress_seconds.passes[r] = pass.decompress_seconds;
    if (r == 0) {
      result.chunks = pass.chunks;
      result.raw_bytes = pass.raw_bytes;
      result.compressed_bytes = pass.compressed_bytes;
      result.verified_chunks = pass.verified ? pass.chunks : 0;
      first_hash = pass.stream_hash;
    } else if (pass.compressed_bytes != result.compressed_bytes || pass.stream_hash != first_hash) {
      throw RoundTripError(
          "not deterministic: " + what + " (unchunked stream): pass " + std::to_string(r + 1) +
          " of " + std::to_string(repetitions) + " gave " + std::to_string(pass.compressed_bytes) +
          " bytes (FNV-1a " + hex64(pass.stream_hash) + "), pass 1 gave " +
          std::to_string(result.compressed_bytes) + " (FNV-1a " + hex64(first_hash) + ")");
    }
  }
  return result;
}

namespace {

// Enough ranges that both cores stay busy until the end, few enough that reading overhead and
// task bookkeeping vanish; the totals do not depend on it.
std::uint64_t choose_range_size(std::uint64_t chunks, unsigned threads) {
  const std::uint64_t target_tasks = 16ull * threads;
  return std::clamp<std::uint64_t>((chunks + target_tasks - 1) / target_tasks, 1, 1024);
}

// The journal's record of a whole unchunked stream of `row`, if it has one.
const JournalEntry* find_unchunked_piece(const RunJournal* journal, const RowResult& row,
                                         std::uint64_t chunks) {
  if (journal == nullptr) return nullptr;
  for (const JournalEntry& entry : journal->entries()) {
    if (entry.mode == "unchunked" && entry.dataset == row.dataset &&
        entry.compressors == std::vector<std::string>{row.compressor} && entry.first == 0 &&
        entry.count == chunks) {
      return &entry;
    }
  }
  return nullptr;
}

// Merges the journal's finished ranges of one chunked group into its rows (unless `rows` is
// null); returns the ranges of [0, chunks) still to do. InputError when recorded ranges overlap
// or overrun: the journal does not describe this run.
std::vector<ChunkRange> merge_chunked_pieces(const RunJournal* journal,
                                             const EvaluationRows& group_rows, std::uint64_t chunks,
                                             std::vector<RowResult>* rows,
                                             const std::vector<std::size_t>& members) {
  std::vector<const JournalEntry*> done;
  if (journal != nullptr) {
    for (const JournalEntry& entry : journal->entries()) {
      if (entry.mode == "chunked" && entry.dataset == group_rows.dataset &&
          entry.compressors == group_rows.compressors) {
        done.push_back(&entry);
      }
    }
  }
  std::sort(done.begin(), done.end(),
            [](const JournalEntry* a, const JournalEntry* b) { return a->first < b->first; });
  std::vector<ChunkRange> missing;
  std::uint64_t next = 0;
  for (const JournalEntry* entry : done) {
    if (entry->first < next || entry->count > chunks || entry->first > chunks - entry->count) {
      throw InputError(journal->path().string() + ": chunks " + std::to_string(entry->first) +
                       ".." + std::to_string(entry->first + entry->count) + " of dataset '" +
                       group_rows.dataset + "' overlap another piece or pass its " +
                       std::to_string(chunks) + " chunks; the journal is not this run's");
    }
    if (entry->first > next) missing.push_back({next, entry->first - next});
    if (rows != nullptr) {
      for (std::size_t i = 0; i < members.size(); ++i) {
        (*rows)[members[i]].totals += entry->partials[i];
      }
    }
    next = entry->first + entry->count;
  }
  if (next < chunks) missing.push_back({next, chunks - next});
  return missing;
}

}  // namespace

std::vector<PlannedRow> plan_rows(const PreparedRun& run,
                                  const std::function<void(const std::string&)>& log) {
  const RunConfig& config = *run.config;
  std::vector<PlannedRow> rows;
  for (std::size_t d = 0; d < run.datasets.size(); ++d) {
    const PreparedDataset& prepared = run.datasets[d];
    for (Mode mode : config.modes) {
      for (std::size_t c = 0; c < config.compressors.size(); ++c) {
        const CompressorEntry& entry = config.compressors[c];
        if (mode == Mode::Unchunked && !prepared.compressors[c]->supports_unchunked()) {
          if (log) {
            log("note: " + entry.name + " codes each chunk on its own; no unchunked row for " +
                prepared.entry->name);
          }
          continue;
        }
        rows.push_back({d, c, mode,
                        std::min(prepared.chunks, entry.num_chunks.value_or(prepared.chunks)),
                        repetitions_of(config, entry)});
      }
    }
  }
  return rows;
}

std::vector<RowResult> execute_run(const PreparedRun& run, const RunOptions& options) {
  const RunConfig& config = *run.config;

  // Rows in table order, each with the dataset, the compressor and how many chunks it covers.
  const std::vector<PlannedRow> plan = plan_rows(run, options.log);
  std::vector<RowResult> rows;
  for (const PlannedRow& p : plan) {
    const PreparedDataset& prepared = run.datasets[p.dataset];
    const Mode mode = p.mode;
    const CompressorEntry& entry = config.compressors[p.compressor];
    const Compressor& compressor = *prepared.compressors[p.compressor];
    RowResult row;
    row.dataset = prepared.entry->name;
    row.compressor = entry.name;
    row.dataset_kind = prepared.entry->kind;
    row.compressor_kind = entry.kind;
    row.mode = mode;
    row.chunk_size = config.chunk_size;
    row.requested_chunks = prepared.entry->num_chunks.value_or(0);
    row.available_chunks = prepared.available_chunks;
    row.dataset_chunks = prepared.chunks;
    row.verified = options.verify && compressor.verifiable();
    row.decodable = compressor.verifiable();
    row.rule.discount_header = mode == Mode::Chunked && compressor.discounts_header();
    row.rule.header_bytes = row.rule.discount_header ? compressor.compress(Bytes{0}).size() : 0;
    row.rule.parameter_count = compressor.parameter_count();
    row.settings = compressor.settings();
    // A model's lockstep width is measured on the machine (models/transformer): it decides only
    // the speed, so it is recorded here, beside the settings that decide the bytes (and outside
    // the run's fingerprint, which --resume compares).
    if (mode == Mode::Chunked && row.verified && row.rule.parameter_count > 0) {
      row.settings["decode_width"] = compressor.decode_batch_size();
    }
    rows.push_back(std::move(row));
  }

  TaskPool pool;
  std::optional<MemoryWindows> windows;
  if (options.peak_memory) windows.emplace();
  MemoryWindows* const memory = windows ? &*windows : nullptr;
  std::atomic<bool> local_stop{false};
  std::atomic<bool>& stop = options.interrupt != nullptr ? *options.interrupt : local_stop;
  std::mutex merge_mutex;
  std::uint64_t total_bytes = 0;
  std::uint64_t total_units = 0;
  std::uint64_t journaled_units = 0;  // chunk evaluations an earlier attempt finished
  // Progress lanes: one per (compressor entry, mode), whatever the dataset.
  std::map<std::pair<std::size_t, Mode>, std::size_t> lane_ids;
  std::vector<std::size_t> lane_of_row(rows.size());
  std::vector<std::uint64_t> lane_units;
  // Chunked rows of one dataset that cover the same chunks share their reads: (dataset, chunks)
  // -> rows.
  std::map<std::pair<std::size_t, std::uint64_t>, std::vector<std::size_t>> chunked_groups;
  // The pieces of work, numbered in a fixed order; this process takes every shards-th one.
  if (options.shards == 0 || options.shard >= options.shards) {
    throw std::invalid_argument("execute_run: shard " + std::to_string(options.shard) + " of " +
                                std::to_string(options.shards));
  }
  std::size_t next_task = 0;
  const auto take_task = [&] { return next_task++ % options.shards == options.shard; };
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const PlannedRow& p = plan[r];
    const auto [lane, added] =
        lane_ids.try_emplace({p.compressor, rows[r].mode}, lane_units.size());
    if (added) lane_units.push_back(0);
    lane_of_row[r] = lane->second;
    total_units += p.chunks;
    if (rows[r].mode == Mode::Chunked) {
      chunked_groups[{p.dataset, p.chunks}].push_back(r);
      continue;
    }
    if (const JournalEntry* done = find_unchunked_piece(options.journal, rows[r], p.chunks)) {
      if (options.shard == 0) rows[r].totals += done->partials[0];
      journaled_units += p.chunks;
      continue;
    }
    if (!take_task()) continue;
    // Each repetition codes the whole stream again and reports its progress again.
    lane_units[lane->second] += p.chunks * p.repetitions;
    total_bytes += p.chunks * p.repetitions * config.chunk_size;
    pool.add([&, r] {
      const PlannedRow& p = plan[r];
      const StreamRow stream{rows[r].dataset, rows[r].compressor, lane_of_row[r], p.repetitions,
                             memory};
      PartialResult result = evaluate_unchunked(*run.datasets[p.dataset].dataset, p.chunks,
                                                *run.datasets[p.dataset].compressors[p.compressor],
                                                stream, options.verify, options.progress, &stop);
      if (result.chunks < p.chunks) return;  // stopped midway: an unfinished stream is no result
      if (options.journal != nullptr) {
        options.journal->append(
            {rows[r].dataset, "unchunked", {rows[r].compressor}, 0, p.chunks, {result}});
      }
      std::lock_guard lock(merge_mutex);
      rows[r].totals += result;
    });
  }
  for (const auto& [key, members] : chunked_groups) {
    const auto [d, chunks] = key;
    EvaluationRows group_rows{.dataset = run.datasets[d].entry->name, .memory = memory};
    std::vector<const Compressor*> compressors;
    for (std::size_t r : members) {
      group_rows.compressors.push_back(rows[r].compressor);
      group_rows.progress_lanes.push_back(lane_of_row[r]);
      group_rows.repetitions.push_back(plan[r].repetitions);
      compressors.push_back(run.datasets[d].compressors[plan[r].compressor].get());
    }
    // Every shard works out the same gaps; only shard 0 counts what the journal already has.
    const std::vector<ChunkRange> missing = merge_chunked_pieces(
        options.journal, group_rows, chunks, options.shard == 0 ? &rows : nullptr, members);
    std::uint64_t missing_chunks = 0;
    for (const ChunkRange& gap : missing) missing_chunks += gap.count;
    journaled_units += (chunks - missing_chunks) * members.size();
    for (const ChunkRange& gap : missing) {
      for (ChunkRange range : split_into_ranges(
               gap.count, choose_range_size(chunks, options.threads * options.shards))) {
        range.first += gap.first;
        if (!take_task()) continue;
        for (std::size_t r : members) lane_units[lane_of_row[r]] += range.count;
        total_bytes += range.count * members.size() * config.chunk_size;
        pool.add([&, d, range, compressors, group_rows, members] {
          // Each finished piece (all of the range, or a part saved on the way, or what an
          // interrupted range finished) is journaled and merged; the pieces never overlap.
          std::uint64_t next_first = range.first;
          const auto keep = [&](std::uint64_t first, const std::vector<PartialResult>& partials) {
            if (partials.empty() || partials[0].chunks == 0) return;
            if (options.journal != nullptr) {
              options.journal->append({group_rows.dataset, "chunked", group_rows.compressors, first,
                                       partials[0].chunks, partials});
            }
            std::lock_guard lock(merge_mutex);
            for (std::size_t i = 0; i < members.size(); ++i) {
              rows[members[i]].totals += partials[i];
            }
          };
          const RangeCheckpoint checkpoint{
              options.journal_interval,
              [&](ChunkRange done, const std::vector<PartialResult>& partials) {
                keep(done.first, partials);
                next_first = done.first + done.count;
              }};
          const CompressedChunkSaver saver = [&](std::size_t c, std::uint64_t chunk,
                                                 ByteView original, ByteView compressed) {
            options.save_compressed(members[c], chunk, original, compressed);
          };
          const auto partials = evaluate_range(*run.datasets[d].dataset, range, compressors,
                                               group_rows, options.verify, options.progress, &stop,
                                               options.journal != nullptr ? &checkpoint : nullptr,
                                               options.save_compressed ? &saver : nullptr);
          keep(next_first, partials);
        });
      }
    }
  }
  if (journaled_units > 0) {
    options.log("resumed from the journal: " + std::to_string(journaled_units) + " of " +
                std::to_string(total_units) + " chunk evaluations already done");
  }

  if (options.progress != nullptr) options.progress->start(lane_units, total_bytes);
  try {
    pool.run(options.threads, stop);
  } catch (...) {
    if (options.progress != nullptr) options.progress->finish();
    throw;
  }
  if (options.progress != nullptr) options.progress->finish();
  if (stop) {
    throw RunInterrupted("interrupted");
  }

  for (auto& row : rows) row.rates = compute_rates(row.totals, row.rule);
  return rows;
}

}  // namespace lmc
