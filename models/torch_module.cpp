#include "models/torch_module.h"

#include <dlfcn.h>

#include <cstring>
#include <string>

#include "common/error.h"
#include "common/runtime_module.h"

namespace lmc {

namespace {

const TorchEntryPoints& load_torch_module() {
  const RuntimeModuleSpec spec{
      .file_name = "liblmc_torch.so",
      .environment_variable = "LMC_TORCH_MODULE",
#ifdef LMC_TORCH_MODULE_BUILD_PATH
      .build_path = LMC_TORCH_MODULE_BUILD_PATH,
#endif
      .needed_by = "Training and TorchScript models (libtorch)",
      // Not DEEPBIND: libtorch and its libraries bind to the process's C++ runtime and streams.
      .dlopen_flags = RTLD_NOW | RTLD_LOCAL,
  };
  const TorchEntryPoints* entry_points = nullptr;
  open_runtime_module(spec, [&](void* handle, const std::filesystem::path& path) {
    const auto* candidate = runtime_module_function<const TorchEntryPoints*()>(
        handle, "lmc_torch_entry_points", path)();
    if (candidate->interface_version != kTorchInterfaceVersion ||
        std::strcmp(candidate->compiler, __VERSION__) != 0) {
      throw InputError(path.string() + ": built by another lmc build (interface " +
                       std::to_string(candidate->interface_version) + ", " + candidate->compiler +
                       "; this one: " + std::to_string(kTorchInterfaceVersion) + ", " +
                       __VERSION__ + ")");
    }
    entry_points = candidate;
  });
  return *entry_points;
}

}  // namespace

const TorchEntryPoints& torch_entry_points() {
  // A failed load throws out of the initialiser and is tried again on the next call.
  static const TorchEntryPoints& entry_points = load_torch_module();
  return entry_points;
}

}  // namespace lmc
