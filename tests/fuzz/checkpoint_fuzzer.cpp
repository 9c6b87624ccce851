// The .lmct checkpoint reader (models/transformer/checkpoint.h) on arbitrary bytes, and the
// architecture in its header.
#include <sstream>
#include <string>

#include "fuzz_support.h"
#include "models/transformer/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  lmc::fuzz::accept_documented_errors([&] {
    const lmc::Checkpoint checkpoint = lmc::read_checkpoint(in, size, "fuzz.lmct");
    lmc::checkpoint_architecture(checkpoint, "fuzz.lmct");
  });
  return 0;
}
