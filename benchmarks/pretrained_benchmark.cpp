// Throughput of the "pretrained" compressor per predictor (llama2.c stories260K, the same model
// converted to GGUF and run by llama.cpp, rwkv.cpp RWKV-4 and v5.2, a TorchScript module with a
// SentencePiece tokenizer), split into its parts, on one 2048-byte enwiki chunk and one core:
//
//   Tokenize/M         the chunk's 7-bit text -> token ids (once per compress)
//   ModelSteps/M       next_probabilities + append over the chunk's tokens through the sliding
//                      window: the model's share; compress and verify each run it once
//   CompressVerify/M   compress + decompress + compare, what `bench run` does per chunk
//   Estimate/M         compress in estimate mode (gguf: one batched pass per window), no decode
//
// Share of CompressVerify: model = 2 x ModelSteps, tokenisation = Tokenize, coder (top-k
// selection, arithmetic coding, decoding the text back) = the rest.
//
// Models come from ../shared/data/models; the TorchScript fixture from the test build
// (build/tests/torchscript-fixture, made by `ctest -R torchscript`), or $LMC_TORCHSCRIPT_FIXTURE;
// the GGUF from build/tests/gguf-fixture (`ctest -R gguf_fixture`), or $LMC_GGUF_FIXTURE.
// Missing models are left out with a notice.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "compressors/lm_compressor.h"
#include "compressors/pretrained_compressor.h"
#include "models/pretrained/pretrained_model.h"

namespace lmc {
namespace {

constexpr std::size_t kChunk = 2048;

struct Candidate {
  std::string name, format;
  std::filesystem::path checkpoint, tokenizer;
  int context = 0;
};

std::vector<Candidate> candidates() {
  const std::filesystem::path models = std::filesystem::path(LMC_SHARED_DATA) / "models";
  const char* fixture_env = std::getenv("LMC_TORCHSCRIPT_FIXTURE");
  const std::filesystem::path fixture = fixture_env ? fixture_env : LMC_TORCHSCRIPT_FIXTURE;
  const char* gguf_env = std::getenv("LMC_GGUF_FIXTURE");
  const std::filesystem::path gguf = gguf_env ? gguf_env : LMC_GGUF_FIXTURE;
  std::vector<Candidate> all = {
      {"stories260K", "llama2c", models / "llama2c-stories260K/stories260K.bin",
       models / "llama2c-stories260K/tok512.bin"},
      {"rwkv4-660K", "rwkv", models / "tiny-rwkv/tiny-rwkv-4v0-660K-FP32.bin", ""},
      {"rwkv5.2-730K", "rwkv", models / "tiny-rwkv/tiny-rwkv-5v2-730K-FP32.bin", ""},
      {"torchscript-97K-ctx64", "torchscript", fixture / "model.pt", fixture / "spm.model", 64},
  };
  if (gguf_format_available()) {
    all.insert(all.begin() + 1, {"stories260K-gguf", "gguf", gguf / "stories260K.gguf", ""});
  }
  return all;
}

Bytes enwiki_chunk() {
  std::ifstream in(std::filesystem::path(LMC_SHARED_DATA) / "text/enwiki-2016-sample.xml",
                   std::ios::binary);
  Bytes chunk(kChunk);
  if (!in.read(reinterpret_cast<char*>(chunk.data()), kChunk)) {
    throw std::runtime_error("pretrained_benchmark needs ../shared/data/text");
  }
  return chunk;
}

std::string seven_bit_text(ByteView chunk) {
  const Bytes symbols = map_to_seven_bits(chunk, SevenBitMapping::ClearTopBit).symbols;
  return std::string(symbols.begin(), symbols.end());
}

void report_rates(benchmark::State& state, std::size_t tokens) {
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(tokens) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.SetBytesProcessed(static_cast<std::int64_t>(kChunk * state.iterations()));
}

void BM_Tokenize(benchmark::State& state, const PretrainedModel* model) {
  const std::string text = seven_bit_text(enwiki_chunk());
  std::size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = model->tokenizer->encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  report_rates(state, tokens);
}

void BM_ModelSteps(benchmark::State& state, const PretrainedModel* model) {
  const auto ids = model->tokenizer->encode(seven_bit_text(enwiki_chunk()));
  std::vector<float> probabilities(model->predictor->vocab_size());
  for (auto _ : state) {
    SlidingContext context(*model);
    for (int id : ids) {
      context.next_probabilities(probabilities);
      context.append(id);
    }
    benchmark::DoNotOptimize(probabilities.data());
  }
  report_rates(state, ids.size());
}

void BM_CompressVerify(benchmark::State& state, const PretrainedCompressor* compressor) {
  const Bytes chunk = enwiki_chunk();
  const Bytes expected = compressor->expected_roundtrip(chunk);
  double tokens = 0;
  for (auto _ : state) {
    Counters counters;
    const Bytes stream = compressor->compress(chunk, counters);
    if (compressor->decompress(stream, chunk.size()) != expected) {
      state.SkipWithError("round trip failed");
      return;
    }
    tokens = counters["tokens"];
  }
  report_rates(state, static_cast<std::size_t>(tokens));
}

void BM_Estimate(benchmark::State& state, const PretrainedCompressor* compressor) {
  const Bytes chunk = enwiki_chunk();
  double tokens = 0;
  for (auto _ : state) {
    Counters counters;
    benchmark::DoNotOptimize(compressor->compress(chunk, counters).data());
    tokens = counters["tokens"];
  }
  report_rates(state, static_cast<std::size_t>(tokens));
}

}  // namespace
}  // namespace lmc

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<std::unique_ptr<lmc::PretrainedCompressor>> compressors;
  for (const auto& candidate : lmc::candidates()) {
    if (!std::filesystem::exists(candidate.checkpoint)) {
      std::cerr << "skipping " << candidate.name << ": " << candidate.checkpoint << " not found\n";
      continue;
    }
    const auto loaded = lmc::load_pretrained_model(candidate.format, candidate.checkpoint,
                                                   candidate.tokenizer, candidate.context);
    compressors.push_back(std::make_unique<lmc::PretrainedCompressor>(
        loaded, 100, lmc::SevenBitMapping::ClearTopBit));
    const lmc::PretrainedCompressor* compressor = compressors.back().get();
    if (loaded.window_logits) {
      compressors.push_back(std::make_unique<lmc::PretrainedCompressor>(
          loaded, 100, lmc::SevenBitMapping::ClearTopBit, /*estimate=*/true));
      benchmark::RegisterBenchmark(("Estimate/" + candidate.name).c_str(), lmc::BM_Estimate,
                                   compressors.back().get())
          ->Unit(benchmark::kMillisecond)
          ->MinTime(2.0);
    }
    const lmc::PretrainedModel* model = &compressor->model();
    benchmark::RegisterBenchmark(("Tokenize/" + candidate.name).c_str(), lmc::BM_Tokenize, model)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ModelSteps/" + candidate.name).c_str(), lmc::BM_ModelSteps,
                                 model)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
    benchmark::RegisterBenchmark(("CompressVerify/" + candidate.name).c_str(),
                                 lmc::BM_CompressVerify, compressor)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(4.0);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
