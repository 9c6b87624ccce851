// `bench samples`: the paper's Figure 3, compressors and a language model as generative models.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/json.h"
#include "harness/cli/command.h"
#include "harness/cli/figures.h"
#include "harness/cli/run_log.h"
#include "harness/experiments/generation.h"
#include "harness/report/provenance.h"
#include "harness/run/config.h"

namespace lmc {
namespace {

struct SamplesArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  bool quiet = false;
  bool no_figures = false;
};

// `bench samples`: Figure 3 (harness/experiments/generation.h).
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
  log(program_banner() + ": samples '" + config.name + "' from " + args.config + " -> " +
      out.string() + ", " + std::to_string(config.inputs.size()) + " inputs x " +
      std::to_string(config.samplers.size()) + " samplers, seed " + std::to_string(config.seed));
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

}  // namespace

Command add_samples_command(CLI::App& app) {
  auto args = std::make_shared<SamplesArgs>();
  auto* samples = app.add_subcommand(
      "samples",
      "Figure 3: complete image, audio and text chunks with compressors and a language model as "
      "generative models; PNG, WAV and text files and a panel figure (configs/generation.json)");
  samples->add_option("config", args->config, "Samples config (JSON)")->required();
  samples->add_option("--set", args->overrides,
                      "Override a config key: key=value, e.g. seed=2 or inputs[0].chunk=7");
  samples->add_option("--out", args->out, "Output folder (default results/<config name>)");
  samples->add_flag("--quiet", args->quiet, "No progress output");
  samples->add_flag("--no-figures", args->no_figures, "Do not call notebooks/figures.py");

  return {samples, [args](const Invocation& invocation) {
            return samples_command(*args, invocation.command_line);
          }};
}

}  // namespace lmc
