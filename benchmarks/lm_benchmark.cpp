// Throughput of the LM compressor: compress + verify (decode and compare) of 2048-byte chunks for
// the paper's three Transformer sizes, on one core and on two cores (two chunks on two threads,
// as the harness runs them), and of the arithmetic coder alone.
//
// The checkpoints are written with random weights at start-up: speed does not depend on
// training. Rates are bytes of raw chunk per second of wall time.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "compressors/arithmetic_coder.h"
#include "compressors/lm_compressor.h"
#include "compressors/order2_predictor.h"
#include "compressors/random_checkpoint.h"
#include "models/transformer/transformer_shape.h"

namespace lmc {
namespace {

constexpr std::size_t kChunk = 2048;

// Benchmark checkpoints live in a fresh temporary folder, removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "lmc-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Real Wikipedia text when the shared data is present, else a deterministic stand-in: the
// model's speed does not depend on the bytes, the coder's only a little.
Bytes text_chunk(std::size_t index) {
  std::ifstream in(std::filesystem::path(LMC_SHARED_DATA) / "text/enwiki-2016-sample.xml",
                   std::ios::binary);
  Bytes chunk(kChunk);
  in.seekg(static_cast<std::streamoff>(index * kChunk));
  if (in.read(reinterpret_cast<char*>(chunk.data()), kChunk)) return chunk;
  std::mt19937_64 rng(index);
  for (auto& b : chunk) b = static_cast<std::uint8_t>(' ' + rng() % 95);
  return chunk;
}

struct PaperModel {
  const char* name;
  TransformerShape shape;
};

std::vector<PaperModel> paper_models() {
  auto shape = [](int d, int heads) {
    TransformerShape s;
    s.embedding_dim = d;
    s.layers = 4;
    s.heads = heads;
    return s;
  };
  return {{"200K", shape(64, 4)}, {"800K", shape(128, 4)}, {"3.2M", shape(256, 8)}};
}

std::unique_ptr<Compressor> load_lm(const std::filesystem::path& checkpoint) {
  const CompressorKind* kind = find_compressor_kind("lm");
  const auto options =
      Options::validate({{"checkpoint", checkpoint.string()}}, kind->options, "benchmark");
  return kind->make(options, CodecContext{kChunk, SevenBitMapping::ClearTopBit});
}

// Compresses, decodes and compares one chunk; returns its coder overhead in bits.
double compress_and_verify(const Compressor& lm, ByteView chunk) {
  Counters counters;
  const Bytes stream = lm.compress(chunk, counters);
  if (lm.decompress(stream, chunk.size()) != lm.expected_roundtrip(chunk)) {
    throw std::runtime_error("lm benchmark: chunk did not round-trip");
  }
  return 8.0 * static_cast<double>(stream.size()) - counters.at("ideal_bits");
}

void BM_LmCompressVerify(benchmark::State& state, const std::filesystem::path& checkpoint,
                         int threads) {
  const auto lm = load_lm(checkpoint);
  std::vector<Bytes> chunks;
  for (int t = 0; t < threads; ++t) chunks.push_back(text_chunk(10 + t));
  std::vector<double> overhead(threads);
  for (auto _ : state) {
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t) {
      workers.emplace_back([&, t] { overhead[t] = compress_and_verify(*lm, chunks[t]); });
    }
    overhead[0] = compress_and_verify(*lm, chunks[0]);
    for (auto& w : workers) w.join();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * threads * kChunk);
  state.counters["parameters"] = static_cast<double>(lm->parameter_count());
  state.counters["padded_minus_ideal_bits"] = overhead[0];
}

// The coder alone on real skewed distributions (an order-2 model over text), without the model.
struct CoderInput {
  std::vector<std::vector<float>> distributions;
  Bytes symbols;
};

CoderInput coder_input() {
  CoderInput input;
  input.symbols = text_chunk(3);
  for (auto& b : input.symbols) b &= 0x7F;
  test::Order2Predictor model;
  auto session = model.new_session();
  for (auto symbol : input.symbols) {
    input.distributions.emplace_back(256);
    session->next_probabilities(input.distributions.back());
    session->append(symbol);
  }
  return input;
}

void BM_CoderEncode(benchmark::State& state) {
  const CoderInput input = coder_input();
  CodingDistribution distribution;
  double overhead = 0;
  for (auto _ : state) {
    ArithmeticEncoder encoder;
    double ideal = 0;
    for (std::size_t i = 0; i < input.symbols.size(); ++i) {
      distribution.assign(input.distributions[i]);
      ideal += distribution.ideal_bits(input.symbols[i]);
      encoder.encode(distribution, input.symbols[i]);
    }
    benchmark::DoNotOptimize(encoder.finish());
    overhead = static_cast<double>(encoder.bit_count()) - ideal;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.symbols.size()));
  state.counters["coded_minus_ideal_bits"] = overhead;
}

void BM_CoderDecode(benchmark::State& state) {
  const CoderInput input = coder_input();
  CodingDistribution distribution;
  ArithmeticEncoder encoder;
  for (std::size_t i = 0; i < input.symbols.size(); ++i) {
    distribution.assign(input.distributions[i]);
    encoder.encode(distribution, input.symbols[i]);
  }
  const Bytes stream = encoder.finish();
  for (auto _ : state) {
    ArithmeticDecoder decoder(stream);
    for (const auto& probabilities : input.distributions) {
      distribution.assign(probabilities);
      benchmark::DoNotOptimize(decoder.decode(distribution));
    }
    decoder.finish();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.symbols.size()));
}

}  // namespace
}  // namespace lmc

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  lmc::ScratchDir checkpoints;
  for (const auto& model : lmc::paper_models()) {
    const auto path = checkpoints.path() / (std::string("transformer-") + model.name + ".lmct");
    lmc::test::write_random_checkpoint(path, model.shape, 1, 0.02f);
    for (int threads : {1, 2}) {
      const std::string name =
          std::string("LmCompressVerify/") + model.name + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), lmc::BM_LmCompressVerify, path, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(1.0);
    }
  }
  benchmark::RegisterBenchmark("CoderEncode/2048", lmc::BM_CoderEncode)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("CoderDecode/2048", lmc::BM_CoderDecode)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
