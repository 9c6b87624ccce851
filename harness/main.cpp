// `bench`: the command line. Every error is caught here, once, and mapped to an exit code:
// 0 success, 2 bad config or missing data, 3 a round trip failed, 1 anything else.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>

#include "common/error.h"
#include "common/json.h"
#include "compressors/compressor.h"
#include "compressors/compressor_predictor.h"
#include "datasets/dataset.h"
#include "harness/atomic_file.h"
#include "harness/cluster.h"
#include "harness/config.h"
#include "harness/data_fetch.h"
#include "harness/generation.h"
#include "harness/in_context.h"
#include "harness/journal.h"
#include "harness/plan.h"
#include "harness/progress.h"
#include "harness/provenance.h"
#include "harness/report.h"
#include "harness/result_sets.h"
#include "harness/runner.h"
#include "harness/version.h"
#include "models/sampling.h"
#include "models/transformer/training.h"

namespace lmc {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitRoundTrip = 3;
constexpr int kExitRegression = 4;     // bench compare: a rate got worse or a row disappeared
constexpr int kExitInterrupted = 130;  // the shell's code for Ctrl-C; the journal keeps the work

// Set by SIGINT / SIGTERM while a run is in progress: the run stops at chunk boundaries and its
// finished work stays in the journal. A second signal has the default effect (immediate exit).
std::atomic<bool> g_interrupted{false};

extern "C" void request_stop(int signal_number) {
  g_interrupted.store(true);
  std::signal(signal_number, SIG_DFL);
}

// Log lines go to stderr and to the run's run.log.
class RunLog {
 public:
  void open(const std::filesystem::path& path) { file_.open(path, std::ios::app); }
  void operator()(const std::string& line) {
    std::lock_guard lock(mutex_);
    const std::string stamped = utc_timestamp() + " " + line + "\n";
    std::cerr << line << '\n';
    if (file_) file_ << stamped << std::flush;
  }

 private:
  std::mutex mutex_;
  std::ofstream file_;
};

struct RunArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  bool no_verify = false;
  bool quiet = false;
  bool no_figures = false;
  bool resume = false;
  bool plan = false;   // price every row and stop
  unsigned ranks = 0;  // --plan: MPI processes to price for (0: this run's)
};

struct ReportArgs {
  std::string results;
  std::vector<std::string> against;
  std::string out;
  bool paper = false;
};

struct InContextArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  std::uint64_t chunks = 100;
  bool quiet = false;
  bool no_figures = false;
};

struct SamplesArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  bool quiet = false;
  bool no_figures = false;
};

struct CompareArgs {
  std::string current;
  std::string baseline;
  double tolerance = 0.1;
};

struct DataArgs {
  std::string name;  // fetch: required; verify: optional (all corpora)
  std::string dir = "data";
  std::string from;
  bool keep_archive = false;
  int attempts = 5;
  double retry_delay = 2;  // seconds before the second attempt, doubled after each failure
};

struct TrainArgs {
  std::string config;
  bool resume = false;
};

int report_command(const ReportArgs& args) {
  std::vector<nlohmann::json> results = {load_results(args.results)};
  for (const auto& dir : args.against) results.push_back(load_results(dir));
  nlohmann::json rows = merge_rows(results);
  if (args.paper) annotate_with_paper(rows);
  const std::filesystem::path out = args.out.empty() ? args.results : args.out;
  std::filesystem::create_directories(out);
  write_file_atomically(out / "table.md", table_markdown(rows, args.paper));
  write_file_atomically(out / "table.tex", table_latex(rows, args.paper));
  write_file_atomically(out / "table.csv", table_csv(rows));
  std::cout << table_markdown(rows, args.paper);
  std::cerr << "wrote " << (out / "table.md").string() << ", table.tex, table.csv from "
            << results.size() << " run(s), " << rows.size() << " rows\n";
  return kExitOk;
}

int compare_command(const CompareArgs& args) {
  if (args.tolerance < 0) throw InputError("--tolerance: must be >= 0");
  const nlohmann::json current = load_results(args.current);
  const nlohmann::json baseline = load_results(args.baseline);
  const Comparison comparison = compare_rows(current["rows"], baseline["rows"], args.tolerance);
  std::cout << describe(comparison, args.tolerance);
  std::cout << (comparison.regressed() ? "FAIL" : "OK") << ": " << comparison.worse.size()
            << " worse, " << comparison.missing.size() << " missing, "
            << comparison.unverified.size() << " no longer verified, "
            << comparison.other_data.size() << " on other data, " << comparison.improved.size()
            << " improved, " << comparison.added.size() << " new (tolerance " << args.tolerance
            << " percentage points)\n";
  return comparison.regressed() ? kExitRegression : kExitOk;
}

// Figures come from notebooks/figures.py with Debian's matplotlib; without it the run still
// succeeds and says why there are no figures. `training_logs`: add the shipped checkpoints'
// training curves (runs and in-context folders; a samples folder has nothing to say about them).
void make_figures(const std::filesystem::path& out, RunLog& log, bool training_logs = true) {
  const std::filesystem::path script =
      std::filesystem::path(LMC_SOURCE_DIR) / "notebooks/figures.py";
  const char* python = "/usr/bin/python3";
  if (!std::filesystem::exists(script) || !std::filesystem::exists(python)) {
    log("figures: skipped (" + script.string() + " or " + python + " not found)");
    return;
  }
  std::string command = std::string(python) + " " + script.string() + " '" + out.string() + "'";
  if (training_logs) {
    command +=
        std::string(" --training-logs '") + LMC_SOURCE_DIR + "/models/checkpoints/*.train.csv'";
  }
  command += " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    log("figures: skipped (cannot start python)");
    return;
  }
  char line[1024];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string text(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    log(text);
  }
  if (pclose(pipe) != 0)
    log("figures: notebooks/figures.py failed; results are complete without them");
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

// --plan before the data is there (a new user pricing configs/paper.json): a dataset whose
// "path" does not exist is timed on seeded random bytes of its declared num_chunks instead, and
// says so. Only time is estimated, so a stand-in is honest for what it prices: the LM rows cost
// the same on any bytes, the classical codecs run somewhat slower on random bytes than on text,
// images or speech (an upper estimate).
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

int run_command(const RunArgs& args, const std::vector<std::string>& command_line,
                const Cluster& cluster) {
  const bool leader = cluster.rank() == 0;
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
    nlohmann::json decisive = {{"config", config.source},
                               {"verify", config.verify},
                               {"revision", LMC_GIT_REVISION},
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
  say("bench " LMC_VERSION " (" LMC_GIT_REVISION "): run '" + config.name + "' from " +
      args.config + " -> " + out.string());
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
  options.threads = config.threads;
  options.progress = progress.get();
  options.log = say;
  options.journal = &*journal;
  options.interrupt = &g_interrupted;
  options.shard = static_cast<std::size_t>(cluster.rank());
  options.shards = static_cast<std::size_t>(cluster.size());
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  std::signal(SIGHUP, request_stop);
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
  provenance["libraries"] = library_versions();
  nlohmann::json results = {{"schema", "lmc-bench/results/1"},
                            {"run", provenance},
                            {"config", config.source},
                            {"datasets", dataset_summaries(*prepared)},
                            {"rows", nlohmann::json::array()}};
  for (const auto& row : rows) results["rows"].push_back(row_to_json(row));
  write_results(out, results);
  journal.reset();
  RunJournal::remove_all(out);  // the results hold everything the journals saved
  log("wrote " + (out / "results.json").string() + ", results.csv, table.md, table.tex");
  std::cout << table_markdown(results["rows"]);
  if (!args.no_figures) make_figures(out, log);
  return kExitOk;
}

std::string read_prompt(const std::filesystem::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open prompt file");
  std::string prompt((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (max_bytes > 0 && prompt.size() > max_bytes) prompt.resize(max_bytes);
  return prompt;
}

// `bench generate --compressor KIND`: bytes sampled from a compressor's code lengths.
int generate_with_compressor(const std::string& kind_name, const GenerateArgs& args) {
  const CompressorKind* kind = find_compressor_kind(kind_name);
  if (kind == nullptr) {
    throw InputError("--compressor: unknown compressor \"" + kind_name + "\" (see bench list)");
  }
  if (args.tokens < 0) throw InputError("--tokens must be >= 0");
  std::shared_ptr<const Compressor> compressor = kind->make(
      Options::validate(nlohmann::json::object(), kind->options, "--compressor"), CodecContext{});
  PretrainedModel model;
  model.format = "compressor";
  model.predictor = std::make_shared<const CompressorPredictor>(compressor, kind_name);
  model.tokenizer = std::make_shared<const ByteTokenizer>();
  std::cout << generate_text(model, args.prompt, args.tokens, {args.temperature, args.seed})
            << "\n";
  return kExitOk;
}

// `bench incontext`: Figure 4 (docs/PROTOCOL.md section 6.4) for every dataset x compressor.
int in_context_command(const InContextArgs& args, const std::vector<std::string>& command_line) {
  if (args.chunks == 0) throw InputError("--chunks: must be at least 1");
  nlohmann::json source = read_json_file(args.config);
  for (const auto& assignment : args.overrides) apply_override(source, assignment);
  const RunConfig config = parse_run_config(source);
  const PreparedRun prepared = prepare_run(config);

  const std::filesystem::path out =
      args.out.empty() ? std::filesystem::path("results") / (config.name + "-in-context")
                       : std::filesystem::path(args.out);
  std::filesystem::create_directories(out);
  RunLog log;
  log.open(out / "in_context.log");
  nlohmann::json provenance = run_provenance(command_line);
  log("bench " LMC_VERSION " (" LMC_GIT_REVISION "): in-context curves of '" + config.name +
      "' from " + args.config + " -> " + out.string() + ", first " + std::to_string(args.chunks) +
      " chunks per dataset");
  std::unique_ptr<ConsoleProgress> progress;
  if (!args.quiet) progress = std::make_unique<ConsoleProgress>(std::cerr, isatty(STDERR_FILENO));
  const auto started = std::chrono::steady_clock::now();
  const auto curves = measure_in_context(prepared, args.chunks, config.threads, progress.get());
  progress.reset();
  provenance["finished_utc"] = utc_timestamp();
  provenance["wall_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  provenance["threads"] = config.threads;
  provenance["libraries"] = library_versions();
  write_file_atomically(
      out / "in_context.json",
      in_context_json(curves, config.chunk_size, provenance, config.source).dump(1) + "\n");
  write_file_atomically(out / "in_context.csv", in_context_csv(curves));
  log("wrote " + (out / "in_context.json").string() + ", in_context.csv");
  std::cout << in_context_markdown(curves);
  if (!args.no_figures) make_figures(out, log);
  return kExitOk;
}

// `bench samples`: Figure 3 (harness/generation.h).
int samples_command(const SamplesArgs& args, const std::vector<std::string>& command_line) {
  nlohmann::json source = read_json_file(args.config);
  for (const auto& assignment : args.overrides) apply_override(source, assignment);
  const SamplesConfig config = parse_samples_config(source);
  const std::filesystem::path out = args.out.empty()
                                        ? std::filesystem::path("results") / config.name
                                        : std::filesystem::path(args.out);
  RunLog log;
  SamplesOptions options;
  if (!args.quiet) options.log = [&log](const std::string& line) { log(line); };
  options.provenance = run_provenance(command_line);
  const auto started = std::chrono::steady_clock::now();
  log("bench " LMC_VERSION " (" LMC_GIT_REVISION "): samples '" + config.name + "' from " +
      args.config + " -> " + out.string() + ", " + std::to_string(config.inputs.size()) +
      " inputs x " + std::to_string(config.samplers.size()) + " samplers, seed " +
      std::to_string(config.seed));
  const nlohmann::json result = generate_samples(config, out, options);
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.0f",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  log("wrote " + (out / "generation.json").string() + " and " +
      std::to_string(result["inputs"].size() * (config.samplers.size() + 1)) + " sample files in " +
      seconds + " s");
  if (!args.no_figures) make_figures(out, log, /*training_logs=*/false);
  return kExitOk;
}

void say_on_stderr(const std::string& line) { std::cerr << line << '\n'; }

int data_list_command(const DataArgs& args) {
  std::cout << "Corpora (bench data fetch NAME [--dir " << args.dir << "]):\n"
            << describe_catalog(active_catalog(), args.dir);
  return kExitOk;
}

int data_fetch_command(const DataArgs& args) {
  const auto catalog = active_catalog();
  FetchOptions options;
  options.dir = args.dir;
  options.from = args.from;
  options.keep_archive = args.keep_archive;
  options.download.attempts = args.attempts;
  options.download.retry_delay =
      std::chrono::milliseconds(static_cast<long long>(args.retry_delay * 1000));
  options.download.progress = &std::cerr;
  options.download.interactive = isatty(STDERR_FILENO);
  options.download.log = say_on_stderr;
  options.log = say_on_stderr;
  fetch_corpus(find_corpus(catalog, args.name), options);
  return kExitOk;
}

// Exit 0 when everything present checks out (absent corpora are only listed), 2 otherwise.
int data_verify_command(const DataArgs& args) {
  const auto catalog = active_catalog();
  std::vector<CorpusSource> chosen;
  if (args.name.empty()) {
    chosen = catalog;
  } else {
    chosen.push_back(find_corpus(catalog, args.name));
  }
  int bad = 0, ok = 0;
  for (const auto& source : chosen) {
    const CorpusCheck check = verify_corpus(source, args.dir, say_on_stderr);
    static constexpr const char* kStatus[] = {"absent", "partial", "ok", "BAD"};
    std::string name = source.name;
    name.resize(std::max<std::size_t>(name.size() + 1, 24), ' ');
    std::cout << name << kStatus[static_cast<int>(check.status)] << "  " << check.path.string()
              << ": " << check.detail << "\n"
              << std::flush;
    bad += check.status == CorpusCheck::Status::Bad;
    ok += check.status == CorpusCheck::Status::Ok;
  }
  std::cout << ok << " ok, " << bad << " bad under " << args.dir << "\n";
  return bad > 0 ? kExitBadInput : kExitOk;
}

std::string describe_options(const std::vector<OptionSpec>& options) {
  std::string text;
  for (const auto& o : options) {
    text += "      " + o.name + " (" + std::string(to_string(o.type)) + ", " +
            (o.default_value.is_null() ? std::string("required")
                                       : "default " + o.default_value.dump()) +
            "): " + o.help + "\n";
  }
  return text;
}

int list_command() {
  std::cout << "Compressors (config: {\"name\": label, \"kind\": kind (defaults to name), "
               "options...}):\n";
  for (const auto& kind : compressor_kinds()) {
    std::cout << "  " << kind.name << ": " << kind.summary << "\n"
              << describe_options(kind.options);
  }
  std::cout << "\nDataset kinds (config: {\"name\": label, \"kind\": kind, \"num_chunks\": cap, "
               "\"lm_mapping\": \"clear_top_bit\"|\"shift_right\", options...}):\n";
  for (const auto& kind : dataset_kinds()) {
    std::cout << "  " << kind.name << ": " << kind.summary
              << " (LM mapping: " << to_string(kind.default_mapping) << ")\n"
              << describe_options(kind.options);
  }
  return kExitOk;
}

int version_command() {
  std::cout << "bench (lmc-bench) " << LMC_VERSION << " revision " << LMC_GIT_REVISION << "\n";
  const nlohmann::json versions = library_versions();
  for (const auto& [library, version] : versions.items()) {
    std::cout << "  " << library << " "
              << (version.is_string() ? version.get<std::string>() : version.dump()) << "\n";
  }
  return kExitOk;
}

int main_with_exit_code(int argc, char** argv) {
  // Before the command line is parsed: MPI_Init may take its own arguments out of argv.
  std::unique_ptr<Cluster> cluster_holder;
  try {
    cluster_holder = std::make_unique<Cluster>(&argc, &argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
  const Cluster& cluster = *cluster_holder;
  CLI::App app{"lmc-bench: language modeling is compression, reproduced and checked"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "Print version and library versions");

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Evaluate every configured compressor on every dataset");
  run->add_option("config", run_args.config, "Config file (JSON)")->required();
  run->add_option("--set", run_args.overrides,
                  "Override a config key: key=value, e.g. datasets[0].num_chunks=100")
      ->allow_extra_args(false);
  run->add_option("--out", run_args.out, "Output folder (default results/<config name>)");
  run->add_flag("--no-verify", run_args.no_verify, "Skip decoding compressed chunks");
  run->add_flag("--quiet", run_args.quiet, "No progress output");
  run->add_flag("--no-figures", run_args.no_figures, "Do not call notebooks/figures.py");
  run->add_flag("--plan", run_args.plan,
                "Print each row's chunks, estimated CPU time and peak memory (from timing its "
                "first chunks), with totals in core-hours and wall hours; write nothing");
  run->add_option("--ranks", run_args.ranks,
                  "With --plan: price for this many MPI processes (default: as started)")
      ->check(CLI::PositiveNumber);
  run->add_flag("--resume", run_args.resume,
                "Continue an interrupted run from the journal in its output folder");
  auto* list = app.add_subcommand("list", "Print registered compressors and dataset kinds");

  ReportArgs report_args;
  auto* report = app.add_subcommand("report", "Rebuild table.md/.tex/.csv from result folders");
  report->add_option("results", report_args.results, "Result folder")->required();
  report->add_option("--against", report_args.against,
                     "More result folders merged in order; a later one replaces the same row");
  report->add_option("--out", report_args.out, "Output folder (default: the first result folder)");
  report->add_flag("--paper", report_args.paper,
                   "Add the paper's Table 1 raw rate and the difference to each cell");

  InContextArgs in_context_args;
  auto* in_context = app.add_subcommand(
      "incontext",
      "Rate of the first k bytes of a chunk as k grows, per dataset and compressor (Figure 4)");
  in_context->add_option("config", in_context_args.config, "Config file (JSON)")->required();
  in_context->add_option("--set", in_context_args.overrides, "Override a config key: key=value");
  in_context->add_option("--chunks", in_context_args.chunks,
                         "Chunks per dataset to average over (default 100)");
  in_context->add_option("--out", in_context_args.out,
                         "Output folder (default results/<config name>-in-context)");
  in_context->add_flag("--quiet", in_context_args.quiet, "No progress output");
  in_context->add_flag("--no-figures", in_context_args.no_figures,
                       "Do not call notebooks/figures.py");

  SamplesArgs samples_args;
  auto* samples = app.add_subcommand(
      "samples",
      "Figure 3: complete image, audio and text chunks with compressors and a language model as "
      "generative models; PNG, WAV and text files and a panel figure (configs/generation.json)");
  samples->add_option("config", samples_args.config, "Samples config (JSON)")->required();
  samples->add_option("--set", samples_args.overrides,
                      "Override a config key: key=value, e.g. seed=2 or inputs[0].chunk=7");
  samples->add_option("--out", samples_args.out, "Output folder (default results/<config name>)");
  samples->add_flag("--quiet", samples_args.quiet, "No progress output");
  samples->add_flag("--no-figures", samples_args.no_figures, "Do not call notebooks/figures.py");

  CompareArgs compare_args;
  auto* compare = app.add_subcommand(
      "compare", "Exit 4 if any rate of NEW is worse than BASELINE's by more than the tolerance");
  compare->add_option("new", compare_args.current, "Result folder to check")->required();
  compare->add_option("baseline", compare_args.baseline, "Result folder to compare with")
      ->required();
  compare->add_option("--tolerance", compare_args.tolerance, "Percentage points (default 0.1)");

  DataArgs data_args;
  auto* data = app.add_subcommand(
      "data", "Download and check the corpora (enwik8/9, LibriSpeech; ImageNet by hand)");
  data->require_subcommand(1);
  auto* data_list = data->add_subcommand("list", "Corpora bench can fetch, and what --dir holds");
  data_list->add_option("--dir", data_args.dir, "Data folder (default data)");
  auto* data_fetch = data->add_subcommand(
      "fetch", "Download, check and unpack one corpus into the data folder (resumable)");
  data_fetch->add_option("name", data_args.name, "Corpus (see bench data list)")->required();
  data_fetch->add_option("--dir", data_args.dir, "Data folder (default data)");
  data_fetch->add_option("--from", data_args.from,
                         "Mirror base URL, or a local folder holding the archive (offline)");
  data_fetch->add_flag("--keep-archive", data_args.keep_archive,
                       "Keep the downloaded archive after unpacking");
  data_fetch->add_option("--attempts", data_args.attempts, "Download attempts (default 5)")
      ->check(CLI::PositiveNumber);
  data_fetch
      ->add_option("--retry-delay", data_args.retry_delay,
                   "Seconds before retrying, doubled each time (default 2)")
      ->check(CLI::NonNegativeNumber);
  auto* data_verify = data->add_subcommand(
      "verify", "Check the corpora under the data folder (sizes, checksums, file counts)");
  data_verify->add_option("name", data_args.name, "Only this corpus (default: all)");
  data_verify->add_option("--dir", data_args.dir, "Data folder (default data)");

  TrainArgs train_args;
  auto* train =
      app.add_subcommand("train", "Train a byte or tokenized Transformer (models/README.md)");
  train->add_option("config", train_args.config, "Training config (JSON)")->required();
  train->add_flag("--resume", train_args.resume, "Continue from the last checkpoint");

  GenerateArgs generate_args;
  auto* generate = app.add_subcommand("generate",
                                      "Continue a prompt with a pretrained model (llama2.c, "
                                      "rwkv.cpp, TorchScript, GGUF) or a compressor");
  std::string generate_compressor, prompt_file;
  std::size_t prompt_bytes = 0;
  auto* model_option =
      generate->add_option("--model", generate_args.model,
                           "Model file (llama2.c or rwkv.cpp .bin, TorchScript .pt, GGUF .gguf)");
  generate
      ->add_option("--compressor", generate_compressor,
                   "Sample from a compressor (paper section 3.4): gzip, lzma2, ... (see list)")
      ->excludes(model_option);
  generate->add_option("--prompt-file", prompt_file, "Continue the bytes of this file");
  generate->add_option("--prompt-bytes", prompt_bytes,
                       "With --prompt-file: only its first N bytes (the paper: 1948)");
  generate
      ->add_option("--format", generate_args.format,
                   "auto (by magic), llama2c, rwkv, torchscript or gguf (builds with llama.cpp)")
      ->check(CLI::IsMember({"auto", "llama2c", "rwkv", "torchscript", "gguf"}));
  generate->add_option("--tokenizer", generate_args.tokenizer,
                       "llama2.c tokenizer.bin, or SentencePiece .model (torchscript)");
  generate->add_option("--context", generate_args.context,
                       "Positions per window (required for torchscript; default: the model's)");
  generate->add_option("--prompt", generate_args.prompt, "Text to continue");
  generate->add_option("--tokens", generate_args.tokens,
                       "Tokens (bytes, for a compressor) to generate (default 256)");
  generate->add_option("--temperature", generate_args.temperature, "0 = greedy (default)");
  generate->add_option("--seed", generate_args.seed, "Sampling seed (default 1)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  const std::vector<std::string> command_line(argv, argv + argc);
  try {
    if (show_version) return version_command();
    if (*run) return run_command(run_args, command_line, cluster);
    if (*list) return list_command();
    if (*data_list) return data_list_command(data_args);
    if (*data_fetch) return data_fetch_command(data_args);
    if (*data_verify) return data_verify_command(data_args);
    if (*report) return report_command(report_args);
    if (*compare) return compare_command(compare_args);
    if (*in_context) return in_context_command(in_context_args, command_line);
    if (*samples) return samples_command(samples_args, command_line);
    if (*generate) {
      if (!prompt_file.empty()) generate_args.prompt = read_prompt(prompt_file, prompt_bytes);
      if (!generate_compressor.empty()) {
        return generate_with_compressor(generate_compressor, generate_args);
      }
      if (generate_args.model.empty()) throw InputError("generate: give --model or --compressor");
      return generate_command(generate_args);
    }
    if (*train) {
      run_training(train_args.config, train_args.resume, std::cout);
      return kExitOk;
    }
    std::cout << app.help();
    return kExitBadInput;
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const RoundTripError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitRoundTrip;
  } catch (const RunInterrupted&) {
    return kExitInterrupted;  // the run log has already said what to do
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace
}  // namespace lmc

int main(int argc, char** argv) { return lmc::main_with_exit_code(argc, argv); }
