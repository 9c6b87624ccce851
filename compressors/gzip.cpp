// gzip as the paper ran it: zlib DEFLATE in a gzip container, the bytes of Python's
// gzip.compress(data, 9) apart from the header's mtime and OS fields (docs/PROTOCOL.md section 3).
#include <zlib.h>

#include <string>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

using stream_util::OutputDrain;
using stream_util::Step;

// 15 = a 32 KiB window; +16 asks zlib for the gzip wrapper (10-byte header, 8-byte trailer)
// instead of the zlib one. Decoding accepts gzip only, so a zlib stream is reported as corrupt.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kMemLevel = 8;  // zlib's default, which Python's gzip module uses

std::string zlib_message(const z_stream& stream, int code) {
  return stream.msg != nullptr ? stream.msg : "zlib error " + std::to_string(code);
}

// A z_stream set up for deflate, released with deflateEnd. zlib keeps a pointer back to the
// z_stream, so it must never move.
class DeflateStream {
 public:
  explicit DeflateStream(int level) {
    const int code =
        deflateInit2(&stream_, level, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY);
    if (code != Z_OK) {
      throw std::runtime_error("gzip: deflateInit2 failed: " + zlib_message(stream_, code));
    }
  }
  ~DeflateStream() { deflateEnd(&stream_); }
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;

  z_stream& operator*() { return stream_; }
  z_stream* operator->() { return &stream_; }

 private:
  z_stream stream_{};
};

// A z_stream set up for inflate of one gzip member, released with inflateEnd.
class InflateStream {
 public:
  InflateStream() {
    const int code = inflateInit2(&stream_, kGzipWindowBits);
    if (code != Z_OK) {
      throw std::runtime_error("gzip: inflateInit2 failed: " + zlib_message(stream_, code));
    }
  }
  ~InflateStream() { inflateEnd(&stream_); }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;

  z_stream& operator*() { return stream_; }
  z_stream* operator->() { return &stream_; }

 private:
  z_stream stream_{};
};

class GzipEncoder final : public StreamCodec {
 public:
  explicit GzipEncoder(int level) : deflate_(level) {}

  void write(ByteView in, Bytes& out) override {
    stream_util::for_each_piece<uInt>(in, [&](ByteView piece) {
      z_stream& z = *deflate_;
      z.next_in = const_cast<Bytef*>(piece.data());  // zlib's API is not const-correct
      z.avail_in = static_cast<uInt>(piece.size());
      drain_(out, [&](std::span<std::uint8_t> space) { return run(space, Z_NO_FLUSH); });
    });
  }

  void finish(Bytes& out) override {
    deflate_->avail_in = 0;
    drain_(out, [&](std::span<std::uint8_t> space) { return run(space, Z_FINISH); });
  }

 private:
  Step run(std::span<std::uint8_t> space, int flush) {
    z_stream& z = *deflate_;
    z.next_out = space.data();
    z.avail_out = static_cast<uInt>(space.size());
    const int code = deflate(&z, flush);
    // Z_BUF_ERROR only says no progress was possible; it is not an error for deflate.
    if (code != Z_OK && code != Z_STREAM_END && code != Z_BUF_ERROR) {
      throw std::runtime_error("gzip: deflate failed: " + zlib_message(z, code));
    }
    const bool more = flush == Z_FINISH ? code != Z_STREAM_END : z.avail_in > 0 || z.avail_out == 0;
    return {space.size() - z.avail_out, more};
  }

  DeflateStream deflate_;
  OutputDrain drain_;
};

// Decodes exactly one gzip member: trailing bytes, a bad CRC-32 or length, and a stream that
// stops before its trailer are all corrupt data.
class GzipDecoder final : public StreamCodec {
 public:
  void write(ByteView in, Bytes& out) override {
    stream_util::for_each_piece<uInt>(in, [&](ByteView piece) {
      if (ended_) throw_trailing(piece.size());
      z_stream& z = *inflate_;
      z.next_in = const_cast<Bytef*>(piece.data());
      z.avail_in = static_cast<uInt>(piece.size());
      drain_(out, [&](std::span<std::uint8_t> space) { return run(space); });
      if (ended_ && z.avail_in > 0) throw_trailing(z.avail_in);
    });
  }

  void finish(Bytes&) override {
    if (!ended_) {
      throw CorruptDataError("gzip: truncated stream: input ended after " +
                             std::to_string(inflate_->total_in) +
                             " bytes, before the end of the gzip member");
    }
  }

 private:
  Step run(std::span<std::uint8_t> space) {
    z_stream& z = *inflate_;
    z.next_out = space.data();
    z.avail_out = static_cast<uInt>(space.size());
    const int code = inflate(&z, Z_NO_FLUSH);
    const std::size_t written = space.size() - z.avail_out;
    switch (code) {
      case Z_STREAM_END:
        ended_ = true;
        return {written, false};
      case Z_OK:
        return {written, z.avail_in > 0 || z.avail_out == 0};
      case Z_BUF_ERROR:
        return {written, false};  // all input used, all output flushed
      default:
        throw CorruptDataError("gzip: corrupt data at input byte " + std::to_string(z.total_in) +
                               ": " + zlib_message(z, code));
    }
  }

  [[noreturn]] void throw_trailing(std::size_t count) const {
    throw CorruptDataError("gzip: " + std::to_string(count) +
                           " unexpected bytes after the end of the gzip member");
  }

  InflateStream inflate_;
  OutputDrain drain_;
  bool ended_ = false;
};

class GzipCompressor final : public Compressor {
 public:
  explicit GzipCompressor(int level) : level_(level) {}

  Bytes compress(ByteView data, Counters&) const override {
    GzipEncoder encoder(level_);
    return stream_util::run_whole(encoder, data, data.size() / 2);
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    GzipDecoder decoder;
    return stream_util::run_whole(decoder, compressed, original_size);
  }

  std::unique_ptr<StreamCodec> stream_encoder() const override {
    return std::make_unique<GzipEncoder>(level_);
  }
  std::unique_ptr<StreamCodec> stream_decoder() const override {
    return std::make_unique<GzipDecoder>();
  }

  nlohmann::json settings() const override {
    return {{"library", "zlib"},    {"library_version", zlibVersion()},
            {"container", "gzip"},  {"level", level_},
            {"window_bits", 15},    {"mem_level", kMemLevel},
            {"strategy", "default"}};
  }

 private:
  int level_;
};

}  // namespace

CompressorKind gzip_kind() {
  return {
      .name = "gzip",
      .summary = "zlib DEFLATE in a gzip container (the paper's gzip baseline)",
      .options = {{"level", OptionType::Integer, 9, "DEFLATE level, 0 (store) to 9 (best)"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<GzipCompressor>(
            stream_util::integer_in_range(options, "level", 0, 9));
      },
  };
}

}  // namespace lmc
