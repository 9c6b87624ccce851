// Decoder of one codec (LMC_FUZZ_CODEC names its `xxx_kind()`) on arbitrary bytes, both as
// chunked decompress() and as the unchunked stream decoder fed in pieces.
//
// Input: [piece length byte][original size, u16 little-endian][stream bytes].
#include <memory>

#include "compressors/compressor.h"
#include "fuzz_support.h"

namespace lmc {
CompressorKind LMC_FUZZ_CODEC();
}

namespace {

const lmc::Compressor& codec() {
  static const std::unique_ptr<lmc::Compressor> compressor = [] {
    const lmc::CompressorKind kind = lmc::LMC_FUZZ_CODEC();
    return kind.make(lmc::Options::validate(nlohmann::json::object(), kind.options, "fuzz"),
                     lmc::CodecContext{});
  }();
  return *compressor;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lmc::fuzz::InputCursor input(data, size);
  // Pieces of 1 to 2041 bytes: odd boundaries are where a stream decoder's buffering breaks.
  const std::size_t piece = 1 + std::size_t{input.byte()} * 8;
  const std::size_t original_size = input.uint16();
  const lmc::ByteView stream = input.rest();

  lmc::fuzz::accept_documented_errors([&] { codec().decompress(stream, original_size); });
  lmc::fuzz::accept_documented_errors([&] {
    const auto decoder = codec().stream_decoder();
    lmc::Bytes out;
    for (std::size_t at = 0; at < stream.size(); at += piece) {
      decoder->write(stream.subspan(at, std::min(piece, stream.size() - at)), out);
    }
    decoder->finish(out);
  });
  return 0;
}
