// WavPack lossless through libwavpack at its strongest settings: the bytes are 8-bit mono
// samples at 16 kHz (sample = byte - 128), as the flac kind reads them; "very high" mode with
// extra processing level 6 by default (the wavpack program's -hhx6). The stream is bare WavPack
// blocks (no RIFF wrapper, no tags); each block carries its own CRC (docs/PROTOCOL.md
// section 3).
//
// libwavpack's callbacks are C: none lets an exception escape.
#include <wavpack/wavpack.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

constexpr std::int32_t kSampleRate = 16000;
constexpr int kSampleOffset = 128;  // unsigned byte -> signed 8-bit sample
// A corrupt stream may claim any length; the decoder stops at this many samples when the
// original size is unknown (the unchunked stream): 1 GiB, the paper's corpus size.
constexpr std::int64_t kMaxStreamSamples = std::int64_t{1} << 30;

struct ContextDeleter {
  void operator()(WavpackContext* context) const { WavpackCloseFile(context); }
};
using ContextHandle = std::unique_ptr<WavpackContext, ContextDeleter>;

// --- encoding ---

struct BlockSink {
  Bytes* out;
  bool failed = false;
};

int append_block(void* id, void* data, std::int32_t count) {
  auto* sink = static_cast<BlockSink*>(id);
  try {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    sink->out->insert(sink->out->end(), bytes, bytes + count);
  } catch (...) {
    sink->failed = true;
    return 0;
  }
  return 1;
}

// --- decoding: a reader over memory ---

struct MemoryReader {
  ByteView data;
  std::int64_t position = 0;
  int pushed_back = -1;
};

MemoryReader& reader(void* id) { return *static_cast<MemoryReader*>(id); }

std::int32_t read_bytes(void* id, void* into, std::int32_t count) {
  MemoryReader& r = reader(id);
  auto* out = static_cast<std::uint8_t*>(into);
  std::int32_t done = 0;
  if (count > 0 && r.pushed_back >= 0) {
    out[done++] = static_cast<std::uint8_t>(r.pushed_back);
    r.pushed_back = -1;
  }
  const auto left = static_cast<std::int64_t>(r.data.size()) - r.position;
  const auto n = static_cast<std::int32_t>(std::min<std::int64_t>(count - done, left));
  if (n > 0) {
    std::memcpy(out + done, r.data.data() + r.position, static_cast<std::size_t>(n));
    r.position += n;
    done += n;
  }
  return done;
}
std::int32_t write_nothing(void*, void*, std::int32_t) { return 0; }
std::int64_t get_pos(void* id) {
  const MemoryReader& r = reader(id);
  return r.position - (r.pushed_back >= 0 ? 1 : 0);
}
int set_pos_abs(void* id, std::int64_t position) {
  MemoryReader& r = reader(id);
  if (position < 0 || position > static_cast<std::int64_t>(r.data.size())) return -1;
  r.position = position;
  r.pushed_back = -1;
  return 0;
}
int set_pos_rel(void* id, std::int64_t delta, int mode) {
  const MemoryReader& r = reader(id);
  const std::int64_t base = mode == SEEK_SET   ? 0
                            : mode == SEEK_END ? static_cast<std::int64_t>(r.data.size())
                                               : get_pos(id);
  return set_pos_abs(id, base + delta);
}
int push_back_byte(void* id, int c) {
  MemoryReader& r = reader(id);
  if (r.pushed_back >= 0) return EOF;
  r.pushed_back = c;
  return c;
}
std::int64_t get_length(void* id) { return static_cast<std::int64_t>(reader(id).data.size()); }
int can_seek(void*) { return 1; }
int truncate_nothing(void*) { return -1; }
int close_nothing(void*) { return 0; }

WavpackStreamReader64 memory_reader_functions() {
  return {read_bytes,     write_nothing, get_pos,  set_pos_abs,      set_pos_rel,
          push_back_byte, get_length,    can_seek, truncate_nothing, close_nothing};
}

class WavpackCompressor final : public Compressor {
 public:
  explicit WavpackCompressor(int extra) : extra_(extra) {}

  Bytes compress(ByteView data, Counters&) const override {
    if (data.empty()) {
      // libwavpack refuses a stream of 0 samples; the harness never produces empty chunks.
      throw InputError("wavpack: cannot encode 0 bytes (a WavPack stream needs one sample)");
    }
    Bytes out;
    out.reserve(data.size() / 2 + 256);
    BlockSink sink{&out};
    const ContextHandle context(WavpackOpenFileOutput(append_block, &sink, nullptr));
    if (!context) throw std::bad_alloc();
    WavpackConfig config{};
    config.bytes_per_sample = 1;
    config.bits_per_sample = 8;
    config.num_channels = 1;
    config.channel_mask = 0x4;  // front centre
    config.sample_rate = kSampleRate;
    config.flags = CONFIG_VERY_HIGH_FLAG;
    if (extra_ > 0) {
      config.flags |= CONFIG_EXTRA_MODE;
      config.xmode = extra_;
    }
    if (!WavpackSetConfiguration64(context.get(), &config, static_cast<std::int64_t>(data.size()),
                                   nullptr) ||
        !WavpackPackInit(context.get())) {
      throw std::runtime_error(std::string("wavpack: cannot set up the encoder: ") +
                               WavpackGetErrorMessage(context.get()));
    }
    std::vector<std::int32_t> samples(std::min<std::size_t>(data.size(), 65536));
    for (std::size_t at = 0; at < data.size(); at += samples.size()) {
      const std::size_t n = std::min(samples.size(), data.size() - at);
      for (std::size_t i = 0; i < n; ++i) samples[i] = int{data[at + i]} - kSampleOffset;
      if (!WavpackPackSamples(context.get(), samples.data(), static_cast<std::uint32_t>(n))) {
        throw std::runtime_error(std::string("wavpack: encoding failed: ") +
                                 WavpackGetErrorMessage(context.get()));
      }
    }
    if (!WavpackFlushSamples(context.get()) || sink.failed) {
      throw std::runtime_error(std::string("wavpack: encoding failed: ") +
                               WavpackGetErrorMessage(context.get()));
    }
    return out;
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    check_blocks(compressed);
    MemoryReader memory{compressed};
    WavpackStreamReader64 functions = memory_reader_functions();
    char error[80] = {};
    const ContextHandle context(
        WavpackOpenFileInputEx64(&functions, &memory, nullptr, error, 0, 0));
    if (!context) throw CorruptDataError(std::string("wavpack: unreadable stream: ") + error);
    WavpackContext* wpc = context.get();
    if (WavpackGetNumChannels(wpc) != 1 || WavpackGetBytesPerSample(wpc) != 1 ||
        WavpackGetBitsPerSample(wpc) != 8 || (WavpackGetMode(wpc) & MODE_LOSSLESS) == 0) {
      throw CorruptDataError("wavpack: not a lossless 8-bit mono stream");
    }
    const std::int64_t claimed = WavpackGetNumSamples64(wpc);
    const std::int64_t expected =
        original_size != 0 ? static_cast<std::int64_t>(original_size) : claimed;
    if (claimed != expected || claimed < 0 || claimed > kMaxStreamSamples) {
      throw CorruptDataError("wavpack: stream claims " + std::to_string(claimed) +
                             " samples, expected " + std::to_string(expected));
    }
    Bytes out;
    std::vector<std::int32_t> samples(4096);
    for (;;) {
      const std::uint32_t n =
          WavpackUnpackSamples(wpc, samples.data(), static_cast<std::uint32_t>(samples.size()));
      if (n == 0) break;
      if (static_cast<std::int64_t>(out.size() + n) > claimed) break;
      for (std::uint32_t i = 0; i < n; ++i) {
        if (samples[i] < -kSampleOffset || samples[i] >= kSampleOffset) {
          throw CorruptDataError("wavpack: sample out of 8-bit range");
        }
        out.push_back(static_cast<std::uint8_t>(samples[i] + kSampleOffset));
      }
    }
    if (WavpackGetNumErrors(wpc) != 0) {
      throw CorruptDataError("wavpack: " + std::to_string(WavpackGetNumErrors(wpc)) +
                             " corrupt blocks (CRC)");
    }
    if (static_cast<std::int64_t>(out.size()) != claimed) {
      throw CorruptDataError("wavpack: decoded " + std::to_string(out.size()) + " of " +
                             std::to_string(claimed) + " samples (truncated stream)");
    }
    return out;
  }

  nlohmann::json settings() const override {
    return {{"library", "libwavpack"},
            {"library_version", WavpackGetLibraryVersionString()},
            {"samples", "8-bit signed mono at 16 kHz, sample = byte - 128"},
            {"mode", "lossless, very high (-hh)"},
            {"extra", extra_},
            {"block_samples", "library default"},
            {"wrapper", "none (bare WavPack blocks, no tags)"}};
  }

 private:
  // The stream is WavPack blocks back to back, each "wvpk" + its size, and nothing else: a
  // truncated last block or trailing bytes are corrupt (libwavpack itself skips junk).
  static void check_blocks(ByteView compressed) {
    constexpr std::size_t kBlockHeader = 32;
    std::size_t at = 0;
    while (at < compressed.size()) {
      if (compressed.size() - at < kBlockHeader || std::memcmp(&compressed[at], "wvpk", 4) != 0) {
        throw CorruptDataError("wavpack: no block header at byte " + std::to_string(at));
      }
      const std::size_t size =
          std::size_t{compressed[at + 4]} | std::size_t{compressed[at + 5]} << 8 |
          std::size_t{compressed[at + 6]} << 16 | std::size_t{compressed[at + 7]} << 24;
      if (size + 8 < kBlockHeader || size + 8 > compressed.size() - at) {
        throw CorruptDataError("wavpack: block at byte " + std::to_string(at) + " of " +
                               std::to_string(size + 8) + " bytes overruns the stream");
      }
      at += size + 8;
    }
    if (at == 0) throw CorruptDataError("wavpack: empty stream");
  }

  int extra_;
};

}  // namespace

CompressorKind wavpack_kind() {
  return {
      .name = "wavpack",
      .summary =
          "libwavpack: lossless, bytes as 8-bit mono samples at 16 kHz, very high mode, "
          "extra processing 6 (-hhx6)",
      .options = {{"extra", OptionType::Integer, 6,
                   "extra processing level, 0 (none) to 6 (slowest, smallest)"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<WavpackCompressor>(
            stream_util::integer_in_range(options, "extra", 0, 6));
      },
  };
}

}  // namespace lmc
