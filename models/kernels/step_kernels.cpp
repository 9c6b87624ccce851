// Run-time choice of the kernel path (step_kernels.h).
#include "models/kernels/step_kernels.h"

#include <cpuid.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace lmc::step_kernels {

CacheAlignedVector<float> pack_panels(const std::vector<float>& w, int in, int out) {
  CacheAlignedVector<float> packed(w.size());
  float* target = packed.data();
  for (int first = 0; first < out; first += kMatmulPanel) {
    const int width = std::min(kMatmulPanel, out - first);
    for (int i = 0; i < in; ++i, target += width) {
      std::copy_n(&w[static_cast<std::size_t>(i) * out + first], width, target);
    }
  }
  return packed;
}

// CPUID leaf 1, ECX: asked directly because clang before 15 (the fuzz build) does not know
// __builtin_cpu_supports("f16c").
bool has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_F16C) != 0;
}

bool supported(KernelPath path) {
  switch (path) {
    case KernelPath::Scalar:
      return true;
    case KernelPath::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    case KernelPath::Avx512:
      // BW and VL for the masked loads of a group's last halves (every AVX-512 CPU but Xeon Phi).
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
  }
  return false;
}

std::vector<KernelPath> supported_paths() {
  std::vector<KernelPath> paths;
  for (auto path : {KernelPath::Scalar, KernelPath::Avx2, KernelPath::Avx512}) {
    if (supported(path)) paths.push_back(path);
  }
  return paths;
}

const char* to_string(KernelPath path) {
  switch (path) {
    case KernelPath::Scalar:
      return "scalar";
    case KernelPath::Avx2:
      return "avx2";
    case KernelPath::Avx512:
      return "avx512";
  }
  return "unknown";
}

std::optional<KernelPath> parse_kernel_path(std::string_view name) {
  for (auto path : {KernelPath::Scalar, KernelPath::Avx2, KernelPath::Avx512}) {
    if (name == to_string(path)) return path;
  }
  return std::nullopt;
}

KernelPath default_kernel_path() {
  if (const char* forced = std::getenv("LMC_STEP_KERNELS"); forced != nullptr && *forced != 0) {
    const auto path = parse_kernel_path(forced);
    if (!path) {
      throw std::invalid_argument(std::string("LMC_STEP_KERNELS=") + forced +
                                  ": expected scalar, avx2 or avx512");
    }
    if (!supported(*path)) {
      throw std::invalid_argument(std::string("LMC_STEP_KERNELS=") + forced +
                                  ": this CPU does not support it");
    }
    return *path;
  }
  return supported_paths().back();
}

const Kernels& kernels(KernelPath path) {
  if (!supported(path)) {
    throw std::invalid_argument(std::string("kernel path ") + to_string(path) +
                                " is not supported by this CPU");
  }
  switch (path) {
    case KernelPath::Avx512:
      return avx512_kernels();
    case KernelPath::Avx2:
      return avx2_kernels();
    case KernelPath::Scalar:
      break;
  }
  return scalar_kernels();
}

}  // namespace lmc::step_kernels
