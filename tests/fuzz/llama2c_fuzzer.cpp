// The llama2.c checkpoint reader (models/pretrained/llama2c.h) on arbitrary bytes, then a few steps
// of the model it loaded.
#include "fuzz_support.h"
#include "model_fuzz_support.h"
#include "models/pretrained/llama2c.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lmc::fuzz::accept_documented_errors([&] {
    const auto model = lmc::Llama2cPredictor::load("fuzz.bin", lmc::ByteView(data, size));
    lmc::fuzz::run_a_few_steps(*model, model->config().seq_len);
  });
  return 0;
}
