// Inputs and measures shared by the media codec tests (PNG, FLAC): seeded random bytes, the
// shared LibriSpeech utterances as the paper's bytes, and the paper's chunked/whole rates.
#pragma once

#include <sndfile.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "compressors/compressor.h"
#include "test_support.h"

namespace lmc::test {

inline Bytes random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(byte(rng));
  return out;
}

inline std::vector<Bytes> random_chunks(std::size_t count, std::size_t size, std::uint64_t seed) {
  std::vector<Bytes> chunks;
  for (std::size_t i = 0; i < count; ++i) chunks.push_back(random_bytes(size, seed + i));
  return chunks;
}

// One audio file as the paper's bytes: 16-bit samples, one byte each = (sample >> 8) + 128.
inline Bytes audio_bytes(const std::filesystem::path& file) {
  SF_INFO info{};
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> sound(sf_open(file.c_str(), SFM_READ, &info),
                                                    sf_close);
  if (!sound)
    throw std::runtime_error("cannot open " + file.string() + ": " + sf_strerror(nullptr));
  if (info.channels != 1) throw std::runtime_error(file.string() + ": not mono");
  std::vector<short> samples(static_cast<std::size_t>(info.frames));
  const sf_count_t read = sf_readf_short(sound.get(), samples.data(), info.frames);
  Bytes out(static_cast<std::size_t>(read));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>((samples[i] >> 8) + 128);
  }
  return out;
}

// Every file of a shared audio folder in sorted path order.
inline std::vector<Bytes> audio_files(const std::string& folder) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(shared_data() / folder)) {
    const auto ext = entry.path().extension();
    if (ext == ".flac" || ext == ".wav") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Bytes> files;
  for (const auto& p : paths) files.push_back(audio_bytes(p));
  return files;
}

// The paper's chunks: per file, 2048-byte pieces; the trailing partial piece is dropped.
inline std::vector<Bytes> audio_chunks(const std::string& folder, std::size_t size = 2048) {
  std::vector<Bytes> chunks;
  for (const auto& file : audio_files(folder)) {
    for (std::size_t at = 0; at + size <= file.size(); at += size) {
      chunks.emplace_back(file.begin() + static_cast<std::ptrdiff_t>(at),
                          file.begin() + static_cast<std::ptrdiff_t>(at + size));
    }
  }
  return chunks;
}

inline Bytes concatenate(const std::vector<Bytes>& chunks) {
  Bytes all;
  for (const auto& c : chunks) append(all, c);
  return all;
}

// docs/PROTOCOL.md section 3: sum of chunk sizes - (N - 1) x size(compress(one zero byte)), in %.
inline double chunked_rate(const Compressor& codec, const std::vector<Bytes>& chunks) {
  const double header = static_cast<double>(codec.compress(Bytes{0}).size());
  double compressed = 0, raw = 0;
  for (const auto& c : chunks) {
    compressed += static_cast<double>(codec.compress(c).size());
    raw += static_cast<double>(c.size());
  }
  return 100.0 * (compressed - static_cast<double>(chunks.size() - 1) * header) / raw;
}

inline double whole_rate(const Compressor& codec, const std::vector<Bytes>& chunks) {
  const Bytes all = concatenate(chunks);
  return 100.0 * static_cast<double>(codec.compress(all).size()) / static_cast<double>(all.size());
}

// Two threads compressing and decoding alternate chunks with one shared codec give the bytes one
// thread gives: the harness shares each codec between its workers.
inline void expect_concurrent_calls_agree(const Compressor& codec,
                                          const std::vector<Bytes>& chunks) {
  std::vector<Bytes> serial;
  for (const auto& c : chunks) serial.push_back(codec.compress(c));
  std::vector<Bytes> parallel(chunks.size());
  auto work = [&](std::size_t first) {
    for (std::size_t i = first; i < chunks.size(); i += 2) {
      parallel[i] = codec.compress(chunks[i]);
      EXPECT_EQ(codec.decompress(parallel[i], chunks[i].size()), chunks[i]);
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  EXPECT_EQ(parallel, serial);
}

// A codec's chunked and whole rates on the shared LibriSpeech utterances (142 chunks of 2048
// bytes), printed beside the reference values the data README gives for them.
struct ChunkedAndWhole {
  double chunked = 0, whole = 0;
};
inline ChunkedAndWhole librispeech_rates(const Compressor& codec, const char* label,
                                         ChunkedAndWhole reference) {
  const auto chunks = audio_chunks("audio/librispeech");
  EXPECT_EQ(chunks.size(), 142u);
  const ChunkedAndWhole rates{chunked_rate(codec, chunks), whole_rate(codec, chunks)};
  std::printf("%s librispeech: chunked %.3f %% (ref %.3f), whole %.3f %% (ref %.3f)\n", label,
              rates.chunked, reference.chunked, rates.whole, reference.whole);
  return rates;
}

inline std::unique_ptr<Compressor> make_codec(
    const CompressorKind& kind, const nlohmann::json& config = nlohmann::json::object()) {
  return kind.make(Options::validate(config, kind.options, "compressors[0]"), CodecContext{});
}

}  // namespace lmc::test
