#include "harness/cli/figures.h"

#include <cstdio>
#include <string>

namespace lmc {

void make_figures(const std::filesystem::path& out, RunLog& log, bool training_logs) {
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

}  // namespace lmc
