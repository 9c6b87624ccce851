#include "harness/experiments/in_context.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "common/error.h"
#include "harness/run/config.h"
#include "harness/run/task_pool.h"

namespace lmc {

std::vector<std::size_t> prefix_grid(std::size_t chunk_size) {
  std::vector<std::size_t> grid;
  for (std::size_t power = 1; power < chunk_size; power *= 2) {
    grid.push_back(power);
    if (power >= 2 && power + power / 2 < chunk_size) grid.push_back(power + power / 2);
  }
  grid.push_back(chunk_size);
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  return grid;
}

std::vector<double> prefix_sizes(const Compressor& compressor, ByteView chunk,
                                 std::span<const std::size_t> grid) {
  std::vector<double> sizes;
  sizes.reserve(grid.size());
  for (std::size_t k : grid) {
    Counters counters;
    const double size = static_cast<double>(compressor.compress(chunk.first(k), counters).size());
    const auto masked = counters.find(kMaskedBits);
    const double bits = 8.0 * static_cast<double>(k);
    sizes.push_back(masked == counters.end() ? size : size * bits / (bits - masked->second));
  }
  return sizes;
}

std::vector<InContextCurve> measure_in_context(const PreparedRun& run, std::uint64_t max_chunks,
                                               unsigned threads, ProgressSink* progress) {
  const RunConfig& config = *run.config;
  const std::vector<std::size_t> grid = prefix_grid(config.chunk_size);

  // The chunks each dataset contributes, read once.
  std::vector<std::vector<Bytes>> chunks(run.datasets.size());
  for (std::size_t d = 0; d < run.datasets.size(); ++d) {
    const PreparedDataset& prepared = run.datasets[d];
    const std::uint64_t count = std::min(max_chunks, prepared.chunks);
    auto reader = prepared.dataset->open(0);
    Bytes chunk(config.chunk_size);
    for (std::uint64_t i = 0; i < count; ++i) {
      if (!reader->next(chunk)) {
        throw InputError("dataset '" + prepared.entry->name + "' ended at chunk " +
                         std::to_string(i) + ", before the " + std::to_string(count) +
                         " chunks it announced");
      }
      chunks[d].push_back(chunk);
    }
  }

  // One curve per dataset x compressor; one task per (curve, chunk); sums in chunk order after
  // all tasks, so the result does not depend on the thread count.
  std::vector<InContextCurve> curves;
  std::vector<std::pair<std::size_t, std::size_t>> curve_source;  // (dataset, compressor)
  std::vector<std::uint64_t> lane_units(config.compressors.size(), 0);
  for (std::size_t d = 0; d < run.datasets.size(); ++d) {
    for (std::size_t c = 0; c < config.compressors.size(); ++c) {
      const CompressorEntry& entry = config.compressors[c];
      const Compressor& compressor = *run.datasets[d].compressors[c];
      InContextCurve curve;
      curve.dataset = run.datasets[d].entry->name;
      curve.dataset_kind = run.datasets[d].entry->kind;
      curve.compressor = entry.name;
      curve.compressor_kind = entry.kind;
      curve.chunks =
          std::min<std::uint64_t>(chunks[d].size(), entry.num_chunks.value_or(chunks[d].size()));
      curve.parameters = compressor.parameter_count();
      curve.settings = compressor.settings();
      curve.prefix_bytes = grid;
      lane_units[c] += curve.chunks;
      curves.push_back(std::move(curve));
      curve_source.emplace_back(d, c);
    }
  }
  std::vector<std::vector<std::vector<double>>> sizes(curves.size());
  TaskPool pool;
  for (std::size_t k = 0; k < curves.size(); ++k) {
    sizes[k].resize(curves[k].chunks);
    for (std::size_t i = 0; i < curves[k].chunks; ++i) {
      pool.add([&, k, i] {
        const auto [d, c] = curve_source[k];
        const auto started = std::chrono::steady_clock::now();
        sizes[k][i] = prefix_sizes(*run.datasets[d].compressors[c], chunks[d][i], grid);
        if (progress != nullptr) {
          progress->advance(
              c, 1, config.chunk_size,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        }
      });
    }
  }
  if (progress != nullptr) progress->start(lane_units, 0);
  std::atomic<bool> stop{false};
  try {
    pool.run(threads, stop);
  } catch (...) {
    if (progress != nullptr) progress->finish();
    throw;
  }
  if (progress != nullptr) progress->finish();

  for (std::size_t k = 0; k < curves.size(); ++k) {
    InContextCurve& curve = curves[k];
    curve.rates.assign(grid.size(), 0.0);
    if (curve.chunks == 0) continue;
    for (std::size_t g = 0; g < grid.size(); ++g) {
      double total = 0;
      for (const auto& chunk_sizes : sizes[k]) total += chunk_sizes[g];
      curve.rates[g] =
          100.0 * total / (static_cast<double>(grid[g]) * static_cast<double>(curve.chunks));
    }
  }
  return curves;
}

nlohmann::json in_context_json(const std::vector<InContextCurve>& curves, std::size_t chunk_size,
                               const nlohmann::json& provenance, const nlohmann::json& config) {
  nlohmann::json out = {{"schema", "lmc-bench/in-context/1"},
                        {"run", provenance},
                        {"config", config},
                        {"chunk_size", chunk_size},
                        {"curves", nlohmann::json::array()}};
  for (const auto& curve : curves) {
    nlohmann::json points = nlohmann::json::array();
    for (std::size_t g = 0; g < curve.prefix_bytes.size(); ++g) {
      points.push_back({{"bytes", curve.prefix_bytes[g]}, {"rate", curve.rates[g]}});
    }
    out["curves"].push_back({{"dataset", curve.dataset},
                             {"dataset_kind", curve.dataset_kind},
                             {"compressor", curve.compressor},
                             {"compressor_kind", curve.compressor_kind},
                             {"chunks", curve.chunks},
                             {"parameters", curve.parameters},
                             {"settings", curve.settings},
                             {"points", points}});
  }
  return out;
}

std::string in_context_csv(const std::vector<InContextCurve>& curves) {
  std::string csv = "dataset,compressor,bytes,rate,chunks\n";
  char line[512];
  for (const auto& curve : curves) {
    for (std::size_t g = 0; g < curve.prefix_bytes.size(); ++g) {
      std::snprintf(line, sizeof line, "%s,%s,%zu,%.6f,%llu\n", curve.dataset.c_str(),
                    curve.compressor.c_str(), curve.prefix_bytes[g], curve.rates[g],
                    static_cast<unsigned long long>(curve.chunks));
      csv += line;
    }
  }
  return csv;
}

std::string in_context_markdown(const std::vector<InContextCurve>& curves) {
  if (curves.empty()) return {};
  const std::vector<std::size_t>& grid = curves.front().prefix_bytes;
  std::vector<std::size_t> shown;
  for (std::size_t k : {std::size_t{16}, std::size_t{128}, std::size_t{1024}, grid.back()}) {
    if (std::find(grid.begin(), grid.end(), k) != grid.end() &&
        std::find(shown.begin(), shown.end(), k) == shown.end()) {
      shown.push_back(k);
    }
  }
  std::string text =
      "Rate in % of compressing the first k bytes of a chunk alone (lower is better):\n\n"
      "| dataset | compressor | chunks |";
  for (std::size_t k : shown) text += " k = " + std::to_string(k) + " |";
  text += "\n|---|---|---:|";
  for (std::size_t i = 0; i < shown.size(); ++i) text += "---:|";
  text += "\n";
  char cell[64];
  for (const auto& curve : curves) {
    text += "| " + curve.dataset + " | " + curve.compressor + " | " + std::to_string(curve.chunks) +
            " |";
    for (std::size_t k : shown) {
      const auto at = std::find(curve.prefix_bytes.begin(), curve.prefix_bytes.end(), k);
      std::snprintf(cell, sizeof cell, " %.1f |",
                    curve.rates[static_cast<std::size_t>(at - curve.prefix_bytes.begin())]);
      text += cell;
    }
    text += "\n";
  }
  return text;
}

}  // namespace lmc
