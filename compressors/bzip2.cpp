// bzip2, an extra baseline beside the paper's: libbz2 with 900 kB blocks, the bytes of
// `bzip2 -9` and Python's bz2.compress().
#include <bzlib.h>

#include <string>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

using stream_util::OutputDrain;
using stream_util::Step;

constexpr int kWorkFactor = 30;  // libbz2's default effort before its fallback sort

std::string bzip2_message(int code) {
  switch (code) {
    case BZ_DATA_ERROR:
      return "data integrity error (bad block CRC or structure)";
    case BZ_DATA_ERROR_MAGIC:
      return "not a bzip2 stream (bad magic bytes)";
    case BZ_MEM_ERROR:
      return "cannot allocate memory";
    case BZ_PARAM_ERROR:
      return "invalid parameter";
    case BZ_SEQUENCE_ERROR:
      return "functions called out of order";
    case BZ_CONFIG_ERROR:
      return "libbz2 built for another platform";
    default:
      return "libbz2 error " + std::to_string(code);
  }
}

// A bz_stream set up for compression, released with BZ2_bzCompressEnd. libbz2 keeps a pointer
// back to the struct, so it must never move.
class BzCompressStream {
 public:
  explicit BzCompressStream(int block_size_100k) {
    const int code = BZ2_bzCompressInit(&stream_, block_size_100k, 0, kWorkFactor);
    if (code != BZ_OK) {
      throw std::runtime_error("bzip2: BZ2_bzCompressInit failed: " + bzip2_message(code));
    }
  }
  ~BzCompressStream() { BZ2_bzCompressEnd(&stream_); }
  BzCompressStream(const BzCompressStream&) = delete;
  BzCompressStream& operator=(const BzCompressStream&) = delete;

  bz_stream& operator*() { return stream_; }
  bz_stream* operator->() { return &stream_; }

 private:
  bz_stream stream_{};
};

// A bz_stream set up for decompression, released with BZ2_bzDecompressEnd.
class BzDecompressStream {
 public:
  BzDecompressStream() {
    const int code = BZ2_bzDecompressInit(&stream_, 0, /*small=*/0);
    if (code != BZ_OK) {
      throw std::runtime_error("bzip2: BZ2_bzDecompressInit failed: " + bzip2_message(code));
    }
  }
  ~BzDecompressStream() { BZ2_bzDecompressEnd(&stream_); }
  BzDecompressStream(const BzDecompressStream&) = delete;
  BzDecompressStream& operator=(const BzDecompressStream&) = delete;

  bz_stream& operator*() { return stream_; }
  bz_stream* operator->() { return &stream_; }

 private:
  bz_stream stream_{};
};

char* as_chars(const std::uint8_t* bytes) {
  // libbz2's API is not const-correct and speaks char.
  return reinterpret_cast<char*>(const_cast<std::uint8_t*>(bytes));
}

class Bzip2Encoder final : public StreamCodec {
 public:
  explicit Bzip2Encoder(int block_size_100k) : bz_(block_size_100k) {}

  void write(ByteView in, Bytes& out) override {
    stream_util::for_each_piece<unsigned int>(in, [&](ByteView piece) {
      bz_stream& s = *bz_;
      s.next_in = as_chars(piece.data());
      s.avail_in = static_cast<unsigned int>(piece.size());
      // BZ_RUN reports a call without progress as BZ_PARAM_ERROR, so stop as soon as the input
      // is taken; a finished block still waiting for output space goes out on the next call.
      drain_(out, [&](std::span<std::uint8_t> space) {
        const std::size_t written = run(space, BZ_RUN, BZ_RUN_OK);
        return Step{written, s.avail_in > 0};
      });
    });
  }

  void finish(Bytes& out) override {
    bz_->avail_in = 0;
    drain_(out, [&](std::span<std::uint8_t> space) {
      const std::size_t written = run(space, BZ_FINISH, BZ_FINISH_OK);
      return Step{written, !ended_};
    });
  }

 private:
  std::size_t run(std::span<std::uint8_t> space, int action, int expected) {
    bz_stream& s = *bz_;
    s.next_out = as_chars(space.data());
    s.avail_out = static_cast<unsigned int>(space.size());
    const int code = BZ2_bzCompress(&s, action);
    ended_ = code == BZ_STREAM_END;
    if (code != expected && !ended_) {
      throw std::runtime_error("bzip2: compression failed: " + bzip2_message(code));
    }
    return space.size() - s.avail_out;
  }

  BzCompressStream bz_;
  OutputDrain drain_;
  bool ended_ = false;
};

// Decodes exactly one bzip2 stream; block and stream CRCs are checked, and a stream that stops
// early or bytes after it are corrupt data.
class Bzip2Decoder final : public StreamCodec {
 public:
  void write(ByteView in, Bytes& out) override {
    stream_util::for_each_piece<unsigned int>(in, [&](ByteView piece) {
      if (ended_) throw_trailing(piece.size());
      bz_stream& s = *bz_;
      s.next_in = as_chars(piece.data());
      s.avail_in = static_cast<unsigned int>(piece.size());
      drain_(out, [&](std::span<std::uint8_t> space) { return run(space); });
      if (ended_ && s.avail_in > 0) throw_trailing(s.avail_in);
    });
  }

  void finish(Bytes&) override {
    if (!ended_) {
      throw CorruptDataError("bzip2: truncated stream: input ended after " +
                             std::to_string(total_in()) +
                             " bytes, before the end-of-stream marker");
    }
  }

 private:
  Step run(std::span<std::uint8_t> space) {
    bz_stream& s = *bz_;
    s.next_out = as_chars(space.data());
    s.avail_out = static_cast<unsigned int>(space.size());
    const unsigned int avail_in_before = s.avail_in;
    const int code = BZ2_bzDecompress(&s);
    const std::size_t written = space.size() - s.avail_out;
    // A call that neither took input nor gave output would repeat forever.
    const bool progressed = written > 0 || s.avail_in < avail_in_before;
    switch (code) {
      case BZ_STREAM_END:
        ended_ = true;
        return {written, false};
      case BZ_OK:
        return {written, progressed && (s.avail_in > 0 || s.avail_out == 0)};
      default:
        throw CorruptDataError("bzip2: corrupt data at input byte " + std::to_string(total_in()) +
                               ": " + bzip2_message(code));
    }
  }

  std::uint64_t total_in() {
    const bz_stream& s = *bz_;
    return (std::uint64_t{s.total_in_hi32} << 32) | s.total_in_lo32;
  }

  [[noreturn]] void throw_trailing(std::size_t count) const {
    throw CorruptDataError("bzip2: " + std::to_string(count) +
                           " unexpected bytes after the end of the stream");
  }

  BzDecompressStream bz_;
  OutputDrain drain_;
  bool ended_ = false;
};

class Bzip2Compressor final : public Compressor {
 public:
  explicit Bzip2Compressor(int block_size_100k) : block_size_100k_(block_size_100k) {}

  Bytes compress(ByteView data, Counters&) const override {
    Bzip2Encoder encoder(block_size_100k_);
    return stream_util::run_whole(encoder, data, data.size() / 2);
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    Bzip2Decoder decoder;
    return stream_util::run_whole(decoder, compressed, original_size);
  }

  std::unique_ptr<StreamCodec> stream_encoder() const override {
    return std::make_unique<Bzip2Encoder>(block_size_100k_);
  }
  std::unique_ptr<StreamCodec> stream_decoder() const override {
    return std::make_unique<Bzip2Decoder>();
  }

  nlohmann::json settings() const override {
    return {{"library", "libbz2"},
            {"library_version", BZ2_bzlibVersion()},
            {"block_size_100k", block_size_100k_},
            {"work_factor", kWorkFactor}};
  }

 private:
  int block_size_100k_;
};

}  // namespace

CompressorKind bzip2_kind() {
  return {
      .name = "bzip2",
      .summary = "bzip2 stream (extra baseline, not in the paper)",
      .options = {{"block_size", OptionType::Integer, 9,
                   "block size in units of 100 kB, 1 to 9 (bzip2 -1 to -9)"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<Bzip2Compressor>(
            stream_util::integer_in_range(options, "block_size", 1, 9));
      },
  };
}

}  // namespace lmc
