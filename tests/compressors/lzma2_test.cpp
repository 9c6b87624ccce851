#include <lzma.h>

#include "compressors/codec_checks.h"
#include "test_support.h"

namespace lmc::test {
namespace {

TEST(Lzma2, OneZeroByteIsPythonsSixtyBytes) {
  // Python 3.11: lzma.compress(b"\0"), i.e. .xz, preset 6, CRC64. No timestamps: every byte.
  const Bytes expected = from_hex(
      "fd377a585a000004e6d6b4460200210116000000742fe5a30100000000000000593f676473a1ad1f0001"
      "1901a52c81cc1fb6f37d010000000004595a");
  const Bytes compressed = make_codec(lzma2_kind())->compress(Bytes{0});
  EXPECT_EQ(compressed.size(), 60u);
  EXPECT_EQ(compressed, expected);
}

TEST(Lzma2, EmptyInputIsPythonsThirtyTwoBytes) {
  const Bytes expected =
      from_hex("fd377a585a000004e6d6b446000000001cdf44211fb6f37d010000000004595a");
  EXPECT_EQ(make_codec(lzma2_kind())->compress(Bytes{}), expected);
}

TEST(Lzma2, RoundTrips) { expect_round_trips(*make_codec(lzma2_kind())); }

TEST(Lzma2, StreamedOutputEqualsOneShot) {
  expect_stream_equals_one_shot(*make_codec(lzma2_kind()));
}

TEST(Lzma2, DamagedInputThrowsCorruptDataError) {
  expect_rejects_damage(*make_codec(lzma2_kind()), /*has_checksum=*/true);
}

TEST(Lzma2, RejectsSecondConcatenatedStream) {
  const auto codec = make_codec(lzma2_kind());
  Bytes two = codec->compress(Bytes{1, 2, 3});
  append(two, codec->compress(Bytes{4, 5}));
  EXPECT_THROW(codec->decompress(two, 5), CorruptDataError);
}

TEST(Lzma2, CompressIsThreadSafe) { expect_thread_safe(*make_codec(lzma2_kind())); }

TEST(Lzma2, PresetOptionsAreValidatedAndUsed) {
  expect_rejects_option(lzma2_kind(), "preset", 10);
  expect_rejects_option(lzma2_kind(), "preset", -1);
  EXPECT_THROW(make_codec(lzma2_kind(), {{"extreme", 1}}), InputError);

  const Bytes text = text_like(1 << 18, 7);
  const auto fast = make_codec(lzma2_kind(), {{"preset", 0}});
  const auto best = make_codec(lzma2_kind());
  const auto extreme = make_codec(lzma2_kind(), {{"extreme", true}});
  EXPECT_LT(best->compress(text).size(), fast->compress(text).size());
  EXPECT_NE(extreme->compress(text), best->compress(text));
  EXPECT_EQ(extreme->decompress(extreme->compress(text), text.size()), text);
}

// The generation figure (harness/experiments/generation.h) compresses 256 extensions of a 2 kB
// context per sampled byte and relies on this: below the dictionary size, a smaller dictionary
// changes one header byte (the dictionary's size), never the length.
TEST(Lzma2, SmallDictionaryKeepsTheLengthOfShorterInputs) {
  const auto paper = make_codec(lzma2_kind());
  const auto small = make_codec(lzma2_kind(), {{"dict_size", 4096}});
  for (std::uint32_t seed = 0; seed < 40; ++seed) {
    Bytes input = text_like(1 + (seed * 523) % 4096, seed);
    if (seed % 2 == 1) {
      for (std::size_t i = 0; i < input.size(); ++i) input[i] ^= static_cast<std::uint8_t>(i * 37);
    }
    const Bytes compressed = small->compress(input);
    EXPECT_EQ(compressed.size(), paper->compress(input).size()) << input.size() << " bytes";
    EXPECT_EQ(small->decompress(compressed, input.size()), input);
  }
  EXPECT_EQ(small->settings().at("dict_size"), 4096);
  EXPECT_FALSE(paper->settings().contains("dict_size"));  // the paper's settings as before
  expect_rejects_option(lzma2_kind(), "dict_size", 4095);
  expect_rejects_option(lzma2_kind(), "dict_size", -1);
}

TEST(Lzma2, SettingsRecordLibraryAndParameters) {
  const auto settings = make_codec(lzma2_kind())->settings();
  EXPECT_EQ(settings.at("library"), "liblzma");
  EXPECT_EQ(settings.at("library_version"), lzma_version_string());
  EXPECT_EQ(settings.at("container"), "xz");
  EXPECT_EQ(settings.at("preset"), 6);
  EXPECT_EQ(settings.at("extreme"), false);
  EXPECT_EQ(settings.at("check"), "crc64");
}

// data/README.md: Python's lzma.compress() on the same liblzma gives 51.735 % chunked and
// 26.572 % whole; the byte counts are Python's on this Debian 12 liblzma (5.4.1).
TEST(Lzma2Golden, EnwikiSampleMatchesPythonReference) {
  LMC_REQUIRE_SHARED_DATA("text/enwiki-2016-sample.xml");
  const Rates rates =
      measure_rates(*make_codec(lzma2_kind()), shared_data() / "text/enwiki-2016-sample.xml");
  EXPECT_EQ(rates.chunks, 2973u);
  EXPECT_NEAR(rates.chunked_percent, 51.735, 0.01);
  EXPECT_NEAR(rates.whole_percent, 26.572, 0.01);
  EXPECT_EQ(rates.chunked_bytes, 3'149'972u);
  EXPECT_EQ(rates.whole_bytes, 1'617'876u);
}

}  // namespace
}  // namespace lmc::test
