#include "harness/run/accounting.h"

#include <algorithm>
#include <numeric>

#include "common/json.h"

namespace lmc {

double RepeatedSeconds::total() const { return std::accumulate(passes.begin(), passes.end(), 0.0); }

double RepeatedSeconds::median() const {
  if (passes.empty()) return 0;
  std::vector<double> sorted = passes;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t middle = sorted.size() / 2;
  return sorted.size() % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

double RepeatedSeconds::min() const {
  return passes.empty() ? 0 : *std::min_element(passes.begin(), passes.end());
}

double RepeatedSeconds::max() const {
  return passes.empty() ? 0 : *std::max_element(passes.begin(), passes.end());
}

RepeatedSeconds& RepeatedSeconds::operator+=(const RepeatedSeconds& other) {
  if (passes.empty()) {
    passes = other.passes;
    return *this;
  }
  if (other.passes.empty()) return *this;
  passes.resize(std::min(passes.size(), other.passes.size()));
  for (std::size_t r = 0; r < passes.size(); ++r) passes[r] += other.passes[r];
  return *this;
}

void to_json(nlohmann::json& j, const RepeatedSeconds& s) { j = s.passes; }

void from_json(const nlohmann::json& j, RepeatedSeconds& s) {
  if (j.is_number()) {
    s.passes = {j.get<double>()};
    return;
  }
  if (!j.is_array()) throw std::invalid_argument("seconds: expected a number or an array");
  s.passes.clear();
  for (const auto& pass : j) {
    if (!pass.is_number()) throw std::invalid_argument("seconds: expected numbers");
    s.passes.push_back(pass.get<double>());
  }
}

PartialResult& PartialResult::operator+=(const PartialResult& other) {
  chunks += other.chunks;
  raw_bytes += other.raw_bytes;
  compressed_bytes += other.compressed_bytes;
  verified_chunks += other.verified_chunks;
  compress_seconds += other.compress_seconds;
  decompress_seconds += other.decompress_seconds;
  peak_rss_bytes = std::max(peak_rss_bytes, other.peak_rss_bytes);
  peak_rss_growth_bytes = std::max(peak_rss_growth_bytes, other.peak_rss_growth_bytes);
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
       {"peak_rss_bytes", p.peak_rss_bytes},
       {"peak_rss_growth_bytes", p.peak_rss_growth_bytes},
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
  // Absent from journals of a build before they were measured.
  for (auto [key, field] : {std::pair{"peak_rss_bytes", &p.peak_rss_bytes},
                            std::pair{"peak_rss_growth_bytes", &p.peak_rss_growth_bytes}}) {
    *field = j.contains(key) ? integer_at<std::uint64_t>(j, key) : 0;
  }
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
