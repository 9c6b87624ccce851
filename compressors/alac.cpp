// ALAC (Apple Lossless) through FFmpeg's encoder (compressors/libav_audio.h), in Apple's CAF
// container. The bytes are mono samples at 16 kHz, sample = byte - 128: ALAC codes 16 bits at
// least, so each 8-bit value sits in a 16-bit sample unshifted (shifted left by 8, as the ffmpeg
// program converts u8, every sample would cost 8 more bits: ALAC has no wasted-bits shift at
// 16 bits). Compression level 2 (linear prediction with a searched order, the encoder's
// strongest) and frames of 4096 samples (docs/PROTOCOL.md section 3.1). ALAC frames carry no
// checksum: damage that still decodes is caught by the harness's comparison with the input.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/libav_audio.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

constexpr int kCompressionLevel = 2;
// ffmpeg takes up to 30, but its encoder aborts the process (an assertion in its bit writer)
// when a frame of a few samples gets 16 or more coefficients; 8 is far below that (tested on
// frames of 1 to 40 samples) and above every order that pays off here.
constexpr int kMaxPredictionOrder = 8;
constexpr std::size_t kChunkHeader = 12;  // type (4 bytes), size (8 bytes, big-endian)

std::uint64_t big_endian(ByteView bytes) {
  std::uint64_t value = 0;
  for (std::uint8_t b : bytes) value = value << 8 | b;
  return value;
}

// Everything the caf muxer writes before the data chunk's size: the file header and the desc,
// chan and kuki chunks (sample format, channel layout, ALAC's configuration), which depend on
// the settings alone. Found by encoding one byte.
Bytes caf_header(const libav_audio::Format& format) {
  const Bytes stream = libav_audio::AudioCompressor(format, {}).compress(Bytes{0});
  const auto data =
      std::search(stream.begin(), stream.end(), std::begin("data"), std::begin("data") + 4);
  if (data == stream.end()) throw std::logic_error("alac: the caf muxer wrote no data chunk");
  return Bytes(stream.begin(), data + 4);
}

// The stream must be the header this kind writes, one data chunk and one packet table ("pakt")
// ending where the stream ends. libavformat would skip unknown chunks, ignore trailing bytes
// and size its buffers from whatever a corrupt cookie claims.
void check_caf(ByteView stream, ByteView header) {
  auto corrupt = [](const std::string& what) { throw CorruptDataError("alac: " + what); };
  if (stream.size() < header.size() || !std::equal(header.begin(), header.end(), stream.begin())) {
    corrupt("not a CAF stream with this kind's header (16-bit mono ALAC at 16 kHz)");
  }
  std::size_t at = header.size() - 4;  // the data chunk's type, part of the header
  auto chunk_end = [&](const char* type) {
    if (stream.size() - at < kChunkHeader || std::memcmp(&stream[at], type, 4) != 0) {
      corrupt(std::string("no ") + type + " chunk at byte " + std::to_string(at));
    }
    const std::uint64_t size = big_endian(stream.subspan(at + 4, 8));
    if (size > stream.size() - at - kChunkHeader) {
      corrupt(std::string(type) + " chunk of " + std::to_string(size) +
              " bytes overruns the stream");
    }
    return at + kChunkHeader + static_cast<std::size_t>(size);
  };
  at = chunk_end("data");
  const std::size_t packet_table = at + kChunkHeader;
  if (chunk_end("pakt") != stream.size()) corrupt("bytes after the packet table");
  // Packet count, valid frames (8 bytes each), priming and remainder frames (4 each), then one
  // size of at least a byte per packet.
  constexpr std::size_t kTableHeader = 24;
  const std::size_t table_size = stream.size() - packet_table;
  if (table_size < kTableHeader ||
      big_endian(stream.subspan(packet_table, 8)) > table_size - kTableHeader) {
    corrupt("packet table claims more packets than it lists");
  }
}

libav_audio::Format alac_format(int min_order, int max_order) {
  return {
      .kind = "alac",
      .codec = AV_CODEC_ID_ALAC,
      .sample_format = AV_SAMPLE_FMT_S16P,
      .samples = libav_audio::Samples::Value,
      .container = "caf",
      .seekable = true,  // the caf muxer writes the data size and packet table at the end
      .tag_encoder = false,
      .count_container = true,
      .reads_empty_streams = false,
      .configure =
          [min_order, max_order](AVCodecContext& encoder, AVDictionary*& options) {
            encoder.compression_level = kCompressionLevel;
            av_dict_set_int(&options, "min_prediction_order", min_order, 0);
            av_dict_set_int(&options, "max_prediction_order", max_order, 0);
          },
      .check_container = nullptr,
  };
}

std::unique_ptr<Compressor> make_alac(const Options& options) {
  const int min_order =
      stream_util::integer_in_range(options, "min_prediction_order", 1, kMaxPredictionOrder);
  const int max_order =
      stream_util::integer_in_range(options, "max_prediction_order", 1, kMaxPredictionOrder);
  if (max_order < min_order) {
    throw InputError(options.key_path("max_prediction_order") + ": must be at least " +
                     options.key_path("min_prediction_order") + " (" + std::to_string(min_order) +
                     "), got " + std::to_string(max_order));
  }
  libav_audio::Format format = alac_format(min_order, max_order);
  const auto encoder = libav_audio::open_encoder(format);
  nlohmann::json settings = {
      {"library", "FFmpeg libavcodec/libavformat (ffmpeg's own ALAC encoder)"},
      {"ffmpeg_version", av_version_info()},
      {"libavcodec_version", libav_audio::version_text(avcodec_version())},
      {"libavformat_version", libav_audio::version_text(avformat_version())},
      {"compression_level", kCompressionLevel},
      {"min_prediction_order", min_order},
      {"max_prediction_order", max_order},
      {"frame_size", encoder->frame_size},
      {"samples", "s16 mono at 16000 Hz, sample = byte - 128 (not shifted)"},
      {"container",
       "CAF (caf muxer, seekable output, bit-exact: no encoder tag): desc, chan, kuki, data, "
       "pakt chunks; counters.container_bytes counts all but the ALAC frames"},
      {"equivalent_command",
       "ffmpeg -f s16le -ar 16000 -ac 1 -i SAMPLES -c:a alac -min_prediction_order " +
           std::to_string(min_order) + " -max_prediction_order " + std::to_string(max_order) +
           " -fflags +bitexact OUT.caf (SAMPLES: byte - 128 as s16le)"},
  };
  format.check_container = [header = std::make_shared<const Bytes>(caf_header(format))](
                               ByteView stream) { check_caf(stream, *header); };
  return std::make_unique<libav_audio::AudioCompressor>(std::move(format), std::move(settings));
}

}  // namespace

CompressorKind alac_kind() {
  return {
      .name = "alac",
      .summary =
          "ffmpeg's ALAC encoder via libavcodec in a CAF file: bytes as 16-bit mono samples "
          "(byte - 128) at 16 kHz, compression level 2, prediction order 2",
      .options = {{"min_prediction_order", OptionType::Integer, 2,
                   "lowest linear-prediction order the encoder may pick, 1 to 8"},
                  {"max_prediction_order", OptionType::Integer, 2,
                   "highest linear-prediction order, 1 to 8 (higher orders code these 8-bit "
                   "samples worse: each coefficient costs 16 bits a frame)"}},
      .make = [](const Options& options, const CodecContext&) { return make_alac(options); },
  };
}

}  // namespace lmc
