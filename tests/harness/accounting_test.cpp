#include "harness/run/accounting.h"

#include <gtest/gtest.h>

namespace lmc {
namespace {

PartialResult totals_of(std::uint64_t chunks, std::uint64_t raw, std::uint64_t compressed,
                        std::uint64_t verified = 0) {
  PartialResult totals;
  totals.chunks = chunks;
  totals.raw_bytes = raw;
  totals.compressed_bytes = compressed;
  totals.verified_chunks = verified;
  return totals;
}

TEST(Accounting, ChunkedCountsTheHeaderOnce) {
  // 3 chunks of 2048 bytes compressed to 1000, 1100, 1200 bytes with a 21-byte header.
  PartialResult totals = totals_of(3, 3 * 2048, 3300);
  const Rates rates = compute_rates(totals, {.discount_header = true, .header_bytes = 21});
  EXPECT_DOUBLE_EQ(rates.compressed_bytes, 3300 - 2 * 21);
  EXPECT_DOUBLE_EQ(rates.raw_rate, 100.0 * 3258 / 6144);
  EXPECT_DOUBLE_EQ(rates.adjusted_rate, rates.raw_rate);
  EXPECT_DOUBLE_EQ(rates.bits_per_byte, 8.0 * 3258 / 6144);
}

TEST(Accounting, UnchunkedHasNoDiscount) {
  PartialResult totals = totals_of(10, 20480, 5000);
  const Rates rates = compute_rates(totals, {.discount_header = false, .header_bytes = 60});
  EXPECT_DOUBLE_EQ(rates.compressed_bytes, 5000);
}

TEST(Accounting, MaskedBitsRescaleTheSize) {
  // enwik: 10 non-ASCII bytes in one 2048-byte chunk -> factor 16384 / 16374.
  PartialResult totals = totals_of(1, 2048, 600);
  totals.counters[kMaskedBits] = 10;
  const Rates rates = compute_rates(totals, {.discount_header = false});
  EXPECT_DOUBLE_EQ(rates.compressed_bytes, 600.0 * 16384 / 16374);

  // Every byte shifted right: exactly 8/7.
  totals.counters[kMaskedBits] = 2048;
  EXPECT_DOUBLE_EQ(compute_rates(totals, {.discount_header = false}).compressed_bytes,
                   600.0 * 8 / 7);
}

TEST(Accounting, AdjustedRateAddsTwoBytesPerParameter) {
  PartialResult totals = totals_of(4, 8192, 2000);
  const Rates rates = compute_rates(totals, {.discount_header = false, .parameter_count = 231936});
  EXPECT_DOUBLE_EQ(rates.adjusted_rate, 100.0 * (2000 + 2 * 231936.0) / 8192);
}

TEST(Accounting, PartialsMergeExactlyInAnyOrder) {
  PartialResult a = totals_of(2, 4096, 900, 2);
  a.counters["ideal_bits"] = 7000;
  PartialResult b = totals_of(1, 2048, 500, 1);
  b.counters["ideal_bits"] = 3000;
  b.counters[kMaskedBits] = 4;
  PartialResult ab = a;
  ab += b;
  PartialResult ba = b;
  ba += a;
  EXPECT_EQ(ab.chunks, 3u);
  EXPECT_EQ(ab.raw_bytes, 6144u);
  EXPECT_EQ(ab.compressed_bytes, 1400u);
  EXPECT_EQ(ab.verified_chunks, 3u);
  EXPECT_EQ(ab.counters, ba.counters);
  EXPECT_DOUBLE_EQ(ab.counters["ideal_bits"], 10000);

  // A partial survives a JSON round trip (how MPI ranks or a resumed run would hand it over).
  PartialResult parsed = nlohmann::json(ab).get<PartialResult>();
  EXPECT_EQ(parsed.compressed_bytes, ab.compressed_bytes);
  EXPECT_EQ(parsed.counters, ab.counters);
}

}  // namespace
}  // namespace lmc
