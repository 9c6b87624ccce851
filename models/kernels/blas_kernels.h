// Which kernel set OpenBLAS runs libtorch's matrix products on. Debian's OpenBLAS (0.3.21) picks
// its kernels from the CPU model at load time and does not know every newer model: on some
// AVX-512 Xeons it falls back to its SSE3 "Prescott" kernels, which made training here about 2x
// slower. The choice cannot be changed once the library is loaded, so we report it and say how
// to override it (OPENBLAS_CORETYPE) before the next start.
#pragma once

#include <string>
#include <string_view>

namespace lmc {

// OpenBLAS's name for the kernels it runs ("SkylakeX", "Haswell", "Prescott", ...), or "" when
// the process has no OpenBLAS (another BLAS, or libtorch without one).
std::string openblas_core();

// A one-line warning when `core` is an older kernel set than the CPU supports (AVX2 or AVX-512
// CPUs on pre-AVX2 kernels), naming the OPENBLAS_CORETYPE value to set; "" otherwise.
std::string blas_kernel_warning(std::string_view core, bool cpu_has_avx2, bool cpu_has_avx512);

// The same for this process and this CPU.
std::string blas_kernel_warning();

}  // namespace lmc
