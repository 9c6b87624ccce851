// `bench train`: train a byte or tokenized Transformer (models/README.md, Training).
#include <iostream>
#include <memory>
#include <string>

#include "harness/cli/command.h"
#include "models/torch_module.h"

namespace lmc {
namespace {

struct TrainArgs {
  std::string config;
  bool resume = false;
};

}  // namespace

Command add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* train =
      app.add_subcommand("train", "Train a byte or tokenized Transformer (models/README.md)");
  train->add_option("config", args->config, "Training config (JSON)")->required();
  train->add_flag("--resume", args->resume, "Continue from the last checkpoint");

  return {train, [args](const Invocation&) {
            torch_entry_points().run_training(args->config, args->resume, std::cout);
            return kExitOk;
          }};
}

}  // namespace lmc
