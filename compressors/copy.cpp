// The harness's ceiling: a "compressor" that copies each chunk (memcpy), output = input, no
// header. Its rate is 100 % by construction; its seconds are what reading, timing and verifying a
// chunk cost with no codec at all, the overhead every other row also pays (lzbench's memcpy row).
#include <cstring>
#include <string>

#include "common/error.h"
#include "compressors/compressor.h"

namespace lmc {

namespace {

Bytes copy_of(ByteView data) {
  Bytes out(data.size());
  if (!data.empty()) std::memcpy(out.data(), data.data(), data.size());
  return out;
}

// Both directions of the unchunked stream: every byte written comes out as it is.
class CopyStream final : public StreamCodec {
 public:
  void write(ByteView in, Bytes& out) override {
    const std::size_t at = out.size();
    out.resize(at + in.size());
    if (!in.empty()) std::memcpy(out.data() + at, in.data(), in.size());
  }
  void finish(Bytes&) override {}
};

class CopyCompressor final : public Compressor {
 public:
  Bytes compress(ByteView data, Counters&) const override { return copy_of(data); }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    if (compressed.size() != original_size) {
      throw CorruptDataError("copy: the stream holds " + std::to_string(compressed.size()) +
                             " bytes, the chunk " + std::to_string(original_size));
    }
    return copy_of(compressed);
  }

  std::unique_ptr<StreamCodec> stream_encoder() const override {
    return std::make_unique<CopyStream>();
  }
  std::unique_ptr<StreamCodec> stream_decoder() const override {
    return std::make_unique<CopyStream>();
  }

  // No header to count once: the rate stays exactly 100 %.
  bool discounts_header() const override { return false; }

  nlohmann::json settings() const override { return {{"operation", "memcpy"}}; }
};

}  // namespace

CompressorKind copy_kind() {
  return {
      .name = "copy",
      .summary =
          "no compression, the harness's throughput ceiling: each chunk copied (memcpy) "
          "and copied back, rate 100 % by construction; its seconds are the cost of "
          "reading, timing and verifying a chunk with no codec at all",
      .options = {},
      .make = [](const Options&, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<CopyCompressor>();
      },
  };
}

}  // namespace lmc
