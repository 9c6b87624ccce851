// What the kinds that run FFmpeg's audio encoders share (flac-paper, alac): the bytes become mono
// samples at 16 kHz, one byte each; the encoder gets fixed frames of its own frame_size (the last
// one shorter); a libavformat muxer writes its packets into memory. Decoding runs the matching
// demuxer and decoder over memory and checks that every sample maps back to a byte.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "compressors/compressor.h"
#include "compressors/ffmpeg_raii.h"

namespace lmc::libav_audio {

// How a byte becomes a 16-bit sample, and back.
enum class Samples {
  // (byte - 128) << 8: what the ffmpeg program's resampler makes of u8 input.
  HighByte,
  // byte - 128: the value kept, 8 significant bits in a 16-bit sample.
  Value,
};

// One codec in one container, as a kind sets it up.
struct Format {
  std::string kind;  // starts every error message
  AVCodecID codec = AV_CODEC_ID_NONE;
  AVSampleFormat sample_format = AV_SAMPLE_FMT_S16;  // S16 or S16P: the same layout in mono
  Samples samples = Samples::Value;
  std::string container;  // the libavformat muxer and demuxer
  // False: written as to a pipe, so the muxer cannot go back to patch its header (what the
  // ffmpeg program writing to stdout does). True: the output stays in memory until the stream
  // ends, so the muxer can seek back (the caf muxer needs to).
  bool seekable = false;
  // The "encoder" tag (LIBAVFORMAT_IDENT) that the ffmpeg program adds to every file; false:
  // bit-exact muxing, no tag (it would tie the bytes to libavformat's version).
  bool tag_encoder = false;
  // Adds the bytes of each chunk's output outside the codec's packets to the row's counter
  // "container_bytes", so the bare codestream can be told apart from its container.
  bool count_container = false;
  // False where the demuxer cannot read back a stream without packets (caf): encoding 0 bytes
  // is then an InputError (the harness never makes an empty chunk).
  bool reads_empty_streams = true;
  // Encoder settings beyond format, rate and layout: levels, private options.
  std::function<void(AVCodecContext&, AVDictionary*&)> configure;
  // Optional: rejects a stream whose container libavformat should not be trusted to read
  // (throws CorruptDataError).
  std::function<void(ByteView)> check_container;
};

// Major.minor.micro of an FFmpeg library's version number.
std::string version_text(unsigned version);

// The encoder of `format`, opened: its frame_size and extradata are what the muxer records.
ffmpeg::CodecContextHandle open_encoder(const Format& format);

class AudioCompressor final : public Compressor {
 public:
  AudioCompressor(Format format, nlohmann::json settings);

  using Compressor::compress;
  Bytes compress(ByteView data, Counters& counters) const override;
  Bytes decompress(ByteView compressed, std::size_t original_size) const override;
  std::unique_ptr<StreamCodec> stream_encoder() const override;
  nlohmann::json settings() const override { return settings_; }

 private:
  Format format_;
  nlohmann::json settings_;
};

}  // namespace lmc::libav_audio
