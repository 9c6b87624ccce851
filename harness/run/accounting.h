// The arithmetic of docs/PROTOCOL.md sections 1, 3 and 4: how sizes of compressed chunks become the
// rates in the tables. Kept apart from the runner so the formulas are tested on their own.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "compressors/compressor.h"

namespace lmc {

// The seconds a piece of work took in each of its repetitions (the same chunks coded again,
// docs/PROTOCOL.md section 9): pass r sums repetition r over the piece's chunks. Pieces add pass
// by pass, so a row's pass r is its r-th repetition over every chunk, whichever ranges, threads,
// MPI ranks or resumed attempts ran them. Pieces that ran different numbers of repetitions (a run
// resumed with another --repetitions) keep the repetitions that all of them ran.
struct RepeatedSeconds {
  std::vector<double> passes;  // empty: no work recorded yet

  static RepeatedSeconds zeros(std::size_t repetitions) {
    return {std::vector<double>(repetitions, 0.0)};
  }
  std::size_t repetitions() const { return passes.size(); }
  double total() const;   // every pass: the CPU time the work cost
  double median() const;  // of the passes (mean of the middle two for an even count); 0 if none
  double min() const;
  double max() const;

  RepeatedSeconds& operator+=(const RepeatedSeconds& other);
};

void to_json(nlohmann::json& j, const RepeatedSeconds& s);
// An array of seconds, or one number (a journal of a build before repetitions): one pass.
void from_json(const nlohmann::json& j, RepeatedSeconds& s);

// What one range of chunks contributed to one (dataset, compressor, mode) row. Ranges merge by
// plain addition (the peak memory by its maximum), in any order, so work can be split across
// threads, MPI ranks or resumed runs.
struct PartialResult {
  std::uint64_t chunks = 0;
  std::uint64_t raw_bytes = 0;
  std::uint64_t compressed_bytes = 0;  // real output sizes, before any header discount
  std::uint64_t verified_chunks = 0;   // chunks decoded and found equal to their input
  RepeatedSeconds compress_seconds;
  RepeatedSeconds decompress_seconds;  // decoding for verification; zeros without it
  // The process's peak resident set in the window that measured this work, and how far it rose
  // above the resident set at the window's start (harness/run/resident_memory.h); 0: no window
  // measured it.
  std::uint64_t peak_rss_bytes = 0;
  std::uint64_t peak_rss_growth_bytes = 0;
  Counters counters;

  PartialResult& operator+=(const PartialResult& other);
};

void to_json(nlohmann::json& j, const PartialResult& p);
void from_json(const nlohmann::json& j, PartialResult& p);

// How a compressor's totals are turned into an effective size.
struct AccountingRule {
  bool discount_header = true;        // chunked classical codecs: count the header once
  std::uint64_t header_bytes = 0;     // size(compress(one zero byte))
  std::uint64_t parameter_count = 0;  // adjusted rate adds 2 bytes per parameter
};

struct Rates {
  double compressed_bytes = 0;  // effective: discounted and rescaled
  double raw_rate = 0;          // percent
  double adjusted_rate = 0;     // percent
  double bits_per_byte = 0;
};

// chunked, classical: total = sum - (N - 1) x header.  LM: total = sum x total_bits /
// (total_bits - masked_bits), no discount. Adjusted: (total + 2 x parameters) / raw.
Rates compute_rates(const PartialResult& totals, const AccountingRule& rule);

}  // namespace lmc
