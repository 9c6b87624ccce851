// FLAC exactly as the paper's authors ran it: ffmpeg's own FLAC encoder at compression level
// 12, reached through libavcodec/libavformat (compressors/libav_audio.h) so that the output is
// byte-identical to
//   ffmpeg -f u8 -ar 16000 -ac 1 -i - -compression_level 12 -f flac -
// fed the same bytes on stdin. What that command does, and this file repeats:
//  - the bytes are u8 mono samples at 16 kHz; the encoder takes s16, and the CLI's resampler
//    converts u8 -> s16 as (x - 128) << 8;
//  - the encoder gets fixed frames of its own frame_size (the last one shorter);
//  - the flac muxer writes to a pipe, which cannot seek, so STREAMINFO keeps the values known
//    at the start (no total samples, no MD5, no frame sizes); it adds a Vorbis comment whose
//    vendor and "encoder" tag are libavformat's ident, and 8192 bytes of padding.
#include "compressors/compressor.h"
#include "compressors/libav_audio.h"

namespace lmc {

namespace {

constexpr int kCompressionLevel = 12;

libav_audio::Format paper_flac_format() {
  return {
      .kind = "flac-paper",
      .codec = AV_CODEC_ID_FLAC,
      .sample_format = AV_SAMPLE_FMT_S16,
      .samples = libav_audio::Samples::HighByte,
      .container = "flac",
      .seekable = false,
      .tag_encoder = true,
      .count_container = false,
      .configure = [](AVCodecContext& encoder,
                      AVDictionary*&) { encoder.compression_level = kCompressionLevel; },
      .check_container = nullptr,
  };
}

nlohmann::json paper_flac_settings(const libav_audio::Format& format) {
  const auto encoder = libav_audio::open_encoder(format);
  return {
      {"library", "FFmpeg libavcodec/libavformat (ffmpeg's own FLAC encoder)"},
      {"ffmpeg_version", av_version_info()},
      {"libavcodec_version", libav_audio::version_text(avcodec_version())},
      {"libavformat_version", libav_audio::version_text(avformat_version())},
      {"compression_level", kCompressionLevel},
      {"samples",
       "u8 mono at 16000 Hz converted to s16 as (x - 128) << 8, as the ffmpeg "
       "CLI's resampler does"},
      {"frame_size", encoder->frame_size},
      {"container",
       "flac muxer to a non-seekable output (as a pipe): STREAMINFO not "
       "rewritten, Vorbis comment encoder=" LIBAVFORMAT_IDENT ", 8192 bytes "
       "padding"},
      {"equivalent_command",
       "ffmpeg -f u8 -ar 16000 -ac 1 -i - -compression_level 12 "
       "-f flac -"},
  };
}

}  // namespace

CompressorKind flac_paper_kind() {
  return {
      .name = "flac-paper",
      .summary =
          "ffmpeg's FLAC encoder at level 12 via libavcodec, as the paper's authors ran "
          "it (16-bit samples, 8 KiB padding)",
      .options = {},
      .make = [](const Options&, const CodecContext&) -> std::unique_ptr<Compressor> {
        libav_audio::Format format = paper_flac_format();
        nlohmann::json settings = paper_flac_settings(format);
        return std::make_unique<libav_audio::AudioCompressor>(std::move(format),
                                                              std::move(settings));
      },
  };
}

}  // namespace lmc
