// The lossless image codecs beside PNG (issue 30): JPEG XL, WebP, JPEG-LS and JPEG 2000. Each
// sees a chunk as one gray image of PNG's shape; the tests check the shape, round trips of every
// size class, damage reported as CorruptDataError, thread safety, options, settings, and each
// codec's rate on real ImageNet tiles, pinned to what it measured here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "compressors/classical_kinds.h"
#include "datasets/dataset_testing.h"
#include "media_test_data.h"

namespace lmc {
namespace {

using test::make_codec;
using test::random_bytes;

struct ImageCodec {
  std::string kind;
  // Rates (%) on the first 64 tiles of the shared ImageNet sample, measured here: chunked with
  // the header counted once (docs/PROTOCOL.md section 3), and the 64 tiles as one image.
  double tile_rate;
  double whole_rate;
};

void PrintTo(const ImageCodec& codec, std::ostream* out) { *out << codec.kind; }

const CompressorKind& kind_named(const std::string& name) {
  const CompressorKind* kind = find_compressor_kind(name);
  if (kind == nullptr) throw std::runtime_error("no compressor kind " + name);
  return *kind;
}

class ImageCodecTest : public ::testing::TestWithParam<ImageCodec> {
 protected:
  std::unique_ptr<Compressor> codec(const nlohmann::json& options = nlohmann::json::object()) {
    return make_codec(kind_named(GetParam().kind), options);
  }
};

// A smooth gradient with a little texture: what image codecs are for.
Bytes gradient(std::size_t size) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<std::uint8_t>((i % 32) * 3 + (i / 32) * 2 + (i * 7919 % 5));
  }
  return out;
}

std::vector<Bytes> imagenet_tiles(std::uint64_t count) {
  const auto dataset = test::make_dataset(
      "imagenet", {{"path", (test::shared_data() / "images/imagenet-sample").string()}});
  return test::read_chunks(*dataset, 0, count);
}

// Printable noise: text read as pixels, where CharLS's output estimate once fell short.
Bytes printable_noise(std::size_t size, std::uint64_t seed) {
  Bytes out = random_bytes(size, seed);
  for (auto& b : out) b = static_cast<std::uint8_t>(32 + b % 95);
  return out;
}

TEST_P(ImageCodecTest, RoundTripsEverySizeClass) {
  const auto c = codec();
  const std::vector<Bytes> inputs = {{0x00},
                                     {0xff, 0x01},
                                     random_bytes(7, 1),
                                     gradient(2048),
                                     Bytes(2048, 0),
                                     random_bytes(2048, 2),
                                     gradient(4096),
                                     random_bytes(3 * 2048 + 2, 3),
                                     gradient(1 << 16),
                                     printable_noise(2048, 5),
                                     printable_noise(1 << 16, 6)};
  for (const Bytes& input : inputs) {
    SCOPED_TRACE(input.size());
    const Bytes compressed = c->compress(input);
    EXPECT_EQ(c->decompress(compressed, input.size()), input);
    EXPECT_EQ(c->decompress(compressed, 0), input);  // size unknown: the unchunked decoder
    // The unchunked decoder, fed in uneven pieces.
    const auto decoder = c->stream_decoder();
    Bytes streamed;
    for (std::size_t at = 0; at < compressed.size(); at += 7) {
      decoder->write(
          ByteView(compressed).subspan(at, std::min<std::size_t>(7, compressed.size() - at)),
          streamed);
    }
    decoder->finish(streamed);
    EXPECT_EQ(streamed, input);
  }
}

TEST_P(ImageCodecTest, CompressesSmoothImagesAndBoundsNoise) {
  const auto c = codec();
  EXPECT_LT(c->compress(gradient(2048)).size(), 1024u);
  EXPECT_LT(c->compress(Bytes(2048, 7)).size(), 160u);
  EXPECT_LT(c->compress(random_bytes(2048, 4)).size(), 2048u * 5 / 4);
}

TEST_P(ImageCodecTest, EmptyInputIsAnInputError) {
  EXPECT_THROW(codec()->compress(Bytes{}), InputError);
}

TEST_P(ImageCodecTest, GarbageIsCorruptData) {
  const auto c = codec();
  for (std::uint32_t seed = 0; seed < 20; ++seed) {
    const Bytes garbage = random_bytes(16 + seed * 97, 100 + seed);
    EXPECT_THROW(c->decompress(garbage, 2048), CorruptDataError) << "seed " << seed;
  }
  EXPECT_THROW(c->decompress(Bytes{}, 2048), CorruptDataError);
  EXPECT_THROW(c->decompress(gradient(2048), 2048), CorruptDataError);
}

// A truncated stream never decodes to the chunk: it is CorruptDataError, or (where the last
// bytes hold only padding bits the decoder never reads) the same chunk.
TEST_P(ImageCodecTest, TruncationIsCorruptData) {
  const auto c = codec();
  const Bytes tile = imagenet_tiles(1).empty() ? gradient(2048) : imagenet_tiles(1)[0];
  const Bytes good = c->compress(tile);
  int decoded_anyway = 0;
  for (std::size_t length = 0; length + 1 < good.size(); ++length) {
    const ByteView prefix = ByteView(good).first(length);
    try {
      EXPECT_EQ(c->decompress(prefix, tile.size()), tile) << "truncated to " << length;
      ++decoded_anyway;
    } catch (const CorruptDataError&) {
    }
  }
  EXPECT_LE(decoded_anyway, 2) << "of " << good.size() - 1 << " truncations";
}

TEST_P(ImageCodecTest, WrongOriginalSizeIsCorruptData) {
  const auto c = codec();
  const Bytes compressed = c->compress(gradient(2048));
  EXPECT_THROW(c->decompress(compressed, 2047), CorruptDataError);
  EXPECT_THROW(c->decompress(compressed, 4096), CorruptDataError);
}

// The header counted once per run (docs/PROTOCOL.md section 3): one pixel's stream, the same
// bytes every time.
TEST_P(ImageCodecTest, OneZeroByteIsASmallDeterministicHeader) {
  const auto c = codec();
  const Bytes header = c->compress(Bytes{0});
  EXPECT_EQ(c->compress(Bytes{0}), header);
  EXPECT_LE(header.size(), 128u);
  EXPECT_EQ(c->decompress(header, 1), Bytes{0});
}

TEST_P(ImageCodecTest, ConcurrentCallsGiveTheSameBytes) {
  test::expect_concurrent_calls_agree(
      *codec(), {gradient(2048), random_bytes(2048, 41), Bytes(2048, 9), random_bytes(2048, 42)});
}

TEST_P(ImageCodecTest, SettingsRecordTheLibraryAndItsVersion) {
  const nlohmann::json settings = codec()->settings();
  EXPECT_TRUE(settings.contains("library")) << settings.dump();
  bool has_version = false;
  for (const auto& [key, value] : settings.items()) {
    has_version |= key.find("version") != std::string::npos && value.is_string() &&
                   !value.get<std::string>().empty();
  }
  EXPECT_TRUE(has_version) << settings.dump();
}

TEST_P(ImageCodecTest, RealImagenetTilesPinnedRates) {
  LMC_REQUIRE_SHARED_DATA("images/imagenet-sample");
  const auto c = codec();
  const std::vector<Bytes> tiles = imagenet_tiles(64);
  ASSERT_EQ(tiles.size(), 64u);
  for (const Bytes& tile : tiles) ASSERT_EQ(c->decompress(c->compress(tile), 2048), tile);
  const Bytes whole = c->compress(test::concatenate(tiles));
  ASSERT_EQ(c->decompress(whole, 0), test::concatenate(tiles));
  const double tile_rate = test::chunked_rate(*c, tiles);
  const double whole_rate = test::whole_rate(*c, tiles);
  std::printf("%s: header %zu bytes, 64 ImageNet tiles %.3f %%, as one image %.3f %%\n",
              GetParam().kind.c_str(), c->compress(Bytes{0}).size(), tile_rate, whole_rate);
  EXPECT_NEAR(tile_rate, GetParam().tile_rate, 0.05);
  EXPECT_NEAR(whole_rate, GetParam().whole_rate, 0.05);
}

INSTANTIATE_TEST_SUITE_P(Codecs, ImageCodecTest,
                         ::testing::Values(ImageCodec{"png", 62.072, 57.972},
                                           ImageCodec{"jxl", 56.670, 54.532},
                                           ImageCodec{"webp", 58.564, 55.775},
                                           ImageCodec{"jpegls", 61.567, 56.319},
                                           ImageCodec{"jpeg2000", 59.921, 59.109}),
                         [](const auto& info) { return info.param.kind; });

// --- what each codec adds of its own ---

TEST(Jxl, EffortIsAnOption) {
  const auto fast = make_codec(jxl_kind(), {{"effort", 1}});
  const auto best = make_codec(jxl_kind());
  const Bytes tile = gradient(2048);
  EXPECT_EQ(fast->decompress(fast->compress(tile), 2048), tile);
  EXPECT_EQ(best->settings()["effort"], 9);
  EXPECT_THROW(make_codec(jxl_kind(), {{"effort", 0}}), InputError);
  EXPECT_THROW(make_codec(jxl_kind(), {{"effort", 10}}), InputError);
}

TEST(Jxl, StoresTheNakedCodestream) {
  const Bytes stream = make_codec(jxl_kind())->compress(gradient(2048));
  ASSERT_GE(stream.size(), 2u);
  EXPECT_EQ(stream[0], 0xff);  // the codestream signature FF 0A, not the container's box
  EXPECT_EQ(stream[1], 0x0a);
}

TEST(Webp, StoresTheBareVp8lBitstreamAndCountsTheContainer) {
  const auto c = make_codec(webp_kind());
  Counters counters;
  const Bytes stream = c->compress(gradient(2048), counters);
  ASSERT_FALSE(stream.empty());
  EXPECT_EQ(stream[0], 0x2f);  // the VP8L signature byte
  // RIFF header 12 + VP8L chunk header 8, plus a pad byte when the payload is odd.
  EXPECT_EQ(counters["container_bytes"], 20.0 + static_cast<double>(stream.size() % 2));
  EXPECT_THROW(make_codec(webp_kind(), {{"method", 7}}), InputError);
  EXPECT_THROW(make_codec(webp_kind(), {{"quality", 101}}), InputError);
}

TEST(Jpegls, StreamIsMarkersAndOneScanOnly) {
  const Bytes stream = make_codec(jpegls_kind())->compress(gradient(2048));
  ASSERT_GE(stream.size(), 4u);
  EXPECT_EQ(stream[0], 0xff);  // SOI
  EXPECT_EQ(stream[1], 0xd8);
  EXPECT_EQ(stream[2], 0xff);  // SOF55 right after: no SPIFF header, no LSE segment
  EXPECT_EQ(stream[3], 0xf7);
  EXPECT_EQ(stream[stream.size() - 2], 0xff);  // EOI
  EXPECT_EQ(stream.back(), 0xd9);
}

TEST(Jpeg2000, RawCodestreamAndResolutionsOption) {
  const Bytes stream = make_codec(jpeg2000_kind())->compress(gradient(2048));
  ASSERT_GE(stream.size(), 2u);
  EXPECT_EQ(stream[0], 0xff);  // SOC, not a JP2 signature box
  EXPECT_EQ(stream[1], 0x4f);
  const auto one_level = make_codec(jpeg2000_kind(), {{"resolutions", 1}});
  EXPECT_EQ(one_level->decompress(one_level->compress(gradient(2048)), 2048), gradient(2048));
  EXPECT_THROW(make_codec(jpeg2000_kind(), {{"resolutions", 0}}), InputError);
}

}  // namespace
}  // namespace lmc
