// The LM compressor's arithmetic decoder driven by a small byte Transformer (random weights,
// hand-written step, no libtorch): arbitrary streams must decode or be CorruptDataError, one by
// one and in lockstep; and arbitrary chunks must round-trip.
//
// Input: [original size byte][stream bytes]. The size is kept small: each position is a model step.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "compressors/lm_compressor.h"
#include "compressors/random_checkpoint.h"
#include "fuzz_support.h"
#include "models/transformer/transformer_predictor.h"

namespace {

std::unique_ptr<lmc::LmCompressor> compressor;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The loader reads a file; one written at start-up is cheaper than a bytes seam through the
  // predictor's provenance (its hash is the file's).
  const auto path =
      std::filesystem::temp_directory_path() / ("lmc-fuzz-" + std::to_string(getpid()) + ".lmct");
  lmc::TransformerShape shape;
  shape.embedding_dim = 16;
  shape.layers = 1;
  shape.heads = 2;
  lmc::test::write_random_checkpoint(path, shape, 12);
  std::shared_ptr<const lmc::Predictor> predictor = lmc::load_transformer_predictor(path);
  std::filesystem::remove(path);
  compressor =
      std::make_unique<lmc::LmCompressor>(std::move(predictor), lmc::SevenBitMapping::ShiftRight);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lmc::fuzz::InputCursor input(data, size);
  const std::size_t original_size = input.byte() % 160;
  const lmc::ByteView stream = input.rest();

  lmc::fuzz::accept_documented_errors([&] { compressor->decompress(stream, original_size); });
  const lmc::ByteView halves[] = {stream.first(stream.size() / 2),
                                  stream.subspan(stream.size() / 2)};
  const std::size_t sizes[] = {original_size, original_size / 2};
  compressor->decompress_batch(halves, sizes);  // errors are returned, never thrown

  const lmc::ByteView chunk = stream.first(std::min<std::size_t>(stream.size(), 96));
  const lmc::Bytes coded = compressor->compress(chunk);
  if (compressor->decompress(coded, chunk.size()) != compressor->expected_roundtrip(chunk)) abort();
  return 0;
}
