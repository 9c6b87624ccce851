// FLAC codecs: "flac" (libFLAC, strongest settings, 8-bit samples) and "flac-paper" (ffmpeg's
// encoder at level 12 through libavcodec, byte-identical to the ffmpeg program).
#include <FLAC/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/error.h"
#include "compressors/classical_kinds.h"
#include "media_test_data.h"

namespace lmc {
namespace {

using test::random_bytes;

std::unique_ptr<Compressor> flac(int block_size = 0) {
  if (block_size == 0) return test::make_codec(flac_kind());
  return test::make_codec(flac_kind(), {{"block_size", block_size}});
}
std::unique_ptr<Compressor> flac_paper() { return test::make_codec(flac_paper_kind()); }

Bytes sine_bytes(std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::uint8_t>(128 + 90 * std::sin(i * 0.031) + (i * 7919 % 5));
  }
  return out;
}

std::vector<Bytes> roundtrip_inputs() {
  return {Bytes{0},           Bytes{255},
          Bytes(2048, 0),     Bytes(2048, 128),
          sine_bytes(2048),   random_bytes(2048, 1),
          random_bytes(1, 2), random_bytes(5000, 3),
          sine_bytes(20'000)};
}

// Writes `in` to a StreamCodec in pieces of `piece` bytes and collects everything it emits.
Bytes run_stream(StreamCodec& codec, ByteView in, std::size_t piece) {
  Bytes out;
  for (std::size_t at = 0; at < in.size(); at += piece) {
    codec.write(in.subspan(at, std::min(piece, in.size() - at)), out);
  }
  codec.finish(out);
  return out;
}

// Decoding damaged input must fail cleanly or, where the damage hit bytes the decoder does not
// need (a Vorbis comment, a STREAMINFO size hint), still give exactly the original.
void expect_damage_caught(const Compressor& codec, const Bytes& input) {
  const Bytes encoded = codec.compress(input);
  for (std::size_t n = 0; n < encoded.size(); n += 1 + n / 16) {
    EXPECT_THROW(codec.decompress(ByteView(encoded).first(n), input.size()), CorruptDataError)
        << "truncated to " << n;
  }
  int caught = 0;
  for (std::size_t at = 0; at < encoded.size(); ++at) {
    Bytes damaged = encoded;
    damaged[at] ^= static_cast<std::uint8_t>(1u << (at % 8));
    try {
      EXPECT_EQ(codec.decompress(damaged, input.size()), input) << "flip at " << at;
    } catch (const CorruptDataError&) {
      ++caught;
    }
  }
  EXPECT_GT(caught, 0);
  EXPECT_THROW(codec.decompress(random_bytes(3000, 4), 2048), CorruptDataError);
  EXPECT_THROW(codec.decompress(Bytes{}, 2048), CorruptDataError);
}

// ---- libFLAC ----

TEST(Flac, RoundTrips) {
  const auto codec = flac();
  for (const auto& input : roundtrip_inputs()) {
    EXPECT_EQ(codec->decompress(codec->compress(input), input.size()), input)
        << input.size() << " bytes";
    EXPECT_EQ(codec->decompress(codec->compress(input), 0), input) << "size unknown";
  }
}

TEST(Flac, EmptyInputRoundTrips) {
  const auto codec = flac();
  EXPECT_EQ(codec->decompress(codec->compress(Bytes{}), 0), Bytes{});
}

TEST(Flac, DamageIsCaught) {
  expect_damage_caught(*flac(), sine_bytes(2048));
  expect_damage_caught(*flac(), random_bytes(2048, 5));
}

TEST(Flac, LengthDisagreeingWithStreamInfoIsCorruptData) {
  const auto codec = flac();
  const Bytes encoded = codec->compress(sine_bytes(2048));
  EXPECT_THROW(codec->decompress(encoded, 2047), CorruptDataError);
  EXPECT_THROW(codec->decompress(encoded, 2049), CorruptDataError);
}

TEST(Flac, StreamingEncoderMatchesOneShotSizeAndDecodes) {
  const auto codec = flac();
  // Random bytes stay ~1 byte per sample, so the stream exceeds the decoder's 128 KiB
  // look-ahead and is decoded while input still arrives. (libFLAC's exhaustive search makes
  // this the slow part of the suite: keep it small.)
  const Bytes input = test::concatenate({random_bytes(140'000, 6), sine_bytes(10'000)});
  const auto encoder = codec->stream_encoder();
  const Bytes streamed = run_stream(*encoder, input, 2048);
  ASSERT_GT(streamed.size(), std::size_t{128} << 10);
  // Same frames; only STREAMINFO's MD5 and frame-size fields stay unknown (0) in a stream.
  EXPECT_EQ(streamed.size(), codec->compress(input).size());
  EXPECT_EQ(codec->decompress(streamed, input.size()), input);
  const auto decoder = codec->stream_decoder();
  EXPECT_EQ(run_stream(*decoder, streamed, 4093), input);
}

TEST(Flac, StreamDecoderRejectsDamage) {
  const auto codec = flac();
  const Bytes input = sine_bytes(20'000);
  Bytes damaged = codec->compress(input);
  damaged[damaged.size() / 2] ^= 0x10;
  const auto decoder = codec->stream_decoder();
  EXPECT_THROW(run_stream(*decoder, damaged, 1000), CorruptDataError);
  const auto truncated = codec->stream_decoder();
  EXPECT_THROW(
      run_stream(*truncated, ByteView(codec->compress(input)).first(damaged.size() - 7), 1000),
      CorruptDataError);
}

TEST(Flac, ConcurrentCallsGiveTheSameBytes) {
  const auto codec = flac();
  std::vector<Bytes> chunks;
  for (int i = 0; i < 16; ++i)
    chunks.push_back(i % 2 ? random_bytes(2048, i) : sine_bytes(2048 + i));
  test::expect_concurrent_calls_agree(*codec, chunks);
}

TEST(Flac, SettingsRecordTheLibraryAndEncoderChoices) {
  const auto settings = flac()->settings();
  EXPECT_EQ(settings.at("libflac_version"), std::string(FLAC__VERSION_STRING));
  EXPECT_EQ(settings.at("compression_level"), 8);
  EXPECT_EQ(settings.at("max_lpc_order"), 32);
  EXPECT_EQ(settings.at("exhaustive_model_search"), true);
  EXPECT_EQ(settings.at("qlp_coeff_precision_search"), true);
  EXPECT_EQ(flac(512)->settings().at("block_size"), 512);
}

// The search can be narrowed for speed; the choice is recorded and still round trips.
TEST(Flac, FasterSearchIsConfigurableAndRecorded) {
  const auto fast =
      test::make_codec(flac_kind(), {{"max_lpc_order", 12}, {"qlp_coeff_precision_search", false}});
  EXPECT_EQ(fast->settings().at("max_lpc_order"), 12);
  EXPECT_EQ(fast->settings().at("qlp_coeff_precision_search"), false);
  const Bytes tone = [] {
    Bytes bytes(2048);
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<std::uint8_t>(128 + 90 * std::sin(i * 0.05));
    return bytes;
  }();
  EXPECT_EQ(fast->decompress(fast->compress(tone), tone.size()), tone);
  // The strongest search is never larger than the narrowed one.
  EXPECT_LE(flac()->compress(tone).size(), fast->compress(tone).size());
  EXPECT_THROW(test::make_codec(flac_kind(), {{"max_lpc_order", 33}}), InputError);
}

TEST(Flac, BlockSizeOutsideFlacIsAnInputError) {
  EXPECT_THROW(flac(8), InputError);
  EXPECT_THROW(flac(70'000), InputError);
}

TEST(Flac, RandomChunksRate) {
  const double rate = test::chunked_rate(*flac(), test::random_chunks(100, 2048, 2024));
  std::printf("libFLAC random 2048-byte chunks (100): chunked %.3f %% (paper, ffmpeg: 107.2)\n",
              rate);
  // 8-bit samples: random bytes cost one verbatim byte each, plus frame headers.
  EXPECT_GT(rate, 100.0);
  EXPECT_LT(rate, 103.0);
}

// The default block size is the best of the candidates on real 2048-byte speech chunks.
TEST(Flac, DefaultBlockSizeIsBestOnSpeechChunks) {
  LMC_REQUIRE_SHARED_DATA("audio/librispeech");
  const auto chunks = test::audio_chunks("audio/librispeech");
  const int chosen = static_cast<int>(flac()->settings().at("block_size"));
  double chosen_rate = 0, best_rate = 1e9;
  for (int block_size : {512, 1024, 1152, 2048}) {
    const double rate = test::chunked_rate(*flac(block_size), chunks);
    std::printf("libFLAC block size %4d: librispeech chunked %.3f %%\n", block_size, rate);
    best_rate = std::min(best_rate, rate);
    if (block_size == chosen) chosen_rate = rate;
  }
  EXPECT_EQ(chosen_rate, best_rate);
}

TEST(Flac, LibriSpeechRatesAndRoundTrips) {
  LMC_REQUIRE_SHARED_DATA("audio/librispeech");
  const auto chunks = test::audio_chunks("audio/librispeech");
  ASSERT_EQ(chunks.size(), 142u);
  const auto codec = flac();
  // Each chunk compressed once (libFLAC's search is slow), decoded, and counted.
  double compressed = 0;
  for (const auto& chunk : chunks) {
    const Bytes encoded = codec->compress(chunk);
    ASSERT_EQ(codec->decompress(encoded, chunk.size()), chunk);
    compressed += static_cast<double>(encoded.size());
  }
  const double header = static_cast<double>(codec->compress(Bytes{0}).size());
  const Bytes all = test::concatenate(chunks);
  const double raw = static_cast<double>(all.size());
  const double chunked = 100 * (compressed - static_cast<double>(chunks.size() - 1) * header) / raw;
  const Bytes whole_encoded = codec->compress(all);
  EXPECT_EQ(codec->decompress(whole_encoded, all.size()), all);
  const double whole = 100 * static_cast<double>(whole_encoded.size()) / raw;
  std::printf("libFLAC librispeech: chunked %.3f %%, whole %.3f %% (ffmpeg ref 35.989 / 36.479)\n",
              chunked, whole);
  // No 8 KiB padding, 8-bit samples, a deeper search: libFLAC beats ffmpeg's encoder here.
  EXPECT_LT(chunked, 35.989);
  EXPECT_LT(whole, 36.479);
}

// ---- ffmpeg's encoder, as the paper ran it ----

bool ffmpeg_program_present() { return std::system("command -v ffmpeg >/dev/null 2>&1") == 0; }

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// What the authors' pipeline produced: the ffmpeg program fed `input` on stdin.
Bytes ffmpeg_program_output(const Bytes& input) {
  test::TempDir dir;
  const auto in_path = dir.path() / "in.u8";
  const auto out_path = dir.path() / "out.flac";
  std::ofstream(in_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(input.data()),
             static_cast<std::streamsize>(input.size()));
  const std::string command =
      "ffmpeg -hide_banner -loglevel error -f u8 -ar 16000 -ac 1 -i - -compression_level 12 "
      "-f flac - <'" +
      in_path.string() + "' >'" + out_path.string() + "'";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
  return read_file(out_path);
}

TEST(FlacPaper, ByteIdenticalToTheFfmpegProgram) {
  if (!ffmpeg_program_present()) {
    LMC_SKIP_UNLESS_CI(
        "the ffmpeg program is not installed, so there is nothing to compare "
        "with: install the Debian package ffmpeg");
  }
  std::vector<std::pair<std::string, Bytes>> inputs = {
      {"one zero byte", Bytes{0}},
      {"empty", Bytes{}},
      {"2048 random bytes", random_bytes(2048, 7)},
      {"100 kB random", random_bytes(100'000, 8)},
      {"100 kB sine", sine_bytes(100'000)},
  };
  if (std::filesystem::exists(test::shared_data() / "audio/librispeech")) {
    const auto files = test::audio_files("audio/librispeech");
    inputs.emplace_back("2048 bytes of speech",
                        Bytes(files[2].begin() + 40'960, files[2].begin() + 40'960 + 2048));
    inputs.emplace_back("100 kB of speech", Bytes(files[2].begin(), files[2].begin() + 100'000));
  }
  const auto codec = flac_paper();
  for (const auto& [name, input] : inputs) {
    const Bytes ours = codec->compress(input);
    const Bytes theirs = ffmpeg_program_output(input);
    EXPECT_EQ(ours.size(), theirs.size()) << name;
    EXPECT_TRUE(ours == theirs) << name << ": bytes differ";
  }
}

TEST(FlacPaper, OneZeroByteIs8300Bytes) {
  EXPECT_EQ(flac_paper()->compress(Bytes{0}).size(), 8300u);
}

TEST(FlacPaper, RoundTrips) {
  const auto codec = flac_paper();
  for (const auto& input : roundtrip_inputs()) {
    EXPECT_EQ(codec->decompress(codec->compress(input), input.size()), input)
        << input.size() << " bytes";
    EXPECT_EQ(codec->decompress(codec->compress(input), 0), input) << "size unknown";
  }
  EXPECT_EQ(codec->decompress(codec->compress(Bytes{}), 0), Bytes{});
}

TEST(FlacPaper, RoundTripsRealAudio) {
  LMC_REQUIRE_SHARED_DATA("audio/librispeech");
  const auto codec = flac_paper();
  for (const auto& file : test::audio_files("audio/librispeech")) {
    EXPECT_EQ(codec->decompress(codec->compress(file), file.size()), file);
  }
}

TEST(FlacPaper, DamageIsCaught) {
  expect_damage_caught(*flac_paper(), sine_bytes(2048));
  expect_damage_caught(*flac_paper(), random_bytes(2048, 5));
}

TEST(FlacPaper, StreamingEncoderIsByteIdenticalToOneShot) {
  // A pipe never seeks, so the stream and the one-shot output are the same bytes.
  const auto codec = flac_paper();
  const Bytes input = test::concatenate({sine_bytes(50'000), random_bytes(30'001, 9)});
  const auto encoder = codec->stream_encoder();
  EXPECT_EQ(run_stream(*encoder, input, 2048), codec->compress(input));
}

TEST(FlacPaper, ConcurrentCallsGiveTheSameBytes) {
  const auto codec = flac_paper();
  const auto chunks = test::random_chunks(16, 2048, 300);
  test::expect_concurrent_calls_agree(*codec, chunks);
}

TEST(FlacPaper, SettingsRecordEncoderAndConversion) {
  const auto settings = flac_paper()->settings();
  EXPECT_EQ(settings.at("compression_level"), 12);
  EXPECT_EQ(settings.at("libavcodec_version"), "59.37.100");
  EXPECT_NE(settings.at("samples").get<std::string>().find("(x - 128) << 8"), std::string::npos);
}

// docs/PROTOCOL.md section 3 gives 107.2 % for FLAC (ffmpeg level 12) on 2048-byte random chunks.
// Debian's ffmpeg 5.1 gives 107.59 %, the same bytes as its ffmpeg program (tested above), so
// the gap is the authors' ffmpeg build, not this pipeline. Pinned to what 5.1 does.
TEST(FlacPaper, RandomChunksRate) {
  const double rate = test::chunked_rate(*flac_paper(), test::random_chunks(1000, 2048, 2024));
  std::printf("ffmpeg FLAC random 2048-byte chunks (1000): chunked %.3f %% (paper 107.2)\n", rate);
  EXPECT_NEAR(rate, 107.59, 0.05);
}

// Data README: audio/librispeech, ffmpeg FLAC level 12: chunked 35.989 %, whole 36.479 %.
TEST(FlacPaper, LibriSpeechRatesMatchTheReference) {
  LMC_REQUIRE_SHARED_DATA("audio/librispeech");
  const auto rates = test::librispeech_rates(*flac_paper(), "ffmpeg FLAC", {35.989, 36.479});
  EXPECT_NEAR(rates.chunked, 35.989, 0.0015);
  EXPECT_NEAR(rates.whole, 36.479, 0.0015);
}

}  // namespace
}  // namespace lmc
