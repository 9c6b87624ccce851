// WavPack (issue 30): the bytes as 8-bit mono samples, as the flac kind reads them. Round
// trips, damage (garbage, every truncation, trailing bytes, flipped bytes caught by the block
// CRC), options, and its rates on the shared LibriSpeech utterances and on random bytes, pinned
// to what it measured here.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/error.h"
#include "compressors/classical_kinds.h"
#include "media_test_data.h"

namespace lmc {
namespace {

using test::make_codec;
using test::random_bytes;

std::unique_ptr<Compressor> wavpack() { return make_codec(wavpack_kind()); }

Bytes tone(std::size_t size) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<std::uint8_t>(128 + 90 * ((i / 16) % 2 == 0 ? 1 : -1) * (i % 16) / 16);
  }
  return out;
}

TEST(Wavpack, RoundTrips) {
  const auto c = wavpack();
  for (const Bytes& input : {Bytes{0}, Bytes{255, 0, 128}, tone(2048), Bytes(2048, 128),
                             random_bytes(2048, 1), tone(1 << 20)}) {
    SCOPED_TRACE(input.size());
    const Bytes compressed = c->compress(input);
    EXPECT_EQ(c->decompress(compressed, input.size()), input);
    EXPECT_EQ(c->decompress(compressed, 0), input);
  }
  EXPECT_LT(c->compress(tone(2048)).size(), 1536u);
}

TEST(Wavpack, EmptyInputIsAnInputError) { EXPECT_THROW(wavpack()->compress(Bytes{}), InputError); }

TEST(Wavpack, RoundTripsRealAudio) {
  LMC_REQUIRE_SHARED_DATA("audio/librispeech");
  const auto c = wavpack();
  const auto chunks = test::audio_chunks("audio/librispeech");
  for (std::size_t i = 0; i < chunks.size(); i += 7) {
    EXPECT_EQ(c->decompress(c->compress(chunks[i]), 2048), chunks[i]) << "chunk " << i;
  }
}

TEST(Wavpack, DamageIsCorruptData) {
  const auto c = wavpack();
  const Bytes input = tone(2048);
  const Bytes good = c->compress(input);
  for (std::uint32_t seed = 0; seed < 20; ++seed) {
    EXPECT_THROW(c->decompress(random_bytes(16 + seed * 97, 100 + seed), 2048), CorruptDataError)
        << "garbage " << seed;
  }
  EXPECT_THROW(c->decompress(Bytes{}, 2048), CorruptDataError);
  for (std::size_t length = 0; length < good.size(); ++length) {
    EXPECT_THROW(c->decompress(ByteView(good).first(length), 2048), CorruptDataError)
        << "truncated to " << length;
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_THROW(c->decompress(trailing, 2048), CorruptDataError);
  EXPECT_THROW(c->decompress(good, 2047), CorruptDataError);
  // Past the 32-byte block header and its metadata, a flipped byte fails the block's CRC.
  int caught = 0, flips = 0;
  for (std::size_t at = good.size() / 2; at < good.size(); at += 5, ++flips) {
    Bytes flipped = good;
    flipped[at] ^= 0x10;
    try {
      caught += c->decompress(flipped, 2048) != input;
    } catch (const CorruptDataError&) {
      ++caught;
    }
  }
  EXPECT_EQ(caught, flips);
}

TEST(Wavpack, StreamDecoderDecodesTheWholeStream) {
  const auto c = wavpack();
  const Bytes input = tone(300'000);
  auto encoder = c->stream_encoder();
  Bytes compressed;
  for (std::size_t at = 0; at < input.size(); at += 2048) {
    encoder->write(ByteView(input).subspan(at, std::min<std::size_t>(2048, input.size() - at)),
                   compressed);
  }
  encoder->finish(compressed);
  auto decoder = c->stream_decoder();
  Bytes decoded;
  decoder->write(compressed, decoded);
  decoder->finish(decoded);
  EXPECT_EQ(decoded, input);
}

TEST(Wavpack, ConcurrentCallsGiveTheSameBytes) {
  test::expect_concurrent_calls_agree(
      *wavpack(), {tone(2048), random_bytes(2048, 5), Bytes(2048, 128), tone(4096)});
}

TEST(Wavpack, SettingsAndOptions) {
  const nlohmann::json settings = wavpack()->settings();
  EXPECT_EQ(settings["library"], "libwavpack");
  EXPECT_FALSE(settings["library_version"].get<std::string>().empty());
  EXPECT_EQ(settings["extra"], 6);
  const auto plain = make_codec(wavpack_kind(), {{"extra", 0}});
  EXPECT_EQ(plain->decompress(plain->compress(tone(2048)), 2048), tone(2048));
  EXPECT_THROW(make_codec(wavpack_kind(), {{"extra", 7}}), InputError);
}

TEST(Wavpack, RandomChunksRate) {
  const double rate = test::chunked_rate(*wavpack(), test::random_chunks(200, 2048, 11));
  std::printf("wavpack random chunked: %.3f %%\n", rate);
  EXPECT_NEAR(rate, 102.492, 0.01);
}

TEST(Wavpack, LibriSpeechRates) {
  LMC_REQUIRE_SHARED_DATA("audio/librispeech");
  const auto c = wavpack();
  // Beside flac (libFLAC, strongest) 29.8 % chunked and flac-paper 35.989 / 36.479 %.
  const auto rates = test::librispeech_rates(*c, "wavpack", {28.976, 30.081});
  EXPECT_NEAR(rates.chunked, 28.976, 0.01);
  EXPECT_NEAR(rates.whole, 30.081, 0.01);
}

}  // namespace
}  // namespace lmc
