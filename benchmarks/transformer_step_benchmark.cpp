// Tokens per second of the hand-written incremental Transformer step (the LM compressor's inner
// loop) for the paper's three sizes, one thread, over whole 2048-byte chunks. The weights are
// random: speed does not depend on their values.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <vector>

#include "models/checkpoint.h"
#include "models/transformer_predictor.h"
#include "models/transformer_shape.h"

namespace {

std::filesystem::path random_checkpoint(int embedding, int heads) {
  lmc::TransformerShape shape;
  shape.embedding_dim = embedding;
  shape.heads = heads;
  lmc::Checkpoint checkpoint;
  checkpoint.header = {{"architecture", shape.to_json()}};
  std::mt19937 random(embedding);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  for (const auto& spec : shape.parameters()) {
    std::vector<float> values(static_cast<std::size_t>(spec.size()));
    for (auto& v : values) v = normal(random);
    checkpoint.tensors.push_back({spec.name, spec.shape, std::move(values)});
  }
  const auto path = std::filesystem::temp_directory_path() /
                    ("lmc-step-benchmark-" + std::to_string(embedding) + ".lmct");
  lmc::write_checkpoint(path, checkpoint);
  return path;
}

void BM_IncrementalStep(benchmark::State& state) {
  const auto path =
      random_checkpoint(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const auto predictor = lmc::load_transformer_predictor(path);
  std::filesystem::remove(path);
  const int length = static_cast<int>(state.range(2));
  std::vector<int> symbols(length);
  std::mt19937 random(1);
  for (auto& s : symbols) s = static_cast<int>(random() % 128);
  std::vector<float> probs(256);
  for (auto _ : state) {
    auto session = predictor->new_session();
    for (int s : symbols) {
      session->next_probabilities(probs);
      session->append(s);
    }
    benchmark::DoNotOptimize(probs.data());
  }
  state.SetItemsProcessed(state.iterations() * length);
  state.SetLabel(std::to_string(predictor->parameter_count()) + " parameters");
}

// {embedding, heads, tokens}: the 200K, 800K and 3.2M models on whole chunks, and 200K on a
// short prefix to separate the per-token cost from the attention that grows with the context.
BENCHMARK(BM_IncrementalStep)
    ->Args({64, 4, 2048})
    ->Args({128, 4, 2048})
    ->Args({256, 8, 2048})
    ->Args({64, 4, 128})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
