// The CPU a measurement ran on, in enough detail to tell machines apart: virtual machines report
// model names such as "AMD EPYC" or "Intel(R) Xeon(R) Processor" for many generations, so the
// vendor, family, model and stepping and the vector extensions the kernels choose from are added.
#pragma once

#include <string>

namespace lmc {

// "AMD EPYC (AuthenticAMD family 26 model 2 stepping 1; avx2 fma f16c avx512f avx512bw avx512vl)",
// from /proc/cpuinfo; "unknown" where it cannot be read.
std::string cpu_description();

}  // namespace lmc
