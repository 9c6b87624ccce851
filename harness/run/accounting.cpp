#include "harness/run/accounting.h"

#include "common/json.h"

namespace lmc {

PartialResult& PartialResult::operator+=(const PartialResult& other) {
  chunks += other.chunks;
  raw_bytes += other.raw_bytes;
  compressed_bytes += other.compressed_bytes;
  verified_chunks += other.verified_chunks;
  compress_seconds += other.compress_seconds;
  decompress_seconds += other.decompress_seconds;
  for (const auto& [key, value] : other.counters) counters[key] += value;
  return *this;
}

void to_json(nlohmann::json& j, const PartialResult& p) {
  j = {{"chunks", p.chunks},
       {"raw_bytes", p.raw_bytes},
       {"compressed_bytes", p.compressed_bytes},
       {"verified_chunks", p.verified_chunks},
       {"compress_seconds", p.compress_seconds},
       {"decompress_seconds", p.decompress_seconds},
       {"counters", p.counters}};
}

// Partials come back from journals on disk, where a count may be anything (integer_at).
void from_json(const nlohmann::json& j, PartialResult& p) {
  p.chunks = integer_at<std::uint64_t>(j, "chunks");
  p.raw_bytes = integer_at<std::uint64_t>(j, "raw_bytes");
  p.compressed_bytes = integer_at<std::uint64_t>(j, "compressed_bytes");
  p.verified_chunks = integer_at<std::uint64_t>(j, "verified_chunks");
  j.at("compress_seconds").get_to(p.compress_seconds);
  j.at("decompress_seconds").get_to(p.decompress_seconds);
  j.at("counters").get_to(p.counters);
}

Rates compute_rates(const PartialResult& totals, const AccountingRule& rule) {
  Rates rates;
  double size = static_cast<double>(totals.compressed_bytes);
  auto masked = totals.counters.find(kMaskedBits);
  if (masked != totals.counters.end() && masked->second > 0) {
    const double total_bits = 8.0 * static_cast<double>(totals.raw_bytes);
    size *= total_bits / (total_bits - masked->second);
  }
  if (rule.discount_header && totals.chunks > 1) {
    size -= static_cast<double>((totals.chunks - 1) * rule.header_bytes);
  }
  rates.compressed_bytes = size;
  if (totals.raw_bytes == 0) return rates;
  const double raw = static_cast<double>(totals.raw_bytes);
  rates.raw_rate = 100.0 * size / raw;
  rates.adjusted_rate = 100.0 * (size + 2.0 * static_cast<double>(rule.parameter_count)) / raw;
  rates.bits_per_byte = 8.0 * size / raw;
  return rates;
}

}  // namespace lmc
