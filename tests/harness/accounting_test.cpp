#include "harness/accounting.h"

#include <gtest/gtest.h>

namespace lmc {
namespace {

TEST(Accounting, ChunkedCountsTheHeaderOnce) {
  // 3 chunks of 2048 bytes compressed to 1000, 1100, 1200 bytes with a 21-byte header.
  PartialResult totals;
  totals.chunks = 3;
  totals.raw_bytes = 3 * 2048;
  totals.compressed_bytes = 3300;
  const Rates rates = compute_rates(totals, {.discount_header = true, .header_bytes = 21});
  EXPECT_DOUBLE_EQ(rates.compressed_bytes, 3300 - 2 * 21);
  EXPECT_DOUBLE_EQ(rates.raw_rate, 100.0 * 3258 / 6144);
  EXPECT_DOUBLE_EQ(rates.adjusted_rate, rates.raw_rate);
  EXPECT_DOUBLE_EQ(rates.bits_per_byte, 8.0 * 3258 / 6144);
}

TEST(Accounting, UnchunkedHasNoDiscount) {
  PartialResult totals{.chunks = 10, .raw_bytes = 20480, .compressed_bytes = 5000};
  const Rates rates = compute_rates(totals, {.discount_header = false, .header_bytes = 60});
  EXPECT_DOUBLE_EQ(rates.compressed_bytes, 5000);
}

TEST(Accounting, MaskedBitsRescaleTheSize) {
  // enwik: 10 non-ASCII bytes in one 2048-byte chunk -> factor 16384 / 16374.
  PartialResult totals{.chunks = 1, .raw_bytes = 2048, .compressed_bytes = 600};
  totals.counters[kMaskedBits] = 10;
  const Rates rates = compute_rates(totals, {.discount_header = false});
  EXPECT_DOUBLE_EQ(rates.compressed_bytes, 600.0 * 16384 / 16374);

  // Every byte shifted right: exactly 8/7.
  totals.counters[kMaskedBits] = 2048;
  EXPECT_DOUBLE_EQ(compute_rates(totals, {.discount_header = false}).compressed_bytes,
                   600.0 * 8 / 7);
}

TEST(Accounting, AdjustedRateAddsTwoBytesPerParameter) {
  PartialResult totals{.chunks = 4, .raw_bytes = 8192, .compressed_bytes = 2000};
  const Rates rates =
      compute_rates(totals, {.discount_header = false, .parameter_count = 231936});
  EXPECT_DOUBLE_EQ(rates.adjusted_rate, 100.0 * (2000 + 2 * 231936.0) / 8192);
}

TEST(Accounting, PartialsMergeExactlyInAnyOrder) {
  PartialResult a{.chunks = 2, .raw_bytes = 4096, .compressed_bytes = 900, .verified_chunks = 2};
  a.counters["ideal_bits"] = 7000;
  PartialResult b{.chunks = 1, .raw_bytes = 2048, .compressed_bytes = 500, .verified_chunks = 1};
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
