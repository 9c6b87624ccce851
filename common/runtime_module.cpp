#include "common/runtime_module.h"

#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <system_error>
#include <vector>

namespace lmc {

namespace {

std::vector<std::filesystem::path> candidates(const RuntimeModuleSpec& spec) {
  if (const char* configured = std::getenv(spec.environment_variable.c_str())) {
    return {configured};  // an explicit choice is not second-guessed
  }
  std::vector<std::filesystem::path> paths;
  std::error_code error;
  const auto executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) paths.push_back(executable.parent_path() / spec.file_name);
  if (!spec.build_path.empty()) paths.emplace_back(spec.build_path);
  return paths;
}

}  // namespace

RuntimeModule open_runtime_module(
    const RuntimeModuleSpec& spec,
    const std::function<void(void* handle, const std::filesystem::path& path)>& accept) {
  std::string tried;
  for (const auto& path : candidates(spec)) {
    if (!std::filesystem::exists(path)) {
      tried += "\n  " + path.string() + ": not found";
      continue;
    }
    // Closed again unless `accept` takes it.
    std::unique_ptr<void, int (*)(void*)> handle(dlopen(path.c_str(), spec.dlopen_flags), dlclose);
    if (!handle) {
      tried += "\n  " + path.string() + ": cannot be loaded: " + dlerror();
      continue;
    }
    try {
      accept(handle.get(), path);
    } catch (const InputError& e) {
      tried += std::string("\n  ") + e.what();
      continue;
    }
    return {handle.release(), path};
  }
  throw InputError(spec.needed_by + " need " + spec.file_name + "; tried:" + tried + "\nset " +
                   spec.environment_variable + " to its path");
}

void* runtime_module_symbol(void* handle, const char* name, const std::filesystem::path& path) {
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) {
    throw InputError(path.string() + ": not one of lmc's libraries (no " + name + ")");
  }
  return symbol;
}

}  // namespace lmc
