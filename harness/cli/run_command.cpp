// `bench run`: evaluate every configured compressor on every dataset, alone or as one rank of an
// MPI run, journaled so that an interrupted run resumes; `--plan` prices it instead.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "common/error.h"
#include "common/json.h"
#include "harness/cli/command.h"
#include "harness/cli/figures.h"
#include "harness/cli/run_log.h"
#include "harness/report/provenance.h"
#include "harness/report/report.h"
#include "harness/run/cluster.h"
#include "harness/run/config.h"
#include "harness/run/journal.h"
#include "harness/run/plan.h"
#include "harness/run/progress.h"
#include "harness/run/resident_memory.h"
#include "harness/run/runner.h"
#include "harness/run/saved_streams.h"
#include "harness/source_revision.h"

namespace lmc {
namespace {

struct RunArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  bool no_verify = false;
  bool quiet = false;
  bool no_figures = false;
  bool resume = false;
  bool plan = false;            // price every row and stop
  unsigned ranks = 0;           // --plan: MPI processes to price for (0: this run's)
  unsigned repetitions = 0;     // every row's, over the config's (0: the config's)
  std::string save_compressed;  // folder for the chunked rows' streams (empty: not kept)
};

// Set by SIGINT / SIGTERM while a run is in progress: the run stops at chunk boundaries and its
// finished work stays in the journal. A second signal has the default effect (immediate exit).
std::atomic<bool> g_interrupted{false};

extern "C" void request_stop(int signal_number) {
  g_interrupted.store(true);
  std::signal(signal_number, SIG_DFL);
}

nlohmann::json dataset_summaries(const PreparedRun& run) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : run.datasets) {
    list.push_back({{"name", d.entry->name},
                    {"kind", d.entry->kind},
                    {"options", d.entry->options.json()},
                    {"lm_mapping", to_string(d.entry->mapping)},
                    {"requested_chunks", d.entry->num_chunks ? nlohmann::json(*d.entry->num_chunks)
                                                             : nlohmann::json("all")},
                    {"available_chunks", d.available_chunks},
                    {"chunks", d.chunks},
                    {"provenance", d.dataset->provenance()}});
  }
  return list;
}

// `--save-compressed DIR`: one container per chunked row, its chunks spilled to DIR as they come
// (in any order) and written in chunk order once the run has succeeded.
class SavedRows {
 public:
  SavedRows(const PreparedRun& run, const std::filesystem::path& folder,
            const std::function<void(const std::string&)>& log)
      : folder_(folder) {
    std::filesystem::create_directories(folder_);
    const auto rows = plan_rows(run);
    writers_.resize(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const PlannedRow& row = rows[r];
      const PreparedDataset& d = run.datasets[row.dataset];
      const CompressorEntry& entry = run.config->compressors[row.compressor];
      const Compressor& compressor = *d.compressors[row.compressor];
      if (row.mode != Mode::Chunked) continue;
      if (!compressor.verifiable()) {
        log("note: " + entry.name + " only estimates its sizes; its streams are not saved");
        continue;
      }
      const nlohmann::json data = {{"dataset",
                                    {{"name", d.entry->name},
                                     {"kind", d.entry->kind},
                                     {"options", d.entry->options.json()},
                                     {"provenance", d.dataset->provenance()}}},
                                   {"first_chunk", 0},
                                   {"chunks", row.chunks}};
      const std::string file = saved_stream_file_name(d.entry->name, entry.name);
      writers_[r] = {file, row.chunks, &compressor,
                     std::make_unique<StreamContainerWriter>(
                         folder_ / ("." + file + ".part"),
                         saved_stream_header(entry, compressor, run.config->chunk_size,
                                             d.entry->mapping, data))};
    }
  }

  void add(std::size_t row, std::uint64_t chunk, ByteView original, ByteView compressed) {
    Row& saved = writers_.at(row);
    if (!saved.writer) return;
    saved.writer->add(chunk, original, saved.compressor->expected_roundtrip(original), compressed);
  }

  void write_all(const std::function<void(const std::string&)>& log) {
    std::size_t files = 0;
    for (Row& saved : writers_) {
      if (!saved.writer) continue;
      saved.writer->write_file(folder_ / saved.file, saved.chunks);
      saved.writer.reset();
      ++files;
    }
    log("saved the compressed chunks of " + std::to_string(files) + " rows in " + folder_.string() +
        " (bench decode " + folder_.string() + " decodes them)");
  }

 private:
  struct Row {
    std::string file;
    std::uint64_t chunks = 0;
    const Compressor* compressor = nullptr;
    std::unique_ptr<StreamContainerWriter> writer;
  };
  std::filesystem::path folder_;
  std::vector<Row> writers_;
};

// What a run's process reports to rank 0 when its share of the work is over.
struct ShardOutcome {
  std::string status = "ok";  // ok | input | round-trip | interrupted | failed
  std::string message;
  std::vector<PartialResult> totals;  // one per row

  nlohmann::json to_json() const {
    return {{"status", status}, {"message", message}, {"totals", totals}};
  }
  static ShardOutcome from_json(const nlohmann::json& j) {
    return {j.at("status").get<std::string>(), j.at("message").get<std::string>(),
            j.at("totals").get<std::vector<PartialResult>>()};
  }
};

ShardOutcome outcome_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const InputError& e) {
    return {"input", e.what(), {}};
  } catch (const RoundTripError& e) {
    return {"round-trip", e.what(), {}};
  } catch (const RunInterrupted& e) {
    return {"interrupted", e.what(), {}};
  } catch (const std::exception& e) {
    return {"failed", e.what(), {}};
  }
}

[[noreturn]] void rethrow_outcome(const ShardOutcome& outcome, const std::string& prefix) {
  const std::string message = prefix + outcome.message;
  if (outcome.status == "input") throw InputError(message);
  if (outcome.status == "round-trip") throw RoundTripError(message);
  if (outcome.status == "interrupted") throw RunInterrupted(message);
  throw std::runtime_error(message);
}

// Runs `step` on every rank; if it fails anywhere, every rank stops with an error (its own, or a
// pointer to the rank that failed) before any rank goes on to work the others would wait for.
template <typename Step>
void on_every_rank(const Cluster& cluster, Step step) {
  std::exception_ptr error;
  try {
    step();
  } catch (...) {
    error = std::current_exception();
  }
  if (cluster.all(!error)) return;
  if (error) std::rethrow_exception(error);
  throw InputError("another MPI rank could not set up the run; its message says why");
}

int run_command(const RunArgs& args, const std::vector<std::string>& command_line,
                const Cluster& cluster) {
  const bool leader = cluster.rank() == 0;
  if (!args.save_compressed.empty() && args.resume) {
    throw InputError(
        "--save-compressed cannot be combined with --resume: the chunks an earlier attempt "
        "finished were not kept; run again without --resume (delete the output folder's "
        "journal) to save every stream");
  }
  if (!args.save_compressed.empty() && cluster.distributed()) {
    throw InputError(
        "--save-compressed runs in one process only (each MPI rank codes its own "
        "share of the chunks); run without mpirun to save the streams");
  }
  // Everything is read and checked before any output exists.
  RunConfig config;
  std::optional<PreparedRun> prepared;
  std::filesystem::path out;
  std::string fingerprint;
  on_every_rank(cluster, [&] {
    nlohmann::json source = read_json_file(args.config);
    for (const auto& assignment : args.overrides) apply_override(source, assignment);
    if (args.plan) stand_in_for_missing_data(source, std::cerr);
    config = parse_run_config(source);
    if (args.no_verify) config.verify = false;
    if (args.repetitions > 0) {
      config.repetitions = args.repetitions;
      for (CompressorEntry& entry : config.compressors) entry.repetitions = args.repetitions;
    }
    try {
      prepared.emplace(prepare_run(config));
    } catch (const InputError& e) {
      if (!args.plan) throw;
      throw InputError(std::string(e.what()) +
                       "\n--plan times every row on its data: fetch it first (bench data list), "
                       "or price the run on a sample, e.g. --set datasets[0].path=SAMPLE: rows "
                       "are then priced at the declared num_chunks");
    }
    if (args.plan) return;  // nothing is written
    out = args.out.empty() ? std::filesystem::path("results") / config.name
                           : std::filesystem::path(args.out);
    std::filesystem::create_directories(out);
    // Everything that decides the numbers; a journal only resumes the run that wrote it.
    nlohmann::json decisive = {{"config", byte_deciding_config(config.source)},
                               {"verify", config.verify},
                               {"revision", source_revision()},
                               {"datasets", dataset_summaries(*prepared)},
                               {"compressors", nlohmann::json::array()}};
    for (const auto& compressor : prepared->datasets.front().compressors) {
      decisive["compressors"].push_back(compressor->settings());
    }
    fingerprint = run_fingerprint(decisive);
    if (!args.resume) RunJournal::refuse_unfinished_run(out);
  });
  if (args.plan) {
    if (!leader) return kExitOk;
    PlanOptions plan;
    plan.verify = config.verify;
    plan.processes = args.ranks > 0 ? args.ranks : static_cast<unsigned>(cluster.size());
    plan.declared_counts = true;
    std::cerr << "timing the first chunks of every row...\n";
    std::cout << plan_table(estimate_run(*prepared, plan));
    return kExitOk;
  }
  const std::string journal_name =
      cluster.distributed() ? RunJournal::rank_file_name(cluster.rank()) : RunJournal::kFileName;
  std::optional<RunJournal> journal;
  cluster.barrier();  // every rank has looked for unfinished runs before any journal appears
  on_every_rank(cluster, [&] {
    journal.emplace(args.resume ? RunJournal::resume(out, fingerprint, journal_name)
                                : RunJournal::start(out, fingerprint, journal_name));
  });
  cluster.barrier();  // every rank has read the journals before any piece is appended

  RunLog log;
  if (leader) log.open(out / "run.log");
  const auto say = [&](const std::string& line) {
    if (leader) log(line);
  };
  nlohmann::json provenance = run_provenance(command_line);
  say(program_banner() + ": run '" + config.name + "' from " + args.config + " -> " + out.string());
  for (const auto& d : prepared->datasets) {
    std::string line = "dataset " + d.entry->name + ": " + std::to_string(d.chunks) +
                       " chunks of " + std::to_string(config.chunk_size) + " bytes";
    if (d.entry->num_chunks && *d.entry->num_chunks > d.available_chunks) {
      line += " (only " + std::to_string(d.available_chunks) + " available of the " +
              std::to_string(*d.entry->num_chunks) + " requested)";
    }
    say(line);
  }
  say(std::string("threads: ") + std::to_string(config.threads) +
      (cluster.distributed() ? " per process, " + std::to_string(cluster.size()) +
                                   " MPI processes (progress shows rank 0's share)"
                             : std::string()) +
      ", verification: " + (config.verify ? "on" : "OFF (--no-verify)"));
  if (!args.quiet && leader) {
    // A lighter calibration than --plan's: the run is what the user is waiting for.
    PlanOptions plan;
    plan.verify = config.verify;
    plan.processes = static_cast<unsigned>(cluster.size());
    plan.budget = {2, 0.25};
    std::string summary = plan_summary(estimate_run(*prepared, plan));
    summary.pop_back();
    say(summary + " (bench run --plan: every row)");
  }
  if (journal->dropped_lines() > 0) {
    say("journal: dropped a last line cut short by the crash; that piece runs again");
  }

  std::unique_ptr<ConsoleProgress> progress;
  if (!args.quiet && leader) {
    progress = std::make_unique<ConsoleProgress>(std::cerr, isatty(STDERR_FILENO));
  }
  RunOptions options;
  options.verify = config.verify;
  options.peak_memory = config.peak_memory;
  options.threads = config.threads;
  options.progress = progress.get();
  options.log = say;
  options.journal = &*journal;
  options.interrupt = &g_interrupted;
  options.shard = static_cast<std::size_t>(cluster.rank());
  options.shards = static_cast<std::size_t>(cluster.size());
  std::optional<SavedRows> saved;
  if (!args.save_compressed.empty()) {
    saved.emplace(*prepared, args.save_compressed, say);
    options.save_compressed = [&](std::size_t row, std::uint64_t chunk, ByteView original,
                                  ByteView compressed) {
      saved->add(row, chunk, original, compressed);
    };
  }
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  std::signal(SIGHUP, request_stop);
  // What the process holds before any row runs (models loaded, data opened): the floor of every
  // row's peak memory.
  return_free_heap();
  const std::uint64_t base_rss_bytes = resident_bytes();
  const auto started = std::chrono::steady_clock::now();
  std::vector<RowResult> rows;
  ShardOutcome mine;
  try {
    rows = execute_run(*prepared, options);
    for (const auto& row : rows) mine.totals.push_back(row.totals);
  } catch (...) {
    mine = outcome_of(std::current_exception());
  }
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) std::signal(signal_number, SIG_DFL);
  progress.reset();

  // Rank 0 sums every rank's partial totals; any failure fails the run on rank 0 too.
  const std::vector<std::string> reports = cluster.gather(mine.to_json().dump());
  if (!leader) {
    if (mine.status != "ok") rethrow_outcome(mine, "");
    return kExitOk;
  }
  std::optional<ShardOutcome> failure;
  std::string failed_rank;
  for (std::size_t r = 0; r < reports.size(); ++r) {
    ShardOutcome outcome = ShardOutcome::from_json(nlohmann::json::parse(reports[r]));
    if (outcome.status != "ok") {
      if (!failure) {
        failure = outcome;
        failed_rank = cluster.distributed() ? "rank " + std::to_string(r) + ": " : "";
      }
      continue;
    }
    if (r == 0) continue;  // rank 0's totals are in `rows` already
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i].totals += outcome.totals[i];
  }
  if (failure) {
    const bool interrupted = failure->status == "interrupted";
    log((interrupted ? std::string("run interrupted")
                     : "run failed: " + failed_rank + failure->message) +
        "; the finished work is kept in " + journal->path().parent_path().string() + "/journal*" +
        (interrupted ? ": the same command with --resume continues it"
                     : " (--resume continues once the cause is gone; delete it to start over)"));
    rethrow_outcome(*failure, failed_rank);
  }
  for (auto& row : rows) row.rates = compute_rates(row.totals, row.rule);

  provenance["finished_utc"] = utc_timestamp();
  provenance["wall_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  provenance["threads"] = config.threads;
  provenance["processes"] = cluster.size();
  if (cluster.distributed()) provenance["mpi"] = Cluster::library();
  provenance["verify"] = config.verify;
  provenance["peak_rss"] = config.peak_memory
                               ? MemoryWindows().method()
                               : std::string("not measured: \"peak_memory\": false in the config");
  provenance["base_rss_bytes"] = base_rss_bytes;
  provenance["libraries"] = library_versions();
  nlohmann::json results = {{"schema", "lmc-bench/results/1"},
                            {"run", provenance},
                            {"config", config.source},
                            {"datasets", dataset_summaries(*prepared)},
                            {"rows", nlohmann::json::array()}};
  for (const auto& row : rows) results["rows"].push_back(row_to_json(row));
  write_results(out, results);
  if (saved) saved->write_all(say);
  journal.reset();
  RunJournal::remove_all(out);  // the results hold everything the journals saved
  log("wrote " + (out / "results.json").string() + ", results.csv, table.md, table.tex");
  std::cout << table_markdown(results["rows"]);
  if (!args.no_figures) make_figures(out, log);
  return kExitOk;
}

}  // namespace

Command add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* run = app.add_subcommand("run", "Evaluate every configured compressor on every dataset");
  run->add_option("config", args->config, "Config file (JSON)")->required();
  run->add_option("--set", args->overrides,
                  "Override a config key: key=value, e.g. datasets[0].num_chunks=100")
      ->allow_extra_args(false);
  run->add_option("--out", args->out, "Output folder (default results/<config name>)");
  run->add_flag("--no-verify", args->no_verify, "Skip decoding compressed chunks");
  run->add_flag("--quiet", args->quiet, "No progress output");
  run->add_flag("--no-figures", args->no_figures, "Do not call notebooks/figures.py");
  run->add_flag("--plan", args->plan,
                "Print each row's chunks, estimated CPU time and peak memory (from timing its "
                "first chunks), with totals in core-hours and wall hours; write nothing");
  run->add_option("--repetitions", args->repetitions,
                  "Code every chunk of every row N times (over the config's repetitions): the "
                  "seconds are the median pass, with min and max")
      ->check(CLI::Range(1, 100));
  run->add_option("--ranks", args->ranks,
                  "With --plan: price for this many MPI processes (default: as started)")
      ->check(CLI::PositiveNumber);
  run->add_option("--save-compressed", args->save_compressed,
                  "Write each chunked row's compressed chunks to DIR, one container per row "
                  "(docs/PROTOCOL.md section 8; bench decode DIR decodes them)");
  run->add_flag("--resume", args->resume,
                "Continue an interrupted run from the journal in its output folder");
  return {run, [args](const Invocation& invocation) {
            return run_command(*args, invocation.command_line, *invocation.cluster);
          }};
}

}  // namespace lmc
