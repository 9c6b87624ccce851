// Brotli, an extra baseline beside the paper's: quality 11 with a 16 MiB window (lgwin 24), the
// strongest standard (not large-window) setting.
#include <brotli/decode.h>
#include <brotli/encode.h>

#include <string>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

using stream_util::OutputDrain;
using stream_util::Step;

struct EncoderDeleter {
  void operator()(BrotliEncoderState* state) const { BrotliEncoderDestroyInstance(state); }
};
struct DecoderDeleter {
  void operator()(BrotliDecoderState* state) const { BrotliDecoderDestroyInstance(state); }
};
using EncoderState = std::unique_ptr<BrotliEncoderState, EncoderDeleter>;
using DecoderState = std::unique_ptr<BrotliDecoderState, DecoderDeleter>;

// Brotli packs its version as 0xMMMNNNPPP (major, minor, patch in 12-bit fields).
std::string brotli_version(std::uint32_t packed) {
  return std::to_string(packed >> 24) + "." + std::to_string((packed >> 12) & 0xFFF) + "." +
         std::to_string(packed & 0xFFF);
}

class BrotliEncoder final : public StreamCodec {
 public:
  BrotliEncoder(int quality, int lgwin)
      : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (!state_) throw std::bad_alloc();
    set(BROTLI_PARAM_QUALITY, quality);
    set(BROTLI_PARAM_LGWIN, lgwin);
  }

  void write(ByteView in, Bytes& out) override {
    if (in.empty()) return;
    run(in, BROTLI_OPERATION_PROCESS, out);
  }

  void finish(Bytes& out) override { run({}, BROTLI_OPERATION_FINISH, out); }

 private:
  void set(BrotliEncoderParameter parameter, int value) {
    if (!BrotliEncoderSetParameter(state_.get(), parameter, static_cast<std::uint32_t>(value))) {
      throw std::runtime_error("brotli: cannot set encoder parameter " + std::to_string(parameter));
    }
  }

  void run(ByteView in, BrotliEncoderOperation operation, Bytes& out) {
    std::size_t available_in = in.size();
    const std::uint8_t* next_in = in.data();
    drain_(out, [&](std::span<std::uint8_t> space) {
      std::size_t available_out = space.size();
      std::uint8_t* next_out = space.data();
      if (!BrotliEncoderCompressStream(state_.get(), operation, &available_in, &next_in,
                                       &available_out, &next_out, nullptr)) {
        throw std::runtime_error("brotli: encoding failed");
      }
      const bool more =
          available_in > 0 || BrotliEncoderHasMoreOutput(state_.get()) ||
          (operation == BROTLI_OPERATION_FINISH && !BrotliEncoderIsFinished(state_.get()));
      return Step{space.size() - available_out, more};
    });
  }

  EncoderState state_;
  OutputDrain drain_;
};

// Decodes exactly one brotli stream; a stream that stops early or bytes after it are corrupt.
class BrotliDecoder final : public StreamCodec {
 public:
  BrotliDecoder() : state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (!state_) throw std::bad_alloc();
  }

  void write(ByteView in, Bytes& out) override {
    if (in.empty()) return;
    if (ended_) throw_trailing(in.size());
    std::size_t available_in = in.size();
    const std::uint8_t* next_in = in.data();
    drain_(out, [&](std::span<std::uint8_t> space) {
      std::size_t available_out = space.size();
      std::uint8_t* next_out = space.data();
      const BrotliDecoderResult result = BrotliDecoderDecompressStream(
          state_.get(), &available_in, &next_in, &available_out, &next_out, nullptr);
      if (result == BROTLI_DECODER_RESULT_ERROR) {
        throw CorruptDataError("brotli: corrupt data at input byte " +
                               std::to_string(consumed_ + in.size() - available_in) + ": " +
                               BrotliDecoderErrorString(BrotliDecoderGetErrorCode(state_.get())));
      }
      ended_ = result == BROTLI_DECODER_RESULT_SUCCESS;
      return Step{space.size() - available_out, result == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT};
    });
    consumed_ += in.size() - available_in;
    if (ended_ && available_in > 0) throw_trailing(available_in);
  }

  void finish(Bytes&) override {
    if (!ended_) {
      throw CorruptDataError("brotli: truncated stream: input ended after " +
                             std::to_string(consumed_) + " bytes, before the last meta-block");
    }
  }

 private:
  [[noreturn]] void throw_trailing(std::size_t count) const {
    throw CorruptDataError("brotli: " + std::to_string(count) +
                           " unexpected bytes after the end of the stream");
  }

  DecoderState state_;
  OutputDrain drain_;
  std::size_t consumed_ = 0;
  bool ended_ = false;
};

class BrotliCompressor final : public Compressor {
 public:
  BrotliCompressor(int quality, int lgwin) : quality_(quality), lgwin_(lgwin) {}

  Bytes compress(ByteView data, Counters&) const override {
    BrotliEncoder encoder(quality_, lgwin_);
    return stream_util::run_whole(encoder, data, data.size() / 2);
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    BrotliDecoder decoder;
    return stream_util::run_whole(decoder, compressed, original_size);
  }

  std::unique_ptr<StreamCodec> stream_encoder() const override {
    return std::make_unique<BrotliEncoder>(quality_, lgwin_);
  }
  std::unique_ptr<StreamCodec> stream_decoder() const override {
    return std::make_unique<BrotliDecoder>();
  }

  nlohmann::json settings() const override {
    return {{"library", "brotli"},
            {"library_version", brotli_version(BrotliEncoderVersion())},
            {"decoder_version", brotli_version(BrotliDecoderVersion())},
            {"quality", quality_},
            {"lgwin", lgwin_},
            {"mode", "generic"}};
  }

 private:
  int quality_;
  int lgwin_;
};

}  // namespace

CompressorKind brotli_kind() {
  return {
      .name = "brotli",
      .summary = "Brotli stream (extra baseline, not in the paper)",
      .options = {{"quality", OptionType::Integer, BROTLI_MAX_QUALITY,
                   "quality, " + std::to_string(BROTLI_MIN_QUALITY) + " to " +
                       std::to_string(BROTLI_MAX_QUALITY)},
                  {"lgwin", OptionType::Integer, BROTLI_MAX_WINDOW_BITS,
                   "log2 of the sliding window size, " + std::to_string(BROTLI_MIN_WINDOW_BITS) +
                       " to " + std::to_string(BROTLI_MAX_WINDOW_BITS)}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<BrotliCompressor>(
            stream_util::integer_in_range(options, "quality", BROTLI_MIN_QUALITY,
                                          BROTLI_MAX_QUALITY),
            stream_util::integer_in_range(options, "lgwin", BROTLI_MIN_WINDOW_BITS,
                                          BROTLI_MAX_WINDOW_BITS));
      },
  };
}

}  // namespace lmc
