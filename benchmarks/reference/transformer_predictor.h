// The one-position incremental step as it was before the blocked encoder and the runtime-dispatched
// kernels (issue 10): the reference that transformer_step_benchmark reports its speedups against.
#pragma once

#include <filesystem>
#include <memory>

#include "models/predictor.h"

namespace lmc::reference {

std::unique_ptr<Predictor> load_transformer_predictor(const std::filesystem::path& checkpoint);

}  // namespace lmc::reference
