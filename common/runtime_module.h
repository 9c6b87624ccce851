// Shared libraries that lmc builds beside its programs and opens with dlopen instead of linking:
// liblmc_sentencepiece.so (its bundled protobuf must never meet libtorch's) and liblmc_torch.so
// (libtorch costs every process that links it about a second before main). Each is looked for,
// in order, at the path an environment variable names (only there, when it is set), next to the
// running program, and where this build wrote it.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "common/error.h"

namespace lmc {

struct RuntimeModuleSpec {
  std::string file_name;             // "liblmc_torch.so"
  std::string environment_variable;  // "LMC_TORCH_MODULE": a path that overrides the search
  std::string build_path;            // where this build wrote it; empty when unknown
  std::string needed_by;             // for errors: "SentencePiece tokenizers"
  int dlopen_flags = 0;              // RTLD_NOW | RTLD_LOCAL, ...
};

struct RuntimeModule {
  void* handle = nullptr;  // open for the process's life: what the module made may outlive us
  std::filesystem::path path;
};

// Opens the first candidate that loads and that `accept` (which checks the module's interface
// version, throwing InputError to refuse it) accepts. InputError listing every candidate and why
// it failed when none does.
RuntimeModule open_runtime_module(
    const RuntimeModuleSpec& spec,
    const std::function<void(void* handle, const std::filesystem::path& path)>& accept);

void* runtime_module_symbol(void* handle, const char* name, const std::filesystem::path& path);

// A symbol of an opened module as a function; InputError naming the module when it lacks it.
template <typename Function>
Function* runtime_module_function(void* handle, const char* name,
                                  const std::filesystem::path& path) {
  return reinterpret_cast<Function*>(runtime_module_symbol(handle, name, path));
}

}  // namespace lmc
