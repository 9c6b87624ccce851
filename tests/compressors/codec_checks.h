// Checks every general-purpose codec must pass (gzip, lzma2, zstd, brotli, bzip2): round trips
// on the standard inputs, streamed output equal to one-shot output, damage always reported as
// CorruptDataError, thread safety, option validation; plus the paper's chunked/whole accounting
// for the golden rates.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "common/options.h"
#include "compressors/classical_kinds.h"
#include "compressors/compressor.h"

namespace lmc::test {

inline constexpr std::size_t kChunkSize = 2048;
inline constexpr const char* kOptionsKeyPath = "compressors[0]";

inline std::unique_ptr<Compressor> make_codec(
    const CompressorKind& kind, const nlohmann::json& options = nlohmann::json::object()) {
  return kind.make(Options::validate(options, kind.options, kOptionsKeyPath), CodecContext{});
}

inline Bytes random_bytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  Bytes out(size);
  for (auto& b : out) b = static_cast<std::uint8_t>(byte(generator));
  return out;
}

// Wiki-like text: words drawn with a skewed distribution, punctuation, markup and line breaks,
// so codecs find the repeats they find in enwik9 rather than either noise or one pattern.
inline Bytes text_like(std::size_t size, std::uint32_t seed) {
  static constexpr std::array<const char*, 24> kWords = {
      "the",      "of",    "and",        "in",      "to",        "a",           "is",     "was",
      "[[city]]", "river", "{{cite web", "|url=",   "century",   "&quot;",      "<page>", "</text>",
      "history",  "first", "population", "England", "anarchism", "'''Paris'''", "1871",   "=="};
  std::mt19937 generator(seed);
  std::geometric_distribution<int> word_rank(0.18);
  std::uniform_int_distribution<int> separator(0, 19);
  Bytes out;
  out.reserve(size + 16);
  while (out.size() < size) {
    append(out, as_bytes(kWords[std::min<std::size_t>(word_rank(generator), kWords.size() - 1)]));
    const int s = separator(generator);
    append(out, as_bytes(s == 0 ? ".\n" : s == 1 ? ", " : " "));
  }
  out.resize(size);
  return out;
}

inline Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

inline Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Feeds `data` in uneven pieces (empty, 1 byte, odd sizes, larger than a chunk) and collects
// everything the codec emits.
inline Bytes run_in_pieces(StreamCodec& codec, ByteView data) {
  static constexpr std::array<std::size_t, 8> kPieceSizes = {0, 1, 7, 4093, 2, 65'537, 333, 2048};
  Bytes out;
  std::size_t next = 0;
  for (std::size_t i = 0; next < data.size(); ++i) {
    const std::size_t piece = std::min(kPieceSizes[i % kPieceSizes.size()], data.size() - next);
    codec.write(data.subspan(next, piece), out);
    next += piece;
  }
  codec.finish(out);
  return out;
}

struct NamedInput {
  std::string name;
  Bytes bytes;
  std::size_t max_compressed_size;  // loose, but fails if a codec stops compressing at all
};

// The inputs the issue names: empty, 1 byte, 2048 bytes of text, all-zero 2048, random 2048
// (seeded), 1 MB of text-like data. Noise may grow by a container and, for bzip2, its block
// coding; everything else must shrink.
inline std::vector<NamedInput> standard_inputs() {
  return {{"empty", {}, 64},
          {"one byte", {0x41}, 64},
          {"2048 text", text_like(kChunkSize, 1), kChunkSize * 3 / 4},
          {"2048 zeros", Bytes(kChunkSize, 0), 100},
          {"2048 random", random_bytes(kChunkSize, 2), kChunkSize * 5 / 4},
          {"1 MB text", text_like(1 << 20, 3), (1 << 20) / 2}};
}

inline void expect_round_trips(const Compressor& codec) {
  for (const auto& input : standard_inputs()) {
    SCOPED_TRACE(input.name);
    const Bytes compressed = codec.compress(input.bytes);
    EXPECT_FALSE(compressed.empty());
    EXPECT_LE(compressed.size(), input.max_compressed_size);
    EXPECT_EQ(codec.decompress(compressed, input.bytes.size()), input.bytes);
    // The stream decoder, fed unevenly, agrees with the one-shot one.
    EXPECT_EQ(run_in_pieces(*codec.stream_decoder(), compressed), input.bytes);
  }
}

inline void expect_stream_equals_one_shot(const Compressor& codec) {
  for (const auto& input : standard_inputs()) {
    SCOPED_TRACE(input.name);
    EXPECT_EQ(run_in_pieces(*codec.stream_encoder(), input.bytes), codec.compress(input.bytes));
  }
  // A stream of 2048-byte chunks, as the unchunked mode writes it, long enough to cross the
  // block boundaries of every codec (bzip2: 900 kB blocks, xz: 2 MiB LZMA2 chunks).
  const Bytes corpus = text_like(2'200'000, 4);
  auto encoder = codec.stream_encoder();
  Bytes streamed;
  for (std::size_t at = 0; at < corpus.size(); at += kChunkSize) {
    encoder->write(ByteView(corpus).subspan(at, std::min(kChunkSize, corpus.size() - at)),
                   streamed);
  }
  encoder->finish(streamed);
  EXPECT_EQ(streamed, codec.compress(corpus));
  EXPECT_EQ(codec.decompress(streamed, corpus.size()), corpus);
}

template <typename Action>
void expect_corrupt(Action&& action, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_THROW(action(), CorruptDataError);
}

// Garbage, every truncation, trailing bytes, and (for codecs with a checksum) a flipped byte
// must all raise CorruptDataError, through decompress() and through the stream decoder.
inline void expect_rejects_damage(const Compressor& codec, bool has_checksum) {
  const Bytes original = text_like(kChunkSize, 5);
  const Bytes good = codec.compress(original);

  for (std::uint32_t seed = 0; seed < 20; ++seed) {
    const Bytes garbage = random_bytes(16 + seed * 97, 100 + seed);
    expect_corrupt([&] { codec.decompress(garbage, kChunkSize); },
                   "random garbage, seed " + std::to_string(seed));
  }
  expect_corrupt([&] { codec.decompress(original, kChunkSize); }, "uncompressed text");
  expect_corrupt([&] { codec.decompress(Bytes{}, 0); }, "empty input");

  for (std::size_t length = 0; length < good.size(); ++length) {
    const ByteView prefix = ByteView(good).first(length);
    expect_corrupt([&] { codec.decompress(prefix, kChunkSize); },
                   "truncated to " + std::to_string(length) + " bytes");
  }
  expect_corrupt(
      [&] {
        auto decoder = codec.stream_decoder();
        Bytes out;
        decoder->write(ByteView(good).first(good.size() - 1), out);
        decoder->finish(out);
      },
      "stream decoder finished one byte early");

  Bytes trailing = good;
  trailing.push_back(0);
  expect_corrupt([&] { codec.decompress(trailing, kChunkSize); }, "one trailing byte");

  // Only the middle is flipped: container headers carry unchecked fields (gzip's mtime, zstd's
  // window size) and bzip2's last byte ends in padding bits.
  if (has_checksum) {
    for (std::size_t at = good.size() / 4; at < good.size() * 3 / 4; at += 7) {
      Bytes flipped = good;
      flipped[at] ^= 0x10;
      expect_corrupt([&] { codec.decompress(flipped, kChunkSize); },
                     "byte " + std::to_string(at) + " flipped");
    }
  }
}

// compress/decompress are const and must be callable from several threads at once.
inline void expect_thread_safe(const Compressor& codec) {
  constexpr int kThreads = 3;
  std::vector<Bytes> inputs, expected;
  for (int i = 0; i < kThreads; ++i) {
    inputs.push_back(text_like(64 * 1024, 10 + i));
    expected.push_back(codec.compress(inputs.back()));
  }
  std::vector<int> matches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int repeat = 0; repeat < 4; ++repeat) {
        const Bytes compressed = codec.compress(inputs[i]);
        matches[i] += compressed == expected[i] && codec.decompress(compressed, 0) == inputs[i];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(matches[i], 4) << "thread " << i;
}

// An out-of-range value is an InputError that names the config key and the bad value.
inline void expect_rejects_option(const CompressorKind& kind, const std::string& key,
                                  const nlohmann::json& value) {
  SCOPED_TRACE(key + " = " + value.dump());
  try {
    make_codec(kind, {{key, value}});
    ADD_FAILURE() << "accepted";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(std::string(kOptionsKeyPath) + "." + key), std::string::npos) << message;
    EXPECT_NE(message.find(value.dump()), std::string::npos) << message;
  }
}

// docs/PROTOCOL.md section 3 accounting over the full 2048-byte chunks of a file.
struct Rates {
  std::size_t chunks = 0;
  std::uint64_t chunked_bytes = 0;  // sum of chunk sizes - (N - 1) x size(compress(0x00))
  std::uint64_t whole_bytes = 0;    // one stream over the N chunks
  double chunked_percent = 0;
  double whole_percent = 0;
};

inline Rates measure_rates(const Compressor& codec, const std::filesystem::path& file) {
  const Bytes data = read_file(file);
  Rates rates;
  rates.chunks = data.size() / kChunkSize;
  const std::uint64_t header = codec.compress(Bytes{0}).size();
  auto whole = codec.stream_encoder();
  Bytes whole_output;
  for (std::size_t i = 0; i < rates.chunks; ++i) {
    const ByteView chunk = ByteView(data).subspan(i * kChunkSize, kChunkSize);
    rates.chunked_bytes += codec.compress(chunk).size();
    whole->write(chunk, whole_output);
  }
  whole->finish(whole_output);
  rates.chunked_bytes -= (rates.chunks - 1) * header;
  rates.whole_bytes = whole_output.size();
  const double raw = static_cast<double>(rates.chunks * kChunkSize);
  rates.chunked_percent = 100.0 * static_cast<double>(rates.chunked_bytes) / raw;
  rates.whole_percent = 100.0 * static_cast<double>(rates.whole_bytes) / raw;
  return rates;
}

}  // namespace lmc::test
