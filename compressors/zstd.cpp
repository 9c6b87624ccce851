// zstd, an extra baseline beside the paper's: one zstd frame at level 19 with a content
// checksum, as the zstd program writes it.
//
// zstd sizes its tables to the input when it knows the size in advance: level 19 on a 2 KB
// chunk of unknown size zeroes some 80 MB of tables per call (about 40 KB/s), on a known one it
// runs at MB/s. A stream does not know its size, so the encoder holds back the first
// kKnownSizeLimit bytes: a stream that ends within them is compressed knowing its size (like
// `zstd -19 file`, the size is recorded in the frame), a longer one is streamed with unknown
// size (like `zstd -19 < pipe`). compress() runs the same encoder, so chunked and unchunked bytes
// still come from one code path and a stream equals compress() of its concatenation.
#include <zstd.h>

#include <string>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

using stream_util::OutputDrain;
using stream_util::Step;

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};
using CompressionContext = std::unique_ptr<ZSTD_CCtx, CCtxDeleter>;
using DecompressionContext = std::unique_ptr<ZSTD_DCtx, DCtxDeleter>;

// zstd reports errors as special size_t values.
std::size_t check_encoder(std::size_t result, const char* what) {
  if (ZSTD_isError(result)) {
    throw std::runtime_error(std::string("zstd: ") + what +
                             " failed: " + ZSTD_getErrorName(result));
  }
  return result;
}

// Inputs up to this size are compressed knowing their size; memory stays O(1) for a 1 GB stream.
constexpr std::size_t kKnownSizeLimit = std::size_t{1} << 20;

class ZstdEncoder final : public StreamCodec {
 public:
  explicit ZstdEncoder(int level) : context_(ZSTD_createCCtx()) {
    if (!context_) throw std::bad_alloc();
    check_encoder(ZSTD_CCtx_setParameter(context_.get(), ZSTD_c_compressionLevel, level),
                  "setting the level");
    check_encoder(ZSTD_CCtx_setParameter(context_.get(), ZSTD_c_checksumFlag, 1),
                  "enabling the checksum");
  }

  void write(ByteView in, Bytes& out) override {
    if (!streaming_ && held_.size() + in.size() <= kKnownSizeLimit) {
      append(held_, in);
      return;
    }
    if (!streaming_) {
      streaming_ = true;
      compress(held_, out);
      Bytes().swap(held_);
    }
    compress(in, out);
  }

  void finish(Bytes& out) override {
    if (!streaming_) {
      check_encoder(ZSTD_CCtx_setPledgedSrcSize(context_.get(), held_.size()),
                    "declaring the size");
      compress(held_, out);
      Bytes().swap(held_);
    }
    ZSTD_inBuffer input{nullptr, 0, 0};
    drain_(out, [&](std::span<std::uint8_t> space) {
      ZSTD_outBuffer output{space.data(), space.size(), 0};
      const std::size_t unflushed = check_encoder(
          ZSTD_compressStream2(context_.get(), &output, &input, ZSTD_e_end), "ending the frame");
      return Step{output.pos, unflushed != 0};
    });
  }

 private:
  void compress(ByteView in, Bytes& out) {
    if (in.empty()) return;
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    drain_(out, [&](std::span<std::uint8_t> space) {
      ZSTD_outBuffer output{space.data(), space.size(), 0};
      check_encoder(ZSTD_compressStream2(context_.get(), &output, &input, ZSTD_e_continue),
                    "compression");
      return Step{output.pos, input.pos < input.size || output.pos == output.size};
    });
  }

  CompressionContext context_;
  OutputDrain drain_;
  Bytes held_;  // input not yet given to zstd while the total may still fit kKnownSizeLimit
  bool streaming_ = false;
};

// Decodes exactly one frame; its checksum is verified, and a frame that stops early or bytes
// after it are corrupt data. Frames asking for a window above zstd's default limit (128 MiB)
// are refused by the library.
class ZstdDecoder final : public StreamCodec {
 public:
  ZstdDecoder() : context_(ZSTD_createDCtx()) {
    if (!context_) throw std::bad_alloc();
  }

  void write(ByteView in, Bytes& out) override {
    if (in.empty()) return;
    if (ended_) throw_trailing(in.size());
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    drain_(out, [&](std::span<std::uint8_t> space) {
      ZSTD_outBuffer output{space.data(), space.size(), 0};
      const std::size_t result = ZSTD_decompressStream(context_.get(), &output, &input);
      if (ZSTD_isError(result)) {
        throw CorruptDataError("zstd: corrupt data at input byte " +
                               std::to_string(consumed_ + input.pos) + ": " +
                               ZSTD_getErrorName(result));
      }
      ended_ = result == 0;  // 0: the frame is complete and fully flushed
      return Step{output.pos, !ended_ && (input.pos < input.size || output.pos == output.size)};
    });
    consumed_ += input.pos;
    if (ended_ && input.pos < input.size) throw_trailing(input.size - input.pos);
  }

  void finish(Bytes&) override {
    if (!ended_) {
      throw CorruptDataError("zstd: truncated stream: input ended after " +
                             std::to_string(consumed_) + " bytes, before the end of the frame");
    }
  }

 private:
  [[noreturn]] void throw_trailing(std::size_t count) const {
    throw CorruptDataError("zstd: " + std::to_string(count) +
                           " unexpected bytes after the end of the frame");
  }

  DecompressionContext context_;
  OutputDrain drain_;
  std::size_t consumed_ = 0;
  bool ended_ = false;
};

class ZstdCompressor final : public Compressor {
 public:
  explicit ZstdCompressor(int level) : level_(level) {}

  Bytes compress(ByteView data, Counters&) const override {
    ZstdEncoder encoder(level_);
    return stream_util::run_whole(encoder, data, data.size() / 2);
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    ZstdDecoder decoder;
    return stream_util::run_whole(decoder, compressed, original_size);
  }

  std::unique_ptr<StreamCodec> stream_encoder() const override {
    return std::make_unique<ZstdEncoder>(level_);
  }
  std::unique_ptr<StreamCodec> stream_decoder() const override {
    return std::make_unique<ZstdDecoder>();
  }

  nlohmann::json settings() const override {
    return {{"library", "libzstd"},      {"library_version", ZSTD_versionString()},
            {"container", "zstd frame"}, {"level", level_},
            {"checksum", true},          {"known_size_limit_bytes", kKnownSizeLimit}};
  }

 private:
  int level_;
};

}  // namespace

CompressorKind zstd_kind() {
  return {
      .name = "zstd",
      .summary = "Zstandard frame with checksum (extra baseline, not in the paper)",
      .options = {{"level", OptionType::Integer, 19,
                   "compression level, " + std::to_string(ZSTD_minCLevel()) + " to " +
                       std::to_string(ZSTD_maxCLevel()) + " (20 and up need much memory)"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<ZstdCompressor>(
            stream_util::integer_in_range(options, "level", ZSTD_minCLevel(), ZSTD_maxCLevel()));
      },
  };
}

}  // namespace lmc
