// LZMA2 as the paper ran it: liblzma's .xz container, preset 6, CRC64 check, the bytes of
// Python's lzma.compress() (docs/PROTOCOL.md section 3).
#include <lzma.h>

#include <string>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

using stream_util::OutputDrain;
using stream_util::Step;

// Decoding a preset-9 extreme stream needs about 65 MiB. A corrupt header may ask for a
// dictionary of up to 1.5 GiB; refuse that instead of allocating it.
constexpr std::uint64_t kDecoderMemoryLimit = std::uint64_t{256} << 20;

std::string lzma_message(lzma_ret code) {
  switch (code) {
    case LZMA_MEM_ERROR:
      return "cannot allocate memory";
    case LZMA_MEMLIMIT_ERROR:
      return "stream needs more than " + std::to_string(kDecoderMemoryLimit >> 20) +
             " MiB of decoder memory";
    case LZMA_FORMAT_ERROR:
      return "not an .xz stream (bad magic bytes)";
    case LZMA_OPTIONS_ERROR:
      return "unsupported or invalid stream options";
    case LZMA_DATA_ERROR:
      return "compressed data is corrupt";
    case LZMA_BUF_ERROR:
      return "no progress possible (truncated input)";
    case LZMA_PROG_ERROR:
      return "programming error (invalid arguments)";
    default:
      return "liblzma error " + std::to_string(static_cast<int>(code));
  }
}

// An lzma_stream released with lzma_end, whether it became an encoder or a decoder. liblzma
// keeps internal state behind the struct, so it must never move.
class LzmaStream {
 public:
  LzmaStream() = default;
  ~LzmaStream() { lzma_end(&stream_); }
  LzmaStream(const LzmaStream&) = delete;
  LzmaStream& operator=(const LzmaStream&) = delete;

  lzma_stream& operator*() { return stream_; }
  lzma_stream* operator->() { return &stream_; }

 private:
  lzma_stream stream_ = LZMA_STREAM_INIT;
};

std::uint32_t preset_flags(int preset, bool extreme) {
  return static_cast<std::uint32_t>(preset) | (extreme ? LZMA_PRESET_EXTREME : 0);
}

// The settings of one encoder: an xz preset, and optionally a smaller dictionary than the
// preset's. The dictionary size decides the encoder's set-up cost (preset 6 allocates and clears
// tables for 8 MiB), not its output on inputs shorter than the dictionary: a compressor used as
// a generative model compresses 256 extensions of a 2 kB context per byte and needs it small.
struct XzSettings {
  int preset = 6;
  bool extreme = false;
  std::uint32_t dict_size = 0;  // 0: the preset's
};

class XzEncoder final : public StreamCodec {
 public:
  explicit XzEncoder(const XzSettings& settings) {
    // What lzma_easy_encoder does, with the dictionary size open to change.
    lzma_options_lzma lzma2;
    if (lzma_lzma_preset(&lzma2, preset_flags(settings.preset, settings.extreme))) {
      throw std::runtime_error("lzma2: unsupported preset " + std::to_string(settings.preset));
    }
    if (settings.dict_size != 0) lzma2.dict_size = settings.dict_size;
    const lzma_filter filters[] = {{LZMA_FILTER_LZMA2, &lzma2}, {LZMA_VLI_UNKNOWN, nullptr}};
    const lzma_ret code = lzma_stream_encoder(&*lzma_, filters, LZMA_CHECK_CRC64);
    if (code != LZMA_OK) {
      throw std::runtime_error("lzma2: lzma_stream_encoder failed: " + lzma_message(code));
    }
  }

  void write(ByteView in, Bytes& out) override {
    if (in.empty()) return;
    lzma_stream& s = *lzma_;
    s.next_in = in.data();
    s.avail_in = in.size();
    drain_(out, [&](std::span<std::uint8_t> space) { return run(space, LZMA_RUN); });
  }

  void finish(Bytes& out) override {
    lzma_->avail_in = 0;
    drain_(out, [&](std::span<std::uint8_t> space) { return run(space, LZMA_FINISH); });
  }

 private:
  Step run(std::span<std::uint8_t> space, lzma_action action) {
    lzma_stream& s = *lzma_;
    s.next_out = space.data();
    s.avail_out = space.size();
    const lzma_ret code = lzma_code(&s, action);
    if (code != LZMA_OK && code != LZMA_STREAM_END) {
      throw std::runtime_error("lzma2: encoding failed: " + lzma_message(code));
    }
    const bool more =
        action == LZMA_FINISH ? code != LZMA_STREAM_END : s.avail_in > 0 || s.avail_out == 0;
    return {space.size() - s.avail_out, more};
  }

  LzmaStream lzma_;
  OutputDrain drain_;
};

// Decodes exactly one .xz stream; the index and footer are checked, so truncation anywhere and
// bytes after the stream are corrupt data.
class XzDecoder final : public StreamCodec {
 public:
  XzDecoder() {
    const lzma_ret code = lzma_stream_decoder(&*lzma_, kDecoderMemoryLimit, 0);
    if (code != LZMA_OK) {
      throw std::runtime_error("lzma2: lzma_stream_decoder failed: " + lzma_message(code));
    }
  }

  void write(ByteView in, Bytes& out) override {
    if (in.empty()) return;
    if (ended_) throw_trailing(in.size());
    lzma_stream& s = *lzma_;
    s.next_in = in.data();
    s.avail_in = in.size();
    drain_(out, [&](std::span<std::uint8_t> space) { return run(space); });
    if (ended_ && s.avail_in > 0) throw_trailing(s.avail_in);
  }

  void finish(Bytes&) override {
    if (!ended_) {
      throw CorruptDataError("lzma2: truncated stream: input ended after " +
                             std::to_string(lzma_->total_in) +
                             " bytes, before the end of the .xz stream");
    }
  }

 private:
  Step run(std::span<std::uint8_t> space) {
    lzma_stream& s = *lzma_;
    s.next_out = space.data();
    s.avail_out = space.size();
    const lzma_ret code = lzma_code(&s, LZMA_RUN);
    const std::size_t written = space.size() - s.avail_out;
    switch (code) {
      case LZMA_STREAM_END:
        ended_ = true;
        return {written, false};
      case LZMA_OK:
        return {written, s.avail_in > 0 || s.avail_out == 0};
      default:
        throw CorruptDataError("lzma2: corrupt data at input byte " + std::to_string(s.total_in) +
                               ": " + lzma_message(code));
    }
  }

  [[noreturn]] void throw_trailing(std::size_t count) const {
    throw CorruptDataError("lzma2: " + std::to_string(count) +
                           " unexpected bytes after the end of the .xz stream");
  }

  LzmaStream lzma_;
  OutputDrain drain_;
  bool ended_ = false;
};

class Lzma2Compressor final : public Compressor {
 public:
  explicit Lzma2Compressor(const XzSettings& settings) : settings_(settings) {}

  Bytes compress(ByteView data, Counters&) const override {
    XzEncoder encoder(settings_);
    return stream_util::run_whole(encoder, data, data.size() / 2);
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    XzDecoder decoder;
    return stream_util::run_whole(decoder, compressed, original_size);
  }

  std::unique_ptr<StreamCodec> stream_encoder() const override {
    return std::make_unique<XzEncoder>(settings_);
  }
  std::unique_ptr<StreamCodec> stream_decoder() const override {
    return std::make_unique<XzDecoder>();
  }

  nlohmann::json settings() const override {
    nlohmann::json settings = {{"library", "liblzma"},
                               {"library_version", lzma_version_string()},
                               {"container", "xz"},
                               {"filter", "lzma2"},
                               {"preset", settings_.preset},
                               {"extreme", settings_.extreme},
                               {"check", "crc64"}};
    // Only when set, so that the settings of the paper's configuration stay as they were.
    if (settings_.dict_size != 0) settings["dict_size"] = settings_.dict_size;
    return settings;
  }

 private:
  XzSettings settings_;
};

// LZMA_DICT_SIZE_MIN is 4 KiB; 1.5 GiB is liblzma's largest for the encoder.
constexpr int kLargestDictionary = 3 << 29;

}  // namespace

CompressorKind lzma2_kind() {
  return {
      .name = "lzma2",
      .summary = "liblzma LZMA2 in an .xz container with CRC64 (the paper's LZMA2 baseline)",
      .options = {{"preset", OptionType::Integer, 6, "xz preset, 0 (fast) to 9 (best)"},
                  {"extreme", OptionType::Boolean, false, "xz --extreme: slower, slightly smaller"},
                  {"dict_size", OptionType::Integer, 0,
                   "dictionary bytes, 4096 or more (0: the preset's, 8 MiB for preset 6); the same "
                   "compressed length on shorter inputs, cheaper to set up"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        XzSettings settings;
        settings.preset = stream_util::integer_in_range(options, "preset", 0, 9);
        settings.extreme = options.boolean("extreme");
        if (options.integer("dict_size") != 0) {
          settings.dict_size = static_cast<std::uint32_t>(stream_util::integer_in_range(
              options, "dict_size", LZMA_DICT_SIZE_MIN, kLargestDictionary));
        }
        return std::make_unique<Lzma2Compressor>(settings);
      },
  };
}

}  // namespace lmc
