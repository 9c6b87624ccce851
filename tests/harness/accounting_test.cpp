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

TEST(RepeatedSeconds, MedianOfAnOddCountIsTheMiddlePass) {
  const RepeatedSeconds s{{0.9, 0.2, 0.5}};
  EXPECT_DOUBLE_EQ(s.median(), 0.5);
  EXPECT_DOUBLE_EQ(s.min(), 0.2);
  EXPECT_DOUBLE_EQ(s.max(), 0.9);
  EXPECT_DOUBLE_EQ(s.total(), 1.6);
  EXPECT_EQ(s.repetitions(), 3u);
}

TEST(RepeatedSeconds, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  EXPECT_DOUBLE_EQ((RepeatedSeconds{{4.0, 1.0, 3.0, 2.0}}.median()), 2.5);
  EXPECT_DOUBLE_EQ((RepeatedSeconds{{0.25, 0.75}}.median()), 0.5);
  EXPECT_DOUBLE_EQ((RepeatedSeconds{{0.25}}.median()), 0.25);
  EXPECT_DOUBLE_EQ(RepeatedSeconds{}.median(), 0);  // nothing recorded
}

// A row's pass r is the sum of every piece's pass r, whichever order the pieces merge in.
TEST(RepeatedSeconds, PiecesAddPassByPass) {
  RepeatedSeconds row;  // a row before its first piece adopts the piece's passes
  row += RepeatedSeconds{{1.0, 0.5, 0.75}};
  row += RepeatedSeconds{{2.0, 1.0, 1.25}};
  EXPECT_EQ(row.passes, (std::vector<double>{3.0, 1.5, 2.0}));
  EXPECT_DOUBLE_EQ(row.median(), 2.0);
  RepeatedSeconds other_order{{2.0, 1.0, 1.25}};
  other_order += RepeatedSeconds{{1.0, 0.5, 0.75}};
  EXPECT_EQ(other_order.passes, row.passes);
  row += RepeatedSeconds{};  // a piece that recorded nothing changes nothing
  EXPECT_EQ(row.passes, (std::vector<double>{3.0, 1.5, 2.0}));
}

// A run resumed with fewer repetitions: the row keeps the passes every piece ran.
TEST(RepeatedSeconds, PiecesWithFewerRepetitionsKeepTheCommonPasses) {
  RepeatedSeconds row{{1.0, 0.5, 0.75}};
  row += RepeatedSeconds{{2.0, 1.0}};
  EXPECT_EQ(row.passes, (std::vector<double>{3.0, 1.5}));
  RepeatedSeconds fewer_first{{2.0, 1.0}};
  fewer_first += RepeatedSeconds{{1.0, 0.5, 0.75}};
  EXPECT_EQ(fewer_first.passes, row.passes);
}

TEST(Accounting, PeakMemoryMergesByItsMaximumAndSurvivesJson) {
  PartialResult a = totals_of(1, 2048, 900);
  a.compress_seconds = {{0.25, 0.125, 0.5}};
  a.decompress_seconds = {{0.0625, 0.03125, 0.046875}};
  a.peak_rss_bytes = 300'000'000;
  a.peak_rss_growth_bytes = 2'000'000;
  PartialResult b = totals_of(1, 2048, 800);
  b.compress_seconds = {{0.5, 0.25, 0.125}};
  b.decompress_seconds = {{0.0625, 0.0625, 0.0625}};
  b.peak_rss_bytes = 250'000'000;
  b.peak_rss_growth_bytes = 9'000'000;
  a += b;
  EXPECT_EQ(a.peak_rss_bytes, 300'000'000u);
  EXPECT_EQ(a.peak_rss_growth_bytes, 9'000'000u);
  EXPECT_EQ(a.compress_seconds.passes, (std::vector<double>{0.75, 0.375, 0.625}));

  const PartialResult parsed = nlohmann::json(a).get<PartialResult>();
  EXPECT_EQ(parsed.compress_seconds.passes, a.compress_seconds.passes);
  EXPECT_EQ(parsed.decompress_seconds.passes, a.decompress_seconds.passes);
  EXPECT_EQ(parsed.peak_rss_bytes, a.peak_rss_bytes);
  EXPECT_EQ(parsed.peak_rss_growth_bytes, a.peak_rss_growth_bytes);

  // A journal line of a build before repetitions: one number of seconds, no peak memory.
  nlohmann::json old = nlohmann::json(a);
  old["compress_seconds"] = 0.5;
  old["decompress_seconds"] = 0.25;
  old.erase("peak_rss_bytes");
  old.erase("peak_rss_growth_bytes");
  const PartialResult from_old = old.get<PartialResult>();
  EXPECT_EQ(from_old.compress_seconds.passes, (std::vector<double>{0.5}));
  EXPECT_EQ(from_old.decompress_seconds.passes, (std::vector<double>{0.25}));
  EXPECT_EQ(from_old.peak_rss_bytes, 0u);
}

}  // namespace
}  // namespace lmc
