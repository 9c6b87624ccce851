// One subcommand of `bench`. Each cli/*_command.cpp declares its options on the parser and returns
// what to run when the user chose it; main.cpp only wires them together and turns the errors they
// throw into exit codes.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace lmc {

class Cluster;

// `bench` exit codes, one meaning each.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;    // bad config, missing data, bad arguments
inline constexpr int kExitRoundTrip = 3;   // a compressed chunk did not decode to its input
inline constexpr int kExitRegression = 4;  // bench compare: a rate got worse or a row disappeared
inline constexpr int kExitInterrupted =
    130;  // the shell's code for Ctrl-C; the journal keeps the work

// What a command may need beyond its own options.
struct Invocation {
  std::vector<std::string> command_line;  // recorded in provenance
  const Cluster* cluster = nullptr;       // this process's place among MPI ranks (or alone)
};

struct Command {
  CLI::App* parser = nullptr;  // the command was chosen when *parser is true after parsing
  std::function<int(const Invocation&)> action;
};

Command add_run_command(CLI::App& app);
Command add_list_command(CLI::App& app);
Command add_data_command(CLI::App& app);
Command add_report_command(CLI::App& app);
Command add_compare_command(CLI::App& app);
Command add_incontext_command(CLI::App& app);
Command add_samples_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_generate_command(CLI::App& app);
Command add_decode_command(CLI::App& app);
Command add_compress_command(CLI::App& app);
Command add_decompress_command(CLI::App& app);

// `bench --version`: version, source revision and the libraries that produce the bytes.
int version_command();

}  // namespace lmc
