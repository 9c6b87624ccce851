// Speed of the byte Transformer's forward pass for the paper's three sizes, one thread, on whole
// 2048-byte chunks, against the one-position step as it was before issue 10
// (benchmarks/reference/), measured side by side in the same iterations so that the ratios hold
// on a loaded machine (times are the thread's CPU time, not wall time):
//  - Encode: the blocked encoder (all of a chunk's probabilities in blocks of positions);
//  - Decode: 1, 2, 4 or 8 chunks decoded in lockstep (one pass over the weights per step);
//  - Step: the new one-position step (a lone session);
//  - CompressVerify: the LM compressor's compress of a group of chunks (its decode_batch_size())
//    plus their verification in lockstep (as the harness runs it), against the same compressor
//    driving the reference step, which verifies each chunk alone.
// Counters: tokens/s of each, the speedup over the reference, and the fraction of the core's
// FLOP limit the new path reaches (the limit is measured in the same run by a register-only
// fused multiply-add loop of the widest vector path). Random weights on random text are the
// first case; ShippedCompressVerify runs the shipped checkpoints on held-out enwiki text, where a
// trained model's softmax weights underflow (random weights never do: an Intel core ran the
// shipped 200K 4.5x slower than this benchmark's random one until subnormals were flushed).
// The context names the CPU (vendor, family, model) and the kernel path.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "common/cpu_info.h"
#include "compressors/lm_compressor.h"
#include "compressors/random_checkpoint.h"
#include "models/batch_predictor.h"
#include "models/kernels/step_kernels.h"
#include "models/transformer/checkpoint.h"
#include "models/transformer/transformer_predictor.h"
#include "models/transformer/transformer_shape.h"
#include "reference/transformer_predictor.h"

namespace lmc {
namespace {

constexpr int kChunk = 2048;

TransformerShape paper_shape(int embedding, int heads) {
  TransformerShape shape;
  shape.embedding_dim = embedding;
  shape.layers = 4;
  shape.heads = heads;
  return shape;
}

struct Models {
  std::shared_ptr<const Predictor> reference, fast;
};

// The last argument of every benchmark: 0 for the binary16 cache, 1 for the 8-bit one.
KvCachePrecision precision_argument(const benchmark::State& state, int index) {
  return state.range(index) ? KvCachePrecision::Int8 : KvCachePrecision::Half;
}

Models load_models(const TransformerShape& shape, KvCachePrecision precision) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("lmc-step-benchmark-" + std::to_string(shape.embedding_dim) + ".lmct");
  test::write_random_checkpoint(path, shape, static_cast<std::uint64_t>(shape.embedding_dim), 0.1f);
  Models models{reference::load_transformer_predictor(path),
                load_transformer_predictor(path, precision)};
  std::filesystem::remove(path);
  return models;
}

// Text-like 7-bit chunks (speed does not depend on the bytes, the coder's only a little).
std::vector<Bytes> chunks(int count, int length) {
  std::mt19937 random(1);
  std::vector<Bytes> out(count, Bytes(length));
  for (auto& chunk : out) {
    for (auto& b : chunk) b = static_cast<std::uint8_t>(' ' + random() % 95);
  }
  return out;
}

// Multiply-adds of one chunk: the matrix products of every position, and attention over the
// positions so far (scores and weighted values), times two for FLOPs.
double chunk_flops(const TransformerShape& s, int length) {
  const double d = s.embedding_dim, layers = s.layers;
  double total = 0;
  for (int t = 0; t < length; ++t) {
    total += layers * (12 * d * d + 2 * d * (t + 1)) + d * s.vocab_size;
  }
  return 2 * total;
}

__attribute__((target("avx512f"))) double fma_peak_avx512(long iterations) {
  __m512 acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = _mm512_set1_ps(float(k));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
  for (long i = 0; i < iterations; ++i) {
    for (auto& v : acc) v = _mm512_fmadd_ps(v, a, b);
  }
  float values[16], sink = 0;
  for (auto& v : acc) {
    _mm512_storeu_ps(values, v);
    for (float x : values) sink += x;
  }
  benchmark::DoNotOptimize(sink);
  return 12.0 * 16 * 2 * iterations;
}

__attribute__((target("avx2,fma"))) double fma_peak_avx2(long iterations) {
  __m256 acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = _mm256_set1_ps(float(k));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
  for (long i = 0; i < iterations; ++i) {
    for (auto& v : acc) v = _mm256_fmadd_ps(v, a, b);
  }
  float values[8], sink = 0;
  for (auto& v : acc) {
    _mm256_storeu_ps(values, v);
    for (float x : values) sink += x;
  }
  benchmark::DoNotOptimize(sink);
  return 12.0 * 8 * 2 * iterations;
}

// Seconds of this thread's CPU time: on a machine shared with other work (training runs, builds)
// wall time mostly measures the scheduler, CPU time the code (cache sharing still shows).
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

template <typename F>
double seconds_of(F&& f) {
  const double start = thread_seconds();
  f();
  return thread_seconds() - start;
}

// FLOP/s of independent fused multiply-adds in registers: the limit no kernel can pass.
double flop_limit() {
  static const double limit = [] {
    const bool wide = step_kernels::supported(step_kernels::KernelPath::Avx512);
    double best = 0;
    for (int trial = 0; trial < 5; ++trial) {
      double flops = 0;
      const double seconds =
          seconds_of([&] { flops = wide ? fma_peak_avx512(2'000'000) : fma_peak_avx2(2'000'000); });
      best = std::max(best, flops / seconds);
    }
    return best;
  }();
  return limit;
}

void session_pass(const Predictor& predictor, ByteView chunk) {
  std::vector<float> probs(256);
  auto session = predictor.new_session();
  for (auto s : chunk) {
    session->next_probabilities(probs);
    session->append(s);
  }
  benchmark::DoNotOptimize(probs.data());
}

void lockstep_pass(const BatchPredictor& predictor, const std::vector<Bytes>& group) {
  const int count = static_cast<int>(group.size());
  auto lockstep = predictor.new_lockstep(count);
  std::vector<int> all(count);
  for (int k = 0; k < count; ++k) all[k] = k;
  std::vector<float> probs(count * 256);
  for (std::size_t t = 0; t < group[0].size(); ++t) {
    lockstep->next_probabilities(all, probs);
    for (int k = 0; k < count; ++k) lockstep->append(k, group[k][t]);
  }
  benchmark::DoNotOptimize(probs.data());
}

// Reports tokens/s of the reference and the new path, their ratio, and the FLOP fraction.
void report(benchmark::State& state, const TransformerShape& shape, KvCachePrecision precision,
            double tokens, double reference_seconds, double new_seconds,
            const std::string& label = "") {
  const double flops = chunk_flops(shape, kChunk) / kChunk * tokens;
  state.counters["ref_tok/s"] = tokens / reference_seconds;
  state.counters["new_tok/s"] = tokens / new_seconds;
  state.counters["speedup"] = reference_seconds / new_seconds;
  state.counters["flop_fraction"] = flops / new_seconds / flop_limit();
  state.SetLabel(label + step_kernels::to_string(step_kernels::default_kernel_path()) + ", " +
                 to_string(precision) + " cache, " + std::to_string(shape.parameter_count()) +
                 " parameters");
}

// {embedding, heads, 8-bit cache} per benchmark: the 200K, 800K and 3.2M models, each with both
// caches.
#define LMC_PAPER_SIZES                   \
  ->ArgsProduct({{64}, {4}, {0, 1}})      \
      ->ArgsProduct({{128}, {4}, {0, 1}}) \
      ->ArgsProduct({{256}, {8}, {0, 1}})

void BM_Encode(benchmark::State& state) {
  const auto shape = paper_shape(state.range(0), state.range(1));
  const KvCachePrecision precision = precision_argument(state, 2);
  const Models models = load_models(shape, precision);
  const auto chunk = chunks(1, kChunk)[0];
  const auto& fast = dynamic_cast<const BatchPredictor&>(*models.fast);
  std::vector<float> probs(kChunk * 256);
  double reference_seconds = 0, new_seconds = 0, tokens = 0;
  for (auto _ : state) {
    reference_seconds += seconds_of([&] { session_pass(*models.reference, chunk); });
    new_seconds += seconds_of([&] { fast.sequence_probabilities(chunk, probs); });
    tokens += kChunk;
  }
  report(state, shape, precision, tokens, reference_seconds, new_seconds);
}
BENCHMARK(BM_Encode) LMC_PAPER_SIZES->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Decode(benchmark::State& state) {
  const auto shape = paper_shape(state.range(0), state.range(1));
  const KvCachePrecision precision = precision_argument(state, 3);
  const Models models = load_models(shape, precision);
  const int lockstep = static_cast<int>(state.range(2));
  const auto group = chunks(lockstep, kChunk);
  const auto& fast = dynamic_cast<const BatchPredictor&>(*models.fast);
  double reference_seconds = 0, new_seconds = 0, tokens = 0;
  for (auto _ : state) {
    // The reference decodes one chunk per group member; timed on one and scaled, to keep the
    // 3.2M run short.
    reference_seconds += lockstep * seconds_of([&] { session_pass(*models.reference, group[0]); });
    new_seconds += seconds_of([&] { lockstep_pass(fast, group); });
    tokens += lockstep * kChunk;
  }
  report(state, shape, precision, tokens, reference_seconds, new_seconds);
}
// {embedding, heads, chunks in lockstep, 8-bit cache}.
BENCHMARK(BM_Decode)
    ->ArgsProduct({{64}, {4}, {1, 2, 4, 8}, {0, 1}})
    ->ArgsProduct({{128}, {4}, {1, 2, 4, 8}, {0, 1}})
    ->ArgsProduct({{256}, {8}, {1, 2, 4, 8}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_Step(benchmark::State& state) {
  const auto shape = paper_shape(state.range(0), state.range(1));
  const KvCachePrecision precision = precision_argument(state, 2);
  const Models models = load_models(shape, precision);
  const auto chunk = chunks(1, kChunk)[0];
  double reference_seconds = 0, new_seconds = 0, tokens = 0;
  for (auto _ : state) {
    reference_seconds += seconds_of([&] { session_pass(*models.reference, chunk); });
    new_seconds += seconds_of([&] { session_pass(*models.fast, chunk); });
    tokens += kChunk;
  }
  report(state, shape, precision, tokens, reference_seconds, new_seconds);
}
BENCHMARK(BM_Step) LMC_PAPER_SIZES->Unit(benchmark::kMillisecond)->Iterations(3);

// The harness's work per group of chunks: compress each, then verify them (the reference: one by
// one with the old step; the new: blocked encoder and one lockstep decode of the group).
void compress_verify(benchmark::State& state, const TransformerShape& shape,
                     KvCachePrecision precision, const Models& models,
                     const std::vector<Bytes>& group, const std::string& label = "") {
  const LmCompressor reference(models.reference, SevenBitMapping::ClearTopBit);
  const LmCompressor fast(models.fast, SevenBitMapping::ClearTopBit);
  const int lockstep = static_cast<int>(group.size());
  double reference_seconds = 0, new_seconds = 0, tokens = 0;
  for (auto _ : state) {
    // The reference's time is measured on one chunk of the group and scaled, to keep it short.
    reference_seconds += lockstep * seconds_of([&] {
                           const Bytes stream = reference.compress(group[0]);
                           if (reference.decompress(stream, kChunk) != group[0])
                             state.SkipWithError("round trip");
                         });
    new_seconds += seconds_of([&] {
      std::vector<Bytes> streams;
      for (const auto& chunk : group) streams.push_back(fast.compress(chunk));
      const std::vector<ByteView> views(streams.begin(), streams.end());
      const std::vector<std::size_t> sizes(group.size(), kChunk);
      const auto decoded = fast.decompress_batch(views, sizes);
      for (std::size_t k = 0; k < group.size(); ++k) {
        if (decoded[k].bytes != group[k]) state.SkipWithError("round trip");
      }
    });
    tokens += lockstep * kChunk;
  }
  state.counters["lockstep"] = lockstep;
  // Both directions run the model once per byte: FLOPs of two passes per byte.
  report(state, shape, precision, tokens, reference_seconds, new_seconds / 2, label);
  state.counters["ref_tok/s"] = tokens / reference_seconds;
  state.counters["new_tok/s"] = tokens / new_seconds;
  state.counters["speedup"] = reference_seconds / new_seconds;
}

void BM_CompressVerify(benchmark::State& state) {
  const auto shape = paper_shape(state.range(0), state.range(1));
  const KvCachePrecision precision = precision_argument(state, 2);
  const Models models = load_models(shape, precision);
  const int lockstep =
      static_cast<int>(LmCompressor(models.fast, SevenBitMapping::ClearTopBit).decode_batch_size());
  compress_verify(state, shape, precision, models, chunks(lockstep, kChunk));
}
BENCHMARK(BM_CompressVerify) LMC_PAPER_SIZES->Unit(benchmark::kMillisecond)->Iterations(3);

// The shipped checkpoints with the KV cache the configs give them (800K: 8-bit), on the first
// chunks of the held-out tail of the enwiki sample (its last 10 %, which no model trained on),
// 7-bit as the harness codes them: what `bench run configs/heldout.json` does per group of chunks.
void BM_ShippedCompressVerify(benchmark::State& state) {
  static constexpr const char* kNames[] = {"200k", "800k", "3.2m"};
  const std::string name = kNames[state.range(0)];
  const KvCachePrecision precision =
      name == "800k" ? KvCachePrecision::Int8 : KvCachePrecision::Half;
  const std::filesystem::path checkpoint = std::filesystem::path(LMC_SOURCE_DIR) /
                                           "models/checkpoints" / ("transformer-" + name + ".lmct");
  const std::filesystem::path text =
      std::filesystem::path(LMC_SHARED_DATA) / "text/enwiki-2016-sample.xml";
  std::ifstream in(text, std::ios::binary);
  if (!std::filesystem::exists(checkpoint) || !in) {
    state.SkipWithError(("needs " + checkpoint.string() + " and " + text.string()).c_str());
    return;
  }
  const Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Models models{reference::load_transformer_predictor(checkpoint),
                load_transformer_predictor(checkpoint, precision)};
  const auto shape = checkpoint_architecture(read_checkpoint(checkpoint), checkpoint);
  const int lockstep =
      static_cast<int>(LmCompressor(models.fast, SevenBitMapping::ClearTopBit).decode_batch_size());
  std::vector<Bytes> group;
  const std::size_t heldout = data.size() / 10 * 9;
  for (int k = 0; k < lockstep; ++k) {
    const auto first = data.begin() + static_cast<std::ptrdiff_t>(heldout + k * kChunk);
    group.emplace_back(first, first + kChunk);
    for (auto& b : group.back()) b &= 0x7f;
  }
  compress_verify(state, shape, precision, models, group,
                  "shipped " + name + ", held-out enwiki, ");
}
BENCHMARK(BM_ShippedCompressVerify)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace lmc

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("cpu", lmc::cpu_description());
  benchmark::AddCustomContext(
      "kernels", lmc::step_kernels::to_string(lmc::step_kernels::default_kernel_path()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
