// `bench incontext`: the rate of the first k bytes of a chunk as k grows (the paper's Figure 4).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/json.h"
#include "harness/cli/command.h"
#include "harness/cli/figures.h"
#include "harness/cli/run_log.h"
#include "harness/experiments/in_context.h"
#include "harness/report/provenance.h"
#include "harness/run/config.h"
#include "harness/run/progress.h"
#include "harness/run/runner.h"

namespace lmc {
namespace {

struct InContextArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  std::uint64_t chunks = 100;
  bool quiet = false;
  bool no_figures = false;
};

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
  log(program_banner() + ": in-context curves of '" + config.name + "' from " + args.config +
      " -> " + out.string() + ", first " + std::to_string(args.chunks) + " chunks per dataset");
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

}  // namespace

Command add_incontext_command(CLI::App& app) {
  auto args = std::make_shared<InContextArgs>();
  auto* in_context = app.add_subcommand(
      "incontext",
      "Rate of the first k bytes of a chunk as k grows, per dataset and compressor (Figure 4)");
  in_context->add_option("config", args->config, "Config file (JSON)")->required();
  in_context->add_option("--set", args->overrides, "Override a config key: key=value");
  in_context->add_option("--chunks", args->chunks,
                         "Chunks per dataset to average over (default 100)");
  in_context->add_option("--out", args->out,
                         "Output folder (default results/<config name>-in-context)");
  in_context->add_flag("--quiet", args->quiet, "No progress output");
  in_context->add_flag("--no-figures", args->no_figures, "Do not call notebooks/figures.py");

  return {in_context, [args](const Invocation& invocation) {
            return in_context_command(*args, invocation.command_line);
          }};
}

}  // namespace lmc
