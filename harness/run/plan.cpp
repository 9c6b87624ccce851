#include "harness/run/plan.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "common/human_format.h"
#include "harness/run/resident_memory.h"

namespace lmc {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string hours(double seconds) {
  char text[32];
  const double h = seconds / 3600;
  std::snprintf(text, sizeof text, h >= 10 ? "%.0f" : h >= 0.1 ? "%.1f" : "%.2f", h);
  return text;
}

// "40 us", "5.2 ms", "0.33 s", "12 min", "3.4 h": a cell a person reads at a glance.
std::string duration(double seconds) {
  char text[32];
  if (seconds < 1e-3) {
    std::snprintf(text, sizeof text, "%.0f us", seconds * 1e6);
  } else if (seconds < 1) {
    std::snprintf(text, sizeof text, seconds < 0.01 ? "%.1f ms" : "%.0f ms", seconds * 1e3);
  } else if (seconds < 120) {
    std::snprintf(text, sizeof text, seconds < 10 ? "%.1f s" : "%.0f s", seconds);
  } else if (seconds < 7200) {
    std::snprintf(text, sizeof text, "%.0f min", seconds / 60);
  } else {
    std::snprintf(text, sizeof text, "%.1f h", seconds / 3600);
  }
  return text;
}

// Compress plus verify of the row's first chunks; returns {chunks timed, CPU seconds}.
std::pair<std::uint64_t, double> time_row(const PreparedRun& run, const PlannedRow& row,
                                          const PlanOptions& options) {
  const PreparedDataset& prepared = run.datasets[row.dataset];
  const Compressor& compressor = *prepared.compressors[row.compressor];
  const std::string& dataset_name = prepared.entry->name;
  const std::string& compressor_name = run.config->compressors[row.compressor].name;
  const std::uint64_t limit =
      std::min<std::uint64_t>(std::max<std::uint64_t>(1, options.budget.max_chunks), row.chunks);
  if (row.mode == Mode::Unchunked) {
    // A stream cannot stop at a time limit: it is timed on `limit` chunks, finish included.
    const StreamRow stream{
        .dataset = dataset_name, .compressor = compressor_name, .repetitions = row.repetitions};
    const PartialResult result = evaluate_unchunked(*prepared.dataset, limit, compressor, stream,
                                                    options.verify, nullptr, nullptr);
    return {limit, result.compress_seconds.total() + result.decompress_seconds.total()};
  }
  const Compressor* const compressors[] = {&compressor};
  const EvaluationRows rows{
      .dataset = dataset_name, .compressors = {compressor_name}, .repetitions = {row.repetitions}};
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t timed = 0;
  double seconds = 0;
  while (timed < limit && (timed == 0 || seconds_since(started) < options.budget.max_seconds)) {
    const auto partials = evaluate_range(*prepared.dataset, {timed, 1}, compressors, rows,
                                         options.verify, nullptr, nullptr);
    seconds += partials[0].compress_seconds.total() + partials[0].decompress_seconds.total();
    ++timed;
  }
  return {timed, seconds};
}

}  // namespace

RunEstimate estimate_run(const PreparedRun& run, const PlanOptions& options) {
  const RunConfig& config = *run.config;
  RunEstimate estimate;
  estimate.threads = config.threads;
  estimate.processes = std::max(1u, options.processes);
  estimate.base_rss_bytes = resident_bytes();
  char budget[160];
  std::snprintf(budget, sizeof budget,
                "each row timed on its first chunks (up to %llu, or %.2g s), compress%s, every "
                "repetition",
                static_cast<unsigned long long>(options.budget.max_chunks),
                options.budget.max_seconds, options.verify ? " + verify" : " only (--no-verify)");
  estimate.calibration = budget;

  // A byte-level model's cost per chunk does not depend on the data: time it once.
  std::map<std::size_t, RowEstimate> model_timings;  // compressor index -> first timing
  const bool resets = reset_peak_resident();
  double longest_stream = 0;
  std::vector<std::uint64_t> growth;
  for (PlannedRow row : plan_rows(run)) {
    const PreparedDataset& prepared = run.datasets[row.dataset];
    const CompressorEntry& entry = config.compressors[row.compressor];
    RowEstimate out;
    out.dataset = prepared.entry->name;
    out.compressor = entry.name;
    out.mode = row.mode;
    std::uint64_t dataset_chunks = prepared.chunks;
    if (options.declared_counts && prepared.entry->num_chunks) {
      dataset_chunks = *prepared.entry->num_chunks;
    }
    out.chunks = std::min(dataset_chunks, entry.num_chunks.value_or(dataset_chunks));
    if (out.chunks > prepared.available_chunks) {
      out.note = "data holds " + format_count(prepared.available_chunks) +
                 " chunks: priced at the declared " + format_count(out.chunks);
    }
    const auto reused = model_timings.find(row.compressor);
    if (entry.kind == "lm" && reused != model_timings.end()) {
      out.calibrated_chunks = reused->second.calibrated_chunks;
      out.seconds_per_chunk = reused->second.seconds_per_chunk;
      out.peak_rss_bytes = reused->second.peak_rss_bytes;
      out.note += (out.note.empty() ? "" : "; ") + std::string("timed on ") +
                  reused->second.dataset + " (same cost on any data)";
    } else {
      if (resets) reset_peak_resident();
      row.chunks = std::min(row.chunks, out.chunks);
      const auto [timed, seconds] = time_row(run, row, options);
      out.calibrated_chunks = timed;
      out.seconds_per_chunk = seconds / static_cast<double>(timed);
      out.peak_rss_bytes = peak_resident_bytes();
      if (entry.kind == "lm") model_timings.emplace(row.compressor, out);
    }
    out.cpu_seconds = out.seconds_per_chunk * static_cast<double>(out.chunks);
    estimate.cpu_seconds += out.cpu_seconds;
    if (row.mode == Mode::Unchunked) longest_stream = std::max(longest_stream, out.cpu_seconds);
    growth.push_back(out.peak_rss_bytes - std::min(out.peak_rss_bytes, estimate.base_rss_bytes));
    estimate.rows.push_back(std::move(out));
  }
  // A stream runs on one thread from start to end, so it bounds the wall time from below.
  const double cores = static_cast<double>(estimate.threads) * estimate.processes;
  estimate.wall_seconds = std::max(estimate.cpu_seconds / cores, longest_stream);
  // At most `threads` rows are at work at once in a process: their working sets add up.
  std::sort(growth.rbegin(), growth.rend());
  estimate.peak_rss_bytes = estimate.base_rss_bytes;
  for (std::size_t i = 0; i < growth.size() && i < estimate.threads; ++i) {
    estimate.peak_rss_bytes += growth[i];
  }
  if (!resets) estimate.calibration += "; peak memory is the process's peak so far";
  return estimate;
}

std::string plan_table(const RunEstimate& estimate) {
  int dataset_width = 7, compressor_width = 10;
  for (const RowEstimate& row : estimate.rows) {
    dataset_width = std::max(dataset_width, static_cast<int>(row.dataset.size()));
    compressor_width = std::max(compressor_width, static_cast<int>(row.compressor.size()));
  }
  std::string text = "plan: " + estimate.calibration + "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %-*s  %-9s  %9s  %9s  %9s  %9s  %s\n", dataset_width,
                "dataset", compressor_width, "compressor", "mode", "chunks", "per chunk",
                "CPU time", "peak RSS", "note");
  text += line;
  for (const RowEstimate& row : estimate.rows) {
    std::snprintf(line, sizeof line, "%-*s  %-*s  %-9s  %9s  %9s  %9s  %9s  %s\n", dataset_width,
                  row.dataset.c_str(), compressor_width, row.compressor.c_str(),
                  std::string(to_string(row.mode)).c_str(), format_count(row.chunks).c_str(),
                  duration(row.seconds_per_chunk).c_str(), duration(row.cpu_seconds).c_str(),
                  format_bytes(row.peak_rss_bytes).c_str(), row.note.c_str());
    text += line;
  }
  return text + plan_summary(estimate);
}

std::string plan_summary(const RunEstimate& estimate) {
  const RowEstimate* slowest = nullptr;
  for (const RowEstimate& row : estimate.rows) {
    if (slowest == nullptr || row.cpu_seconds > slowest->cpu_seconds) slowest = &row;
  }
  std::string text =
      "estimate: " + std::to_string(estimate.rows.size()) + " rows, " +
      hours(estimate.cpu_seconds) + " core-hours (" + duration(estimate.cpu_seconds) + "); about " +
      hours(estimate.wall_seconds) + " hours of wall time (" + duration(estimate.wall_seconds) +
      ") on " + std::to_string(estimate.threads) + " thread(s)" +
      (estimate.processes > 1 ? " x " + std::to_string(estimate.processes) + " processes"
                              : std::string()) +
      "; peak memory about " + format_bytes(estimate.peak_rss_bytes) +
      (estimate.processes > 1 ? " per process" : "") + "\n";
  if (slowest != nullptr) {
    text += "  slowest row: " + slowest->compressor + " on " + slowest->dataset + " (" +
            std::string(to_string(slowest->mode)) + "), " + duration(slowest->cpu_seconds) +
            " of CPU time\n";
  }
  return text;
}

void stand_in_for_missing_data(nlohmann::json& source, std::ostream& notes) {
  if (!source.is_object() || !source.contains("datasets") || !source["datasets"].is_array()) return;
  auto& datasets = source["datasets"];
  for (std::size_t i = 0; i < datasets.size(); ++i) {
    auto& entry = datasets[i];
    if (!entry.is_object() || !entry.contains("path") || !entry["path"].is_string()) continue;
    const std::string path = entry["path"].get<std::string>();
    std::error_code error;
    if (std::filesystem::exists(path, error)) continue;
    if (!entry.contains("num_chunks") || !entry["num_chunks"].is_number_unsigned()) {
      notes << "datasets[" << i << "].path: " << path
            << " not found, and no num_chunks to price it at\n";
      continue;
    }
    nlohmann::json stand_in = {{"name", entry.value("name", "dataset")},
                               {"kind", "random"},
                               {"num_chunks", entry["num_chunks"]},
                               {"seed", 0}};
    if (entry.contains("lm_mapping")) stand_in["lm_mapping"] = entry["lm_mapping"];
    notes << "datasets[" << i << "].path: " << path << " not found: timed on "
          << entry["num_chunks"].get<std::uint64_t>()
          << " chunks of random bytes instead (bench data fetch gets the real data)\n";
    entry = std::move(stand_in);
  }
}

}  // namespace lmc
