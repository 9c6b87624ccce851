// Throughput of every classical codec in the registry on 2048-byte chunks of text, the unit the
// chunked mode works in: compress/<codec> and decompress/<codec>, bytes/s of raw data.
//
// Reads ../shared/data/text/enwiki-2016-sample.xml next to the checkout when present (the
// LMC_SHARED_DATA environment variable overrides the folder), else generated wiki-like text.
// Each codec also reports chunk_rate_pct: compressed / raw over the benchmark's chunks, every
// chunk with its own container (no header discount), to show what the time buys.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/options.h"
#include "compressors/compressor.h"

namespace lmc {
namespace {

constexpr std::size_t kChunkSize = 2048;
constexpr std::size_t kChunkCount = 256;  // 512 KiB: many different chunks, quick to prepare

struct Corpus {
  std::vector<Bytes> chunks;
  std::string source;
};

std::filesystem::path shared_data_folder() {
  if (const char* folder = std::getenv("LMC_SHARED_DATA")) return folder;
  // <checkout>/benchmarks/codecs_benchmark.cpp -> <checkout>/../shared/data
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "shared" /
         "data";
}

// Words with a skewed distribution and some markup: compressible like Wikipedia XML, never
// trivially so.
Bytes generated_text(std::size_t size) {
  static const std::vector<std::string> kWords = {
      "the",    "of",       "and",     "in",         "to",          "a",       "is",
      "was",    "[[city]]", "river",   "{{cite web", "|url=",       "century", "&quot;",
      "<page>", "</text>",  "history", "population", "'''Paris'''", "1871",    "=="};
  std::mt19937 generator(2048);
  std::geometric_distribution<std::size_t> rank(0.18);
  Bytes out;
  while (out.size() < size) {
    append(out, as_bytes(kWords[std::min(rank(generator), kWords.size() - 1)]));
    out.push_back(generator() % 16 == 0 ? '\n' : ' ');
  }
  out.resize(size);
  return out;
}

Corpus load_corpus() {
  const auto file = shared_data_folder() / "text" / "enwiki-2016-sample.xml";
  Corpus corpus;
  Bytes data;
  if (std::ifstream in{file, std::ios::binary}) {
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    corpus.source = file.string();
  }
  if (data.size() < kChunkSize * kChunkCount) {
    data = generated_text(kChunkSize * kChunkCount);
    corpus.source = "generated wiki-like text";
  }
  for (std::size_t i = 0; i < kChunkCount; ++i) {
    const auto begin = data.begin() + static_cast<std::ptrdiff_t>(i * kChunkSize);
    corpus.chunks.emplace_back(begin, begin + static_cast<std::ptrdiff_t>(kChunkSize));
  }
  return corpus;
}

// A codec under test with its chunks compressed once, as decompression input.
struct PreparedCodec {
  std::string name;
  std::unique_ptr<Compressor> codec;
  std::vector<Bytes> compressed;
  double chunk_rate_pct = 0;
};

PreparedCodec prepare(std::string name, std::unique_ptr<Compressor> codec, const Corpus& corpus) {
  PreparedCodec prepared{std::move(name), std::move(codec), {}, 0};
  std::size_t total = 0;
  for (const auto& chunk : corpus.chunks) {
    prepared.compressed.push_back(prepared.codec->compress(chunk));
    total += prepared.compressed.back().size();
  }
  prepared.chunk_rate_pct =
      100.0 * static_cast<double>(total) / static_cast<double>(corpus.chunks.size() * kChunkSize);
  return prepared;
}

void compress_chunks(benchmark::State& state, const PreparedCodec& prepared, const Corpus& corpus) {
  std::size_t next = 0;
  for (auto _ : state) {
    Bytes out = prepared.codec->compress(corpus.chunks[next]);
    benchmark::DoNotOptimize(out.data());
    next = (next + 1) % corpus.chunks.size();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kChunkSize));
  state.counters["chunk_rate_pct"] = prepared.chunk_rate_pct;
}

void decompress_chunks(benchmark::State& state, const PreparedCodec& prepared) {
  std::size_t next = 0;
  for (auto _ : state) {
    Bytes out = prepared.codec->decompress(prepared.compressed[next], kChunkSize);
    benchmark::DoNotOptimize(out.data());
    next = (next + 1) % prepared.compressed.size();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kChunkSize));
}

// Classical codecs only: every option has a default and the codec carries no model weights.
// The LM compressors have their own benchmark.
std::unique_ptr<Compressor> make_classical(const CompressorKind& kind) {
  for (const auto& option : kind.options) {
    if (option.default_value.is_null()) return nullptr;
  }
  auto codec = kind.make(Options::validate(nlohmann::json::object(), kind.options, kind.name),
                         CodecContext{});
  return codec->parameter_count() == 0 ? std::move(codec) : nullptr;
}

}  // namespace
}  // namespace lmc

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const lmc::Corpus corpus = lmc::load_corpus();
  std::cerr << "codecs_benchmark: " << corpus.chunks.size() << " chunks of " << lmc::kChunkSize
            << " bytes from " << corpus.source << "\n";

  std::vector<lmc::PreparedCodec> codecs;
  for (const auto& kind : lmc::compressor_kinds()) {
    if (auto codec = lmc::make_classical(kind)) {
      codecs.push_back(lmc::prepare(kind.name, std::move(codec), corpus));
    }
  }
  for (const auto& prepared : codecs) {
    benchmark::RegisterBenchmark(("compress/" + prepared.name).c_str(), lmc::compress_chunks,
                                 std::cref(prepared), std::cref(corpus));
    benchmark::RegisterBenchmark(("decompress/" + prepared.name).c_str(), lmc::decompress_chunks,
                                 std::cref(prepared));
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
