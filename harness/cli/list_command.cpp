// `bench list` and `bench --version`: what this build can run, and what produces its bytes.
#include <iostream>
#include <string>
#include <vector>

#include "common/options.h"
#include "compressors/compressor.h"
#include "datasets/dataset.h"
#include "harness/cli/command.h"
#include "harness/report/provenance.h"
#include "harness/source_revision.h"
#include "harness/version.h"

namespace lmc {
namespace {

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
               "\"repetitions\": passes over each chunk, options...}):\n";
  for (const auto& kind : compressor_kinds()) {
    std::cout << "  " << kind.name << ": " << kind.summary << " [" << kind.default_repetitions
              << (kind.default_repetitions == 1 ? " repetition" : " repetitions")
              << " by default]\n"
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

}  // namespace

int version_command() {
  std::cout << "bench (lmc-bench) " << LMC_VERSION << " revision " << source_revision() << "\n";
  const nlohmann::json versions = library_versions();
  for (const auto& [library, version] : versions.items()) {
    std::cout << "  " << library << " "
              << (version.is_string() ? version.get<std::string>() : version.dump()) << "\n";
  }
  return kExitOk;
}

Command add_list_command(CLI::App& app) {
  auto* list = app.add_subcommand("list", "Print registered compressors and dataset kinds");
  return {list, [](const Invocation&) { return list_command(); }};
}

}  // namespace lmc
