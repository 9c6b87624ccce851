// `bench`: the command line. Each command lives in its own cli/*_command.cpp; this file wires them
// into one parser and catches every error once, mapping it to an exit code (cli/command.h):
// 0 success, 2 bad config or missing data, 3 a round trip failed, 1 anything else.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "harness/cli/command.h"
#include "harness/run/cluster.h"
#include "harness/run/runner.h"

namespace lmc {
namespace {

int main_with_exit_code(int argc, char** argv) {
  // Before the command line is parsed: MPI_Init may take its own arguments out of argv.
  std::unique_ptr<Cluster> cluster;
  try {
    cluster = std::make_unique<Cluster>(&argc, &argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
  CLI::App app{"lmc-bench: language modeling is compression, reproduced and checked"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "Print version and library versions");
  // In the order `bench --help` lists them.
  const std::vector<Command> commands = {
      add_run_command(app),       add_list_command(app),     add_report_command(app),
      add_incontext_command(app), add_samples_command(app),  add_compare_command(app),
      add_data_command(app),      add_train_command(app),    add_generate_command(app),
      add_decode_command(app),    add_compress_command(app), add_decompress_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  const Invocation invocation{std::vector<std::string>(argv, argv + argc), cluster.get()};
  try {
    if (show_version) return version_command();
    for (const Command& command : commands) {
      if (*command.parser) return command.action(invocation);
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
