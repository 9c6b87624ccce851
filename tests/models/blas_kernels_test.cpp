#include "models/kernels/blas_kernels.h"

#include <gtest/gtest.h>

namespace lmc {
namespace {

TEST(BlasKernels, FallbackKernelsOnAnAvx512CpuNameTheOverride) {
  const auto warning = blas_kernel_warning("Prescott", true, true);
  EXPECT_NE(warning.find("Prescott kernels on a CPU with AVX-512"), std::string::npos) << warning;
  EXPECT_NE(warning.find("OPENBLAS_CORETYPE=SkylakeX"), std::string::npos) << warning;
}

TEST(BlasKernels, FallbackKernelsOnAnAvx2CpuSuggestHaswell) {
  const auto warning = blas_kernel_warning("Nehalem", true, false);
  EXPECT_NE(warning.find("OPENBLAS_CORETYPE=Haswell"), std::string::npos) << warning;
}

TEST(BlasKernels, MatchingKernelsAndOldCpusAreQuiet) {
  EXPECT_EQ(blas_kernel_warning("SkylakeX", true, true), "");
  EXPECT_EQ(blas_kernel_warning("Cooperlake", true, true), "");
  EXPECT_EQ(blas_kernel_warning("Haswell", true, true), "");  // chosen by the user: respected
  EXPECT_EQ(blas_kernel_warning("Zen", true, false), "");
  EXPECT_EQ(blas_kernel_warning("Prescott", false, false), "");  // the best that CPU has
  EXPECT_EQ(blas_kernel_warning("", true, true), "");            // no OpenBLAS in the process
}

}  // namespace
}  // namespace lmc
