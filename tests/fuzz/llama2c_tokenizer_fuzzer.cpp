// The llama2.c tokenizer reader (models/tokenizers/llama2c_tokenizer.h) on arbitrary bytes, then a
// round trip of a short text, which lossless coding relies on.
//
// Input: [vocabulary size - 259, u16 little-endian][tokenizer.bin bytes].
#include <cstdlib>
#include <string>

#include "fuzz_support.h"
#include "models/tokenizers/llama2c_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lmc::fuzz::InputCursor input(data, size);
  const int vocab_size = 259 + input.uint16();
  const lmc::ByteView file = input.rest();
  lmc::fuzz::accept_documented_errors([&] {
    const auto tokenizer = lmc::Llama2cTokenizer::load("tokenizer.bin", file, vocab_size);
    const std::string text = "Hello, <0x41> world\x7f\x01 ab";
    std::string decoded;
    for (int id : tokenizer.encode(text)) decoded += tokenizer.token_bytes(id);
    if (decoded != std::string(tokenizer.dummy_prefix()) + text) abort();
  });
  return 0;
}
