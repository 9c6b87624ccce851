#include "compressors/compressor.h"

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

std::unique_ptr<StreamCodec> Compressor::stream_encoder() const {
  return std::make_unique<BufferingStream>([this](ByteView data) { return compress(data); });
}

std::unique_ptr<StreamCodec> Compressor::stream_decoder() const {
  // The original size is not known to a stream; codecs whose streams need it override this.
  return std::make_unique<BufferingStream>(
      [this](ByteView data) { return decompress(data, 0); });
}

}  // namespace lmc
