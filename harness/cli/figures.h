// Figures of a result folder, drawn by notebooks/figures.py with Debian's matplotlib.
#pragma once

#include <filesystem>

#include "harness/cli/run_log.h"

namespace lmc {

// Without python or matplotlib the command still succeeds and the log says why there are no
// figures. `training_logs`: add the shipped checkpoints' training curves (runs and in-context
// folders; a samples folder has nothing to say about them).
void make_figures(const std::filesystem::path& out, RunLog& log, bool training_logs = true);

}  // namespace lmc
