#include <zlib.h>

#include "compressors/codec_checks.h"
#include "test_support.h"

namespace lmc::test {
namespace {

TEST(Gzip, OneZeroByteIsPythonsTwentyOneBytes) {
  // Python 3.11: gzip.compress(b"\0", 9, mtime=0). Python's default header differs only in
  // mtime (bytes 4-7) and the OS byte.
  const Bytes expected = from_hex("1f8b08000000000002036300008def02d201000000");
  const Bytes compressed = make_codec(gzip_kind())->compress(Bytes{0});
  EXPECT_EQ(compressed.size(), 21u);
  EXPECT_EQ(compressed, expected);
}

TEST(Gzip, EmptyInputIsPythonsTwentyBytes) {
  // Python 3.11: gzip.compress(b"", 9, mtime=0).
  const Bytes expected = from_hex("1f8b080000000000020303000000000000000000");
  EXPECT_EQ(make_codec(gzip_kind())->compress(Bytes{}), expected);
}

TEST(Gzip, RoundTrips) { expect_round_trips(*make_codec(gzip_kind())); }

TEST(Gzip, StreamedOutputEqualsOneShot) { expect_stream_equals_one_shot(*make_codec(gzip_kind())); }

TEST(Gzip, DamagedInputThrowsCorruptDataError) {
  expect_rejects_damage(*make_codec(gzip_kind()), /*has_checksum=*/true);
}

TEST(Gzip, RejectsZlibStreamWithoutGzipWrapper) {
  const Bytes text = text_like(kChunkSize, 6);
  uLongf size = compressBound(text.size());
  Bytes zlib_stream(size);
  ASSERT_EQ(compress2(zlib_stream.data(), &size, text.data(), text.size(), 9), Z_OK);
  zlib_stream.resize(size);
  EXPECT_THROW(make_codec(gzip_kind())->decompress(zlib_stream, text.size()), CorruptDataError);
}

TEST(Gzip, CompressIsThreadSafe) { expect_thread_safe(*make_codec(gzip_kind())); }

TEST(Gzip, LevelOptionIsValidatedAndUsed) {
  expect_rejects_option(gzip_kind(), "level", 10);
  expect_rejects_option(gzip_kind(), "level", -1);
  EXPECT_THROW(make_codec(gzip_kind(), {{"level", "best"}}), InputError);
  EXPECT_THROW(make_codec(gzip_kind(), {{"window", 15}}), InputError);

  const Bytes text = text_like(1 << 18, 7);
  const Bytes fast = make_codec(gzip_kind(), {{"level", 1}})->compress(text);
  const Bytes best = make_codec(gzip_kind())->compress(text);
  EXPECT_LT(best.size(), fast.size());
  // DEFLATE records its level in the header's XFL byte: 4 = fastest, 2 = best.
  EXPECT_EQ(fast[8], 4);
  EXPECT_EQ(best[8], 2);
}

TEST(Gzip, SettingsRecordLibraryAndParameters) {
  const auto settings = make_codec(gzip_kind())->settings();
  EXPECT_EQ(settings.at("library"), "zlib");
  EXPECT_EQ(settings.at("library_version"), zlibVersion());
  EXPECT_EQ(settings.at("container"), "gzip");
  EXPECT_EQ(settings.at("level"), 9);
  EXPECT_EQ(settings.at("window_bits"), 15);
  EXPECT_EQ(settings.at("mem_level"), 8);
}

// data/README.md: Python's gzip.compress(level 9) on the same zlib gives 49.882 % chunked and
// 34.627 % whole; the byte counts are Python's on this Debian 12 zlib (1.2.13).
TEST(GzipGolden, EnwikiSampleMatchesPythonReference) {
  LMC_REQUIRE_SHARED_DATA("text/enwiki-2016-sample.xml");
  const Rates rates =
      measure_rates(*make_codec(gzip_kind()), shared_data() / "text/enwiki-2016-sample.xml");
  EXPECT_EQ(rates.chunks, 2973u);
  EXPECT_NEAR(rates.chunked_percent, 49.882, 0.01);
  EXPECT_NEAR(rates.whole_percent, 34.627, 0.01);
  EXPECT_EQ(rates.chunked_bytes, 3'037'140u);
  EXPECT_EQ(rates.whole_bytes, 2'108'346u);
}

}  // namespace
}  // namespace lmc::test
