#include "models/kernels/blas_kernels.h"

#include <dlfcn.h>

#include <array>

namespace lmc {

std::string openblas_core() {
  // Looked up at run time: the symbol is there only when the BLAS libtorch loaded is OpenBLAS.
  using CoreName = char*();
  void* symbol = dlsym(RTLD_DEFAULT, "openblas_get_corename");
  if (symbol == nullptr) return "";
  const char* name = reinterpret_cast<CoreName*>(symbol)();
  return name == nullptr ? "" : name;
}

std::string blas_kernel_warning(std::string_view core, bool cpu_has_avx2, bool cpu_has_avx512) {
  if (core.empty() || !cpu_has_avx2) return "";
  // OpenBLAS's x86-64 kernel sets that use AVX2 (Haswell and later) or AVX-512; anything else on
  // such a CPU is a fallback.
  constexpr std::array avx2_cores = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
  for (std::string_view name : avx2_cores) {
    if (core == name) return "";
  }
  const std::string suggested = cpu_has_avx512 ? "SkylakeX" : "Haswell";
  return "OpenBLAS runs its " + std::string(core) + " kernels on a CPU with " +
         (cpu_has_avx512 ? "AVX-512" : "AVX2") +
         " (its CPU detection does not know this model): libtorch's matrix products run about 2x "
         "slower. Start with OPENBLAS_CORETYPE=" +
         suggested + " to use the fast ones.";
}

std::string blas_kernel_warning() {
  return blas_kernel_warning(openblas_core(), __builtin_cpu_supports("avx2") != 0,
                             __builtin_cpu_supports("avx512f") != 0);
}

}  // namespace lmc
