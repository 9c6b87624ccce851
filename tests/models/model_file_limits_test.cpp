// Crafted model files that the fuzz targets (tests/fuzz) found mishandled: each must be an
// InputError naming the file. Needs no libtorch, so the sanitizer build (scripts/sanitize.sh)
// runs it too.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "models/pretrained/llama2c.h"
#include "models/pretrained/rwkv.h"
#include "models/transformer/checkpoint.h"
#include "test_support.h"

namespace lmc {
namespace {

// A checkpoint preamble and the JSON header `header`, then `payload` zero bytes: a file whose
// header says what the test wants, whatever the tensors.
std::filesystem::path crafted_checkpoint(const std::filesystem::path& dir,
                                         const std::string& header, std::size_t payload) {
  const auto path = dir / "crafted.lmct";
  std::ofstream out(path, std::ios::binary);
  const std::uint32_t version = 1, size = static_cast<std::uint32_t>(header.size());
  out.write("LMCTRNSF", 8);
  out.write(reinterpret_cast<const char*>(&version), sizeof(version));
  out.write(reinterpret_cast<const char*>(&size), sizeof(size));
  out << header << std::string(payload, '\0');
  return path;
}

void expect_input_error(const std::function<void()>& read, const std::string& fragment) {
  try {
    read();
    ADD_FAILURE() << "accepted a file with " << fragment;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// The element count of these extents overflowed int64 (undefined behaviour: UBSan aborts) before
// it was compared with the file's size.
TEST(ModelFileLimits, CheckpointShapeWhoseElementCountOverflows) {
  test::TempDir dir;
  const auto path = crafted_checkpoint(
      dir.path(), R"({"tensors": [{"name": "a", "shape": [1099511627776, 1099511627776, 4]}]})", 0);
  expect_input_error([&] { read_checkpoint(path); },
                     path.string() +
                         ": not a valid Transformer checkpoint (bad shape of a: "
                         "[1099511627776, 1099511627776, 4])");
}

// Two negative extents multiplied to a count (4) that the file held: the checkpoint loaded with
// a shape of (-1, -4).
TEST(ModelFileLimits, CheckpointNegativeExtents) {
  test::TempDir dir;
  const auto path =
      crafted_checkpoint(dir.path(), R"({"tensors": [{"name": "a", "shape": [-1, -4]}]})", 16);
  expect_input_error([&] { read_checkpoint(path); }, "bad shape of a: [-1, -4]");
}

// nlohmann's get<std::int64_t>() of 1e300 is a float-to-integer cast out of range (undefined
// behaviour: UBSan aborts).
TEST(ModelFileLimits, CheckpointExtentThatIsAHugeFloat) {
  test::TempDir dir;
  const auto path =
      crafted_checkpoint(dir.path(), R"({"tensors": [{"name": "a", "shape": [1e300]}]})", 0);
  expect_input_error([&] { read_checkpoint(path); }, "bad shape of a: [1e+300]");
}

// vocab_size INT32_MIN (negative = own classifier) had no absolute value: std::abs of it is
// undefined behaviour.
TEST(ModelFileLimits, Llama2cVocabularyOfInt32Min) {
  const std::int32_t header[7] = {4, 8, 1, 2, 1, INT32_MIN, 4};
  const ByteView bytes(reinterpret_cast<const std::uint8_t*>(header), sizeof(header));
  expect_input_error([&] { Llama2cPredictor::load("crafted.bin", bytes); },
                     "crafted.bin: not a llama2.c checkpoint header");
}

// 1024 layers of dim 2 and a context of 2^20 tokens: an 8.5 MB file whose sessions would each
// allocate a 16 GiB KV cache.
TEST(ModelFileLimits, Llama2cKvCacheFarLargerThanTheFile) {
  const int dim = 2, hidden = 2, layers = 1024, vocab = 1, seq_len = 1 << 20;
  const std::size_t weights =
      vocab * dim + dim +
      std::size_t{layers} * (dim + 2 * dim * dim + 2 * dim * dim + dim + 3 * hidden * dim) +
      std::size_t{seq_len} * dim;  // the RoPE tables, head size 2
  std::vector<std::int32_t> file = {dim, hidden, layers, 1, 1, vocab, seq_len};
  file.resize(file.size() + weights);
  const ByteView bytes(reinterpret_cast<const std::uint8_t*>(file.data()),
                       file.size() * sizeof(file[0]));
  expect_input_error([&] { Llama2cPredictor::load("thin.bin", bytes); },
                     "asks for a KV cache of 17179869184 bytes, more than the limit of 268435456");
}

// A tensor header of four dimensions of 2^24: their product overflowed int64 (undefined
// behaviour: UBSan aborts) before it was compared with the bytes left.
TEST(ModelFileLimits, RwkvTensorDimensionsWhoseProductOverflows) {
  const std::int32_t file[] = {
      0x67676d66, 101, 8, 4,       1,       0,                  // magic, version, vocab, embed, ...
      4,          10,  0, 1 << 24, 1 << 24, 1 << 24, 1 << 24};  // dims, key, type
  const ByteView bytes(reinterpret_cast<const std::uint8_t*>(file), sizeof(file));
  expect_input_error([&] { RwkvPredictor::load("wide.bin", bytes); },
                     "wide.bin: truncated: a tensor needs more than the 12 bytes left");
}

}  // namespace
}  // namespace lmc
