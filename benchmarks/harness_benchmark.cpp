// The harness's own overhead: evaluating chunks through evaluate_range (reading, timing,
// verification, accounting) against calling the codec directly on the same chunks with the
// same work (compress, decompress, compare). The issue allows at most 5 %.
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "compressors/compressor.h"
#include "datasets/dataset.h"
#include "harness/run/runner.h"

namespace lmc {
namespace {

constexpr std::size_t kChunkSize = 2048;
constexpr std::uint64_t kChunks = 256;

// Text-like data: ../shared/data's Wikipedia sample if present, else a generated stand-in.
const Bytes& corpus() {
  static const Bytes data = [] {
    std::ifstream in(LMC_SHARED_DATA "/text/enwiki-2016-sample.xml", std::ios::binary);
    Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::uint64_t i = 0; bytes.size() < kChunks * kChunkSize; ++i) {
      const std::string line = "<page><title>Entry " + std::to_string(i * 7919 % 10007) +
                               "</title><text>word " + std::to_string(i) + "</text></page>\n";
      bytes.insert(bytes.end(), line.begin(), line.end());
    }
    bytes.resize(kChunks * kChunkSize);
    return bytes;
  }();
  return data;
}

class MemoryDataset : public Dataset {
 public:
  std::size_t chunk_size() const override { return kChunkSize; }
  std::uint64_t available_chunks() const override { return kChunks; }
  std::unique_ptr<ChunkReader> open(std::uint64_t first) const override {
    struct Reader : ChunkReader {
      std::uint64_t next_chunk;
      bool next(std::span<std::uint8_t> chunk) override {
        if (next_chunk >= kChunks) return false;
        std::memcpy(chunk.data(), corpus().data() + next_chunk++ * kChunkSize, kChunkSize);
        return true;
      }
    };
    auto reader = std::make_unique<Reader>();
    reader->next_chunk = first;
    return reader;
  }
  nlohmann::json provenance() const override { return {}; }
};

std::unique_ptr<Compressor> make_codec(const std::string& name) {
  const CompressorKind* kind = find_compressor_kind(name);
  return kind->make(Options::validate(nlohmann::json::object(), kind->options, name), {});
}

const char* codec_name(int index) { return index == 0 ? "gzip" : "png"; }

void BM_DirectCalls(benchmark::State& state) {
  const auto codec = make_codec(codec_name(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < kChunks; ++i) {
      const ByteView chunk(corpus().data() + i * kChunkSize, kChunkSize);
      const Bytes compressed = codec->compress(chunk);
      const Bytes decoded = codec->decompress(compressed, kChunkSize);
      if (decoded.size() != kChunkSize || std::memcmp(decoded.data(), chunk.data(), kChunkSize)) {
        state.SkipWithError("round trip failed");
      }
      total += compressed.size();
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetLabel(codec_name(static_cast<int>(state.range(0))));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kChunks * kChunkSize));
}

void BM_HarnessRange(benchmark::State& state) {
  const auto codec = make_codec(codec_name(static_cast<int>(state.range(0))));
  const MemoryDataset dataset;
  const Compressor* codecs[] = {codec.get()};
  const EvaluationRows label{.dataset = "memory", .compressors = {"codec"}};
  for (auto _ : state) {
    auto partials =
        evaluate_range(dataset, {0, kChunks}, codecs, label, /*verify=*/true, nullptr, nullptr);
    benchmark::DoNotOptimize(partials);
  }
  state.SetLabel(codec_name(static_cast<int>(state.range(0))));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kChunks * kChunkSize));
}

BENCHMARK(BM_DirectCalls)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HarnessRange)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lmc

BENCHMARK_MAIN();
