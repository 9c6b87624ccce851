// What the classical codec wrappers (gzip, lzma2, zstd, brotli, bzip2) share: range-checked
// options, the loop that lets a C streaming API write into a growing Bytes buffer, and one-shot
// calls expressed as one pass of the codec's own stream.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/error.h"
#include "common/options.h"
#include "compressors/compressor.h"

namespace lmc::stream_util {

// Integer option `key`, which must lie in [min, max]. Options::validate checks types only, so
// the range is each codec's business; the error names the config key.
inline int integer_in_range(const Options& options, std::string_view key, int min, int max) {
  const std::int64_t value = options.integer(key);
  if (value < min || value > max) {
    throw InputError(options.key_path(key) + ": must be between " + std::to_string(min) + " and " +
                     std::to_string(max) + ", got " + std::to_string(value));
  }
  return static_cast<int>(value);
}

// zlib and libbz2 count input in 32-bit unsigned ints; a 1 GB corpus handed over in one call
// must reach them in pieces that fit. Empty input makes no call: several of these libraries
// report "no progress" as an error.
template <typename Unsigned, typename Consume>
void for_each_piece(ByteView in, Consume&& consume) {
  constexpr std::size_t kMaxPiece = std::numeric_limits<Unsigned>::max();
  while (!in.empty()) {
    const std::size_t piece = std::min(in.size(), kMaxPiece);
    consume(in.first(piece));
    in = in.subspan(piece);
  }
}

// What one call of a C stream function did with the output space it was given.
struct Step {
  std::size_t written = 0;
  bool more = false;  // call again: input is left, the space was filled, or the end is pending
};

// Scratch space a C stream function writes into before the bytes are appended to the caller's
// buffer. Copying the output once is cheaper than zero-filling fresh vector space on every call,
// which would dominate decoding of 2 KB chunks; a fixed slice keeps a 1 GB stream at O(1) memory.
class OutputDrain {
 public:
  static constexpr std::size_t kSliceSize = 32 * 1024;

  OutputDrain() : slice_(std::make_unique_for_overwrite<std::uint8_t[]>(kSliceSize)) {}

  // Calls `step(std::span<std::uint8_t> space) -> Step` until it reports it is done.
  template <typename StepFunction>
  void operator()(Bytes& out, StepFunction&& step) {
    for (bool more = true; more;) {
      const Step result = step(std::span<std::uint8_t>(slice_.get(), kSliceSize));
      append(out, ByteView(slice_.get(), result.written));
      more = result.more;
    }
  }

 private:
  std::unique_ptr<std::uint8_t[]> slice_;
};

// compress() and decompress() as one pass of the codec's stream: chunked output and the
// unchunked stream are then the same bytes by construction. `size_hint` only reserves memory.
inline Bytes run_whole(StreamCodec& codec, ByteView in, std::size_t size_hint = 0) {
  // A corrupt container may claim any size; never reserve more than a generous chunk for it.
  constexpr std::size_t kMaxReserve = std::size_t{64} << 20;
  Bytes out;
  out.reserve(std::min(size_hint, kMaxReserve));
  codec.write(in, out);
  codec.finish(out);
  return out;
}

}  // namespace lmc::stream_util
