// The portable path: plain float operations and std::fma, one element at a time.
#include "models/kernels/step_kernels_impl.h"

namespace lmc::step_kernels {

const Kernels& scalar_kernels() {
  static const Kernels kernels = make_kernels<ScalarIsa>(KernelPath::Scalar, "scalar");
  return kernels;
}

}  // namespace lmc::step_kernels
