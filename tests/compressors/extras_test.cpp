// The extra general-purpose baselines beside the paper's gzip and LZMA2: zstd, brotli, bzip2.
#include <brotli/encode.h>
#include <bzlib.h>
#include <zstd.h>

#include "compressors/codec_checks.h"
#include "test_support.h"

namespace lmc::test {
namespace {

// ---- zstd -------------------------------------------------------------------------------------

TEST(Zstd, RoundTrips) { expect_round_trips(*make_codec(zstd_kind())); }

TEST(Zstd, StreamedOutputEqualsOneShot) { expect_stream_equals_one_shot(*make_codec(zstd_kind())); }

TEST(Zstd, DamagedInputThrowsCorruptDataError) {
  expect_rejects_damage(*make_codec(zstd_kind()), /*has_checksum=*/true);
}

TEST(Zstd, CompressIsThreadSafe) { expect_thread_safe(*make_codec(zstd_kind())); }

TEST(Zstd, FrameHasChecksum) {
  const Bytes frame = make_codec(zstd_kind())->compress(text_like(kChunkSize, 8));
  ASSERT_GE(frame.size(), 5u);
  EXPECT_EQ(frame[0], 0x28);  // magic 0xFD2FB528, little endian
  EXPECT_EQ(frame[3], 0xFD);
  EXPECT_EQ(frame[4] & 0x04, 0x04) << "content checksum flag of the frame header descriptor";
}

TEST(Zstd, SizeIsKnownUpToOneMebibyteStreamedBeyond) {
  const auto codec = make_codec(zstd_kind());
  const Bytes chunk = codec->compress(text_like(kChunkSize, 8));
  EXPECT_EQ(ZSTD_getFrameContentSize(chunk.data(), chunk.size()), kChunkSize);

  // Fed in pieces, a stream that ends within 1 MiB still records its size...
  const Bytes mebibyte = text_like(1 << 20, 9);
  const Bytes held = run_in_pieces(*codec->stream_encoder(), mebibyte);
  EXPECT_EQ(ZSTD_getFrameContentSize(held.data(), held.size()), mebibyte.size());
  EXPECT_EQ(held, codec->compress(mebibyte));

  // ...one byte more and it is streamed with unknown size, one-shot or not.
  Bytes longer = mebibyte;
  longer.push_back('x');
  const Bytes streamed = codec->compress(longer);
  EXPECT_EQ(ZSTD_getFrameContentSize(streamed.data(), streamed.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_EQ(codec->decompress(streamed, longer.size()), longer);
}

TEST(Zstd, LevelOptionIsValidatedAndUsed) {
  expect_rejects_option(zstd_kind(), "level", ZSTD_maxCLevel() + 1);
  expect_rejects_option(zstd_kind(), "level", ZSTD_minCLevel() - 1);
  const Bytes text = text_like(1 << 18, 7);
  EXPECT_LT(make_codec(zstd_kind())->compress(text).size(),
            make_codec(zstd_kind(), {{"level", 1}})->compress(text).size());
}

TEST(Zstd, SettingsRecordLibraryAndParameters) {
  const auto settings = make_codec(zstd_kind())->settings();
  EXPECT_EQ(settings.at("library"), "libzstd");
  EXPECT_EQ(settings.at("library_version"), ZSTD_versionString());
  EXPECT_EQ(settings.at("level"), 19);
  EXPECT_EQ(settings.at("checksum"), true);
  EXPECT_EQ(settings.at("known_size_limit_bytes"), 1 << 20);
}

// ---- brotli -----------------------------------------------------------------------------------

TEST(Brotli, RoundTrips) { expect_round_trips(*make_codec(brotli_kind())); }

TEST(Brotli, StreamedOutputEqualsOneShot) {
  expect_stream_equals_one_shot(*make_codec(brotli_kind()));
}

TEST(Brotli, DamagedInputThrowsCorruptDataError) {
  // Brotli streams carry no checksum: a flipped byte may decode to other bytes without error.
  expect_rejects_damage(*make_codec(brotli_kind()), /*has_checksum=*/false);
}

TEST(Brotli, CompressIsThreadSafe) { expect_thread_safe(*make_codec(brotli_kind())); }

TEST(Brotli, QualityAndWindowOptionsAreValidatedAndUsed) {
  expect_rejects_option(brotli_kind(), "quality", 12);
  expect_rejects_option(brotli_kind(), "quality", -1);
  expect_rejects_option(brotli_kind(), "lgwin", 9);
  expect_rejects_option(brotli_kind(), "lgwin", 25);

  // Repeats 64 KiB apart: a 1 KiB window (lgwin 10) cannot see them, 16 MiB can.
  const Bytes block = random_bytes(64 * 1024, 9);
  Bytes twice = block;
  append(twice, block);
  const Bytes wide = make_codec(brotli_kind())->compress(twice);
  const Bytes narrow = make_codec(brotli_kind(), {{"lgwin", 10}})->compress(twice);
  EXPECT_LT(wide.size(), block.size() + 1000);
  EXPECT_GT(narrow.size(), twice.size() - 1000);

  const Bytes text = text_like(1 << 18, 7);
  EXPECT_LT(make_codec(brotli_kind())->compress(text).size(),
            make_codec(brotli_kind(), {{"quality", 1}})->compress(text).size());
}

TEST(Brotli, SettingsRecordLibraryAndParameters) {
  const auto settings = make_codec(brotli_kind())->settings();
  const std::uint32_t v = BrotliEncoderVersion();
  EXPECT_EQ(settings.at("library"), "brotli");
  EXPECT_EQ(settings.at("library_version"), std::to_string(v >> 24) + "." +
                                                std::to_string((v >> 12) & 0xFFF) + "." +
                                                std::to_string(v & 0xFFF));
  EXPECT_EQ(settings.at("quality"), 11);
  EXPECT_EQ(settings.at("lgwin"), 24);
}

// ---- bzip2 ------------------------------------------------------------------------------------

TEST(Bzip2, RoundTrips) { expect_round_trips(*make_codec(bzip2_kind())); }

TEST(Bzip2, StreamedOutputEqualsOneShot) {
  expect_stream_equals_one_shot(*make_codec(bzip2_kind()));
}

TEST(Bzip2, DamagedInputThrowsCorruptDataError) {
  expect_rejects_damage(*make_codec(bzip2_kind()), /*has_checksum=*/true);
}

TEST(Bzip2, CompressIsThreadSafe) { expect_thread_safe(*make_codec(bzip2_kind())); }

TEST(Bzip2, OneZeroByteIsPythonsBytes) {
  // Python 3.11: bz2.compress(b"\0") (block size 9, like bzip2 -9). No timestamps.
  EXPECT_EQ(make_codec(bzip2_kind())->compress(Bytes{0}),
            from_hex("425a6839314159265359b1f7404b00000040004000200021184682ee48a70a12163ee80960"));
}

TEST(Bzip2, BlockSizeOptionIsValidatedAndUsed) {
  expect_rejects_option(bzip2_kind(), "block_size", 0);
  expect_rejects_option(bzip2_kind(), "block_size", 10);
  const Bytes small = make_codec(bzip2_kind(), {{"block_size", 1}})->compress(Bytes{0});
  EXPECT_EQ(small[3], '1');  // "BZh1"
  EXPECT_EQ(make_codec(bzip2_kind())->compress(Bytes{0})[3], '9');
}

TEST(Bzip2, SettingsRecordLibraryAndParameters) {
  const auto settings = make_codec(bzip2_kind())->settings();
  EXPECT_EQ(settings.at("library"), "libbz2");
  EXPECT_EQ(settings.at("library_version"), BZ2_bzlibVersion());
  EXPECT_EQ(settings.at("block_size_100k"), 9);
}

// ---- all five ---------------------------------------------------------------------------------

TEST(GeneralCodecs, HeaderSizesOfOneZeroByte) {
  // The chunked discount of docs/PROTOCOL.md section 3 for each codec at its defaults.
  EXPECT_EQ(make_codec(gzip_kind())->compress(Bytes{0}).size(), 21u);
  EXPECT_EQ(make_codec(lzma2_kind())->compress(Bytes{0}).size(), 60u);
  EXPECT_EQ(make_codec(bzip2_kind())->compress(Bytes{0}).size(), 37u);
  // zstd: 4 magic + 2 header + 3 block header + 1 literal + 4 checksum.
  EXPECT_EQ(make_codec(zstd_kind())->compress(Bytes{0}).size(), 14u);
  EXPECT_LE(make_codec(brotli_kind())->compress(Bytes{0}).size(), 5u);
}

TEST(GeneralCodecs, EveryOptionHasADefault) {
  for (const auto& kind : {gzip_kind(), lzma2_kind(), zstd_kind(), brotli_kind(), bzip2_kind()}) {
    SCOPED_TRACE(kind.name);
    for (const auto& option : kind.options) EXPECT_FALSE(option.default_value.is_null());
    EXPECT_NO_THROW(make_codec(kind));
  }
}

}  // namespace
}  // namespace lmc::test
