#include "compressors/compressor.h"

#include <stdexcept>

#include "common/error.h"

namespace lmc {

namespace {

// Collects the whole input, then runs the one-shot function once.
class BufferingStream : public StreamCodec {
 public:
  explicit BufferingStream(std::function<Bytes(ByteView)> run) : run_(std::move(run)) {}
  void write(ByteView in, Bytes&) override { append(buffer_, in); }
  void finish(Bytes& out) override {
    append(out, run_(buffer_));
    Bytes().swap(buffer_);
  }

 private:
  std::function<Bytes(ByteView)> run_;
  Bytes buffer_;
};

}  // namespace

std::vector<Compressor::Decoded> Compressor::decompress_batch(
    std::span<const ByteView> compressed, std::span<const std::size_t> original_sizes) const {
  if (compressed.size() != original_sizes.size()) {
    throw std::invalid_argument("decompress_batch: one original size per stream");
  }
  std::vector<Decoded> decoded(compressed.size());
  for (std::size_t i = 0; i < compressed.size(); ++i) {
    try {
      decoded[i].bytes = decompress(compressed[i], original_sizes[i]);
    } catch (const CorruptDataError& e) {
      decoded[i].error = e.what();
    }
  }
  return decoded;
}

std::unique_ptr<StreamCodec> Compressor::stream_encoder() const {
  return std::make_unique<BufferingStream>([this](ByteView data) { return compress(data); });
}

std::unique_ptr<StreamCodec> Compressor::stream_decoder() const {
  // The original size is not known to a stream; codecs whose streams need it override this.
  return std::make_unique<BufferingStream>([this](ByteView data) { return decompress(data, 0); });
}

}  // namespace lmc
