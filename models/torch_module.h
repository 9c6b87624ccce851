// libtorch behind dlopen. The training engine (transformer/training.h) and TorchScript models
// (pretrained/torchscript_predictor.h) are the only code that needs libtorch. They are built into
// liblmc_torch.so, which torch_entry_points() opens the first time either is used, so that no
// other process pays for libtorch: linking it costs about a second before main (the dynamic
// linker binding the ~280 libraries Debian's libtorch needs, then its operator registry's static
// initialisers) and more at exit, which every `bench list`, every `bench compress` of a small
// file and each of the test suite's processes used to pay. The module comes from the same build
// and runs in the same process, so C++ types and exceptions cross its boundary.
#pragma once

#include <filesystem>
#include <memory>
#include <ostream>

#include "models/predictor.h"

namespace lmc {

// Bumped whenever TorchEntryPoints or a type it passes changes.
inline constexpr int kTorchInterfaceVersion = 1;

// What liblmc_torch.so exports, through its one C symbol `lmc_torch_entry_points`.
struct TorchEntryPoints {
  int interface_version;
  const char* compiler;  // __VERSION__ of the build that made the module: it must be ours
  // transformer/training.h
  void (*run_training)(const std::filesystem::path& config, bool resume, std::ostream& progress);
  bool (*cuda_available)();
  // pretrained/torchscript_predictor.h: TorchScriptPredictor::load
  std::shared_ptr<const Predictor> (*load_torchscript)(const std::filesystem::path& path,
                                                       int vocab_size);
};

// The module's entry points, loaded once per process (common/runtime_module.h says where it is
// looked for; LMC_TORCH_MODULE names it). InputError saying what needs it when it is missing,
// fails to load or comes from another build.
const TorchEntryPoints& torch_entry_points();

}  // namespace lmc
