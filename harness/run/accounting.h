// The arithmetic of docs/PROTOCOL.md sections 1, 3 and 4: how sizes of compressed chunks become the
// rates in the tables. Kept apart from the runner so the formulas are tested on their own.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "compressors/compressor.h"

namespace lmc {

// What one range of chunks contributed to one (dataset, compressor, mode) row. Ranges merge by
// plain addition, in any order, so work can be split across threads, MPI ranks or resumed runs.
struct PartialResult {
  std::uint64_t chunks = 0;
  std::uint64_t raw_bytes = 0;
  std::uint64_t compressed_bytes = 0;  // real output sizes, before any header discount
  std::uint64_t verified_chunks = 0;   // chunks decoded and found equal to their input
  double compress_seconds = 0;
  double decompress_seconds = 0;
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
