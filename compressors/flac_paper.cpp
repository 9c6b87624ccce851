// FLAC exactly as the paper's authors ran it: ffmpeg's own FLAC encoder at compression level
// 12, reached through libavcodec/libavformat so that the output is byte-identical to
//   ffmpeg -f u8 -ar 16000 -ac 1 -i - -compression_level 12 -f flac -
// fed the same bytes on stdin. What that command does, and this file repeats:
//  - the bytes are u8 mono samples at 16 kHz; the encoder takes s16, and the CLI's resampler
//    converts u8 -> s16 as (x - 128) << 8;
//  - the encoder gets fixed frames of its own frame_size (the last one shorter);
//  - the flac muxer writes to a pipe, which cannot seek, so STREAMINFO keeps the values known
//    at the start (no total samples, no MD5, no frame sizes); it adds a Vorbis comment whose
//    vendor and "encoder" tag are libavformat's ident, and 8192 bytes of padding.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>

#include "common/error.h"
#include "compressors/compressor.h"
#include "compressors/ffmpeg_raii.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
}

namespace lmc {

namespace {

constexpr int kSampleRate = 16000;
constexpr int kCompressionLevel = 12;
constexpr int kIoBufferSize = 1 << 16;

// The muxer warns on every stream that it cannot rewrite STREAMINFO to a non-seekable output,
// and the decoder logs each problem of a corrupt input that this codec reports as an
// exception anyway. FFmpeg's log level is process-wide; lowered once, never raised.
void quiet_ffmpeg_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (av_log_get_level() > AV_LOG_FATAL) av_log_set_level(AV_LOG_FATAL);
  });
}

std::string version_text(unsigned version) {
  return std::to_string(AV_VERSION_MAJOR(version)) + "." +
         std::to_string(AV_VERSION_MINOR(version)) + "." +
         std::to_string(AV_VERSION_MICRO(version));
}

[[noreturn]] void throw_ffmpeg(const std::string& what, int code) {
  throw std::runtime_error("flac-paper: " + what + ": " + ffmpeg::error_text(code));
}

// The encoder as the ffmpeg CLI configures it for this input.
ffmpeg::CodecContextHandle open_flac_encoder() {
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_FLAC);
  if (codec == nullptr) throw std::runtime_error("flac-paper: libavcodec has no FLAC encoder");
  ffmpeg::CodecContextHandle encoder(avcodec_alloc_context3(codec));
  if (!encoder) throw std::bad_alloc();
  encoder->sample_fmt = AV_SAMPLE_FMT_S16;
  encoder->sample_rate = kSampleRate;
  encoder->time_base = {1, kSampleRate};
  encoder->compression_level = kCompressionLevel;
  av_channel_layout_default(&encoder->ch_layout, 1);
  if (int rc = avcodec_open2(encoder.get(), codec, nullptr); rc < 0) {
    throw_ffmpeg("cannot open the FLAC encoder", rc);
  }
  return encoder;
}

// Encoder + flac muxer writing into the Bytes of the current call through a non-seekable
// AVIOContext, like the CLI writing to a pipe. Usable for one chunk or for a whole stream.
class PaperFlacEncoder {
 public:
  PaperFlacEncoder() : encoder_(open_flac_encoder()), frame_size_(encoder_->frame_size) {
    open_muxer();
    pending_.reserve(static_cast<std::size_t>(frame_size_));
  }

  void encode(ByteView bytes, Bytes& out) {
    const OutputScope scope(*this, out);
    start();
    for (std::uint8_t byte : bytes) {
      pending_.push_back(byte);
      if (pending_.size() == static_cast<std::size_t>(frame_size_)) send_pending_frame();
    }
    avio_flush(io_.get());
  }

  void finish(Bytes& out) {
    const OutputScope scope(*this, out);
    start();
    if (!pending_.empty()) send_pending_frame();  // the shorter last frame
    if (int rc = avcodec_send_frame(encoder_.get(), nullptr); rc < 0) {
      throw_ffmpeg("flushing the encoder", rc);
    }
    write_packets();
    if (int rc = av_write_trailer(muxer_.get()); rc < 0) throw_ffmpeg("writing the trailer", rc);
    avio_flush(io_.get());
    check_io();
  }

 private:
  struct OutputScope {
    OutputScope(PaperFlacEncoder& encoder, Bytes& out) : encoder_(encoder) { encoder_.out_ = &out; }
    ~OutputScope() { encoder_.out_ = nullptr; }
    PaperFlacEncoder& encoder_;
  };

  void open_muxer() {
    AVFormatContext* muxer = nullptr;
    if (int rc = avformat_alloc_output_context2(&muxer, nullptr, "flac", nullptr); rc < 0) {
      throw_ffmpeg("no flac muxer", rc);
    }
    muxer_.reset(muxer);
    auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBufferSize));
    if (buffer == nullptr) throw std::bad_alloc();
    // No seek callback: the output is a stream, as the CLI's pipe is.
    io_.reset(avio_alloc_context(buffer, kIoBufferSize, 1, this, nullptr, write_packet, nullptr));
    if (!io_) {
      av_free(buffer);
      throw std::bad_alloc();
    }
    muxer_->pb = io_.get();
    muxer_->flags |= AVFMT_FLAG_CUSTOM_IO;
    // The CLI tags every output file with the muxer library it was written by.
    av_dict_set(&muxer_->metadata, "encoder", LIBAVFORMAT_IDENT, 0);
    AVStream* stream = avformat_new_stream(muxer_.get(), nullptr);
    if (stream == nullptr) throw std::bad_alloc();
    if (int rc = avcodec_parameters_from_context(stream->codecpar, encoder_.get()); rc < 0) {
      throw_ffmpeg("copying encoder parameters", rc);
    }
    stream->time_base = encoder_->time_base;
  }

  // The header goes out with the first call that has somewhere to write it.
  void start() {
    if (started_) return;
    if (int rc = avformat_write_header(muxer_.get(), nullptr); rc < 0) {
      throw_ffmpeg("writing the header", rc);
    }
    started_ = true;
  }

  void send_pending_frame() {
    ffmpeg::FrameHandle frame(av_frame_alloc());
    if (!frame) throw std::bad_alloc();
    frame->format = AV_SAMPLE_FMT_S16;
    frame->sample_rate = kSampleRate;
    frame->nb_samples = static_cast<int>(pending_.size());
    frame->pts = samples_sent_;
    av_channel_layout_default(&frame->ch_layout, 1);
    if (int rc = av_frame_get_buffer(frame.get(), 0); rc < 0) throw_ffmpeg("frame buffer", rc);
    auto* samples = reinterpret_cast<std::int16_t*>(frame->data[0]);
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      samples[i] = static_cast<std::int16_t>((int{pending_[i]} - 128) * 256);  // (x-128) << 8
    }
    if (int rc = avcodec_send_frame(encoder_.get(), frame.get()); rc < 0) {
      throw_ffmpeg("encoding", rc);
    }
    samples_sent_ += static_cast<std::int64_t>(pending_.size());
    pending_.clear();
    write_packets();
  }

  void write_packets() {
    ffmpeg::PacketHandle packet(av_packet_alloc());
    if (!packet) throw std::bad_alloc();
    while (true) {
      int rc = avcodec_receive_packet(encoder_.get(), packet.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) throw_ffmpeg("encoding", rc);
      packet->stream_index = 0;
      av_packet_rescale_ts(packet.get(), encoder_->time_base, muxer_->streams[0]->time_base);
      rc = av_write_frame(muxer_.get(), packet.get());
      av_packet_unref(packet.get());
      if (rc < 0) throw_ffmpeg("muxing", rc);
      check_io();
    }
  }

  void check_io() const {
    if (!io_error_.empty()) throw std::runtime_error("flac-paper: " + io_error_);
  }

  static int write_packet(void* opaque, std::uint8_t* data, int size) {
    auto* self = static_cast<PaperFlacEncoder*>(opaque);
    if (self->out_ == nullptr) return AVERROR(EINVAL);
    try {
      self->out_->insert(self->out_->end(), data, data + size);
      return size;
    } catch (const std::exception& e) {  // no exception may cross FFmpeg's C frames
      self->io_error_ = e.what();
      return AVERROR(ENOMEM);
    }
  }

  ffmpeg::CodecContextHandle encoder_;
  int frame_size_;
  ffmpeg::IoHandle io_;
  ffmpeg::OutputFormatHandle muxer_;  // after io_: freed before the I/O it writes to
  Bytes pending_;                     // samples of the next, not yet full frame
  std::int64_t samples_sent_ = 0;
  bool started_ = false;
  Bytes* out_ = nullptr;
  std::string io_error_;
};

class PaperFlacStreamEncoder final : public StreamCodec {
 public:
  void write(ByteView in, Bytes& out) override { encoder_.encode(in, out); }
  void finish(Bytes& out) override { encoder_.finish(out); }

 private:
  PaperFlacEncoder encoder_;
};

// --- decoding ---

struct MemoryInput {
  ByteView data;
  std::size_t position = 0;
};

int read_memory(void* opaque, std::uint8_t* into, int size) {
  auto* input = static_cast<MemoryInput*>(opaque);
  const std::size_t n =
      std::min(static_cast<std::size_t>(size), input->data.size() - input->position);
  if (n == 0) return AVERROR_EOF;
  std::memcpy(into, input->data.data() + input->position, n);
  input->position += n;
  return static_cast<int>(n);
}

std::int64_t seek_memory(void* opaque, std::int64_t offset, int whence) {
  auto* input = static_cast<MemoryInput*>(opaque);
  const auto size = static_cast<std::int64_t>(input->data.size());
  std::int64_t target = 0;
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
      return size;
    case SEEK_SET:
      target = offset;
      break;
    case SEEK_CUR:
      target = static_cast<std::int64_t>(input->position) + offset;
      break;
    case SEEK_END:
      target = size + offset;
      break;
    default:
      return AVERROR(EINVAL);
  }
  if (target < 0 || target > size) return AVERROR(EINVAL);
  input->position = static_cast<std::size_t>(target);
  return target;
}

[[noreturn]] void throw_corrupt(const std::string& what, int code) {
  throw CorruptDataError("flac-paper: " + what + ": " + ffmpeg::error_text(code));
}

// Demuxes and decodes a FLAC stream from memory back to the bytes it was made of.
class PaperFlacDecoder {
 public:
  PaperFlacDecoder(ByteView compressed, std::size_t expected_size)
      : input_{compressed}, expected_size_(expected_size) {
    open_demuxer();
    open_decoder();
  }

  Bytes decode() {
    ffmpeg::PacketHandle packet(av_packet_alloc());
    if (!packet) throw std::bad_alloc();
    while (true) {
      int rc = av_read_frame(demuxer_.get(), packet.get());
      if (rc == AVERROR_EOF) break;
      if (rc < 0) throw_corrupt("demuxing", rc);
      rc = avcodec_send_packet(decoder_.get(), packet.get());
      av_packet_unref(packet.get());
      if (rc < 0) throw_corrupt("decoding", rc);
      receive_frames();
    }
    if (int rc = avcodec_send_packet(decoder_.get(), nullptr); rc < 0) {
      throw_corrupt("flushing the decoder", rc);
    }
    receive_frames();
    if (expected_size_ != 0 && out_.size() != expected_size_) {
      throw CorruptDataError("flac-paper: decoded " + std::to_string(out_.size()) +
                             " samples, expected " + std::to_string(expected_size_));
    }
    return std::move(out_);
  }

 private:
  void open_demuxer() {
    auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBufferSize));
    if (buffer == nullptr) throw std::bad_alloc();
    io_.reset(
        avio_alloc_context(buffer, kIoBufferSize, 0, &input_, read_memory, nullptr, seek_memory));
    if (!io_) {
      av_free(buffer);
      throw std::bad_alloc();
    }
    AVFormatContext* demuxer = avformat_alloc_context();
    if (demuxer == nullptr) throw std::bad_alloc();
    demuxer->pb = io_.get();
    demuxer->flags |= AVFMT_FLAG_CUSTOM_IO;
    // On failure avformat_open_input frees the context itself.
    if (int rc = avformat_open_input(&demuxer, nullptr, av_find_input_format("flac"), nullptr);
        rc < 0) {
      throw_corrupt("not a FLAC stream", rc);
    }
    demuxer_.reset(demuxer);
    if (demuxer_->nb_streams != 1 || demuxer_->streams[0]->codecpar->codec_id != AV_CODEC_ID_FLAC) {
      throw CorruptDataError("flac-paper: expected one FLAC stream");
    }
  }

  void open_decoder() {
    const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_FLAC);
    if (codec == nullptr) throw std::runtime_error("flac-paper: libavcodec has no FLAC decoder");
    decoder_.reset(avcodec_alloc_context3(codec));
    if (!decoder_) throw std::bad_alloc();
    if (int rc = avcodec_parameters_to_context(decoder_.get(), demuxer_->streams[0]->codecpar);
        rc < 0) {
      throw_corrupt("stream parameters", rc);
    }
    // Check every frame's CRC and fail on damage instead of concealing it.
    decoder_->err_recognition = AV_EF_CRCCHECK | AV_EF_EXPLODE;
    if (int rc = avcodec_open2(decoder_.get(), codec, nullptr); rc < 0) {
      throw_corrupt("cannot open the FLAC decoder", rc);
    }
  }

  void receive_frames() {
    ffmpeg::FrameHandle frame(av_frame_alloc());
    if (!frame) throw std::bad_alloc();
    while (true) {
      const int rc = avcodec_receive_frame(decoder_.get(), frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) throw_corrupt("decoding", rc);
      append_bytes(*frame);
      av_frame_unref(frame.get());
    }
  }

  // s16 -> byte: the high byte + 128; a low byte other than 0 was never one of our bytes.
  void append_bytes(const AVFrame& frame) {
    const bool s16 = frame.format == AV_SAMPLE_FMT_S16 || frame.format == AV_SAMPLE_FMT_S16P;
    if (!s16 || frame.ch_layout.nb_channels != 1) {
      throw CorruptDataError("flac-paper: not a 16-bit mono stream");
    }
    const auto n = static_cast<std::size_t>(frame.nb_samples);
    if (expected_size_ != 0 && out_.size() + n > expected_size_) {
      throw CorruptDataError("flac-paper: more than the expected " +
                             std::to_string(expected_size_) + " samples");
    }
    const auto* samples = reinterpret_cast<const std::int16_t*>(frame.data[0]);
    for (std::size_t i = 0; i < n; ++i) {
      const int sample = samples[i];
      if ((sample & 0xff) != 0) {
        throw CorruptDataError("flac-paper: sample " + std::to_string(out_.size()) +
                               " has a nonzero low byte");
      }
      out_.push_back(static_cast<std::uint8_t>((sample >> 8) + 128));
    }
  }

  MemoryInput input_;
  std::size_t expected_size_;
  ffmpeg::IoHandle io_;
  ffmpeg::InputFormatHandle demuxer_;  // after io_: closed before the I/O it reads
  ffmpeg::CodecContextHandle decoder_;
  Bytes out_;
};

class PaperFlacCompressor final : public Compressor {
 public:
  PaperFlacCompressor() { quiet_ffmpeg_logs(); }

  Bytes compress(ByteView data, Counters&) const override {
    PaperFlacEncoder encoder;
    Bytes out;
    out.reserve(data.size() + 8192 + 512);
    encoder.encode(data, out);
    encoder.finish(out);
    return out;
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    return PaperFlacDecoder(compressed, original_size).decode();
  }

  std::unique_ptr<StreamCodec> stream_encoder() const override {
    return std::make_unique<PaperFlacStreamEncoder>();
  }

  nlohmann::json settings() const override {
    const auto encoder = open_flac_encoder();
    return {
        {"library", "FFmpeg libavcodec/libavformat (ffmpeg's own FLAC encoder)"},
        {"ffmpeg_version", av_version_info()},
        {"libavcodec_version", version_text(avcodec_version())},
        {"libavformat_version", version_text(avformat_version())},
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
};

}  // namespace

CompressorKind flac_paper_kind() {
  return {
      .name = "flac-paper",
      .summary =
          "ffmpeg's FLAC encoder at level 12 via libavcodec, as the paper's authors ran "
          "it (16-bit samples, 8 KiB padding)",
      .options = {},
      .make = [](const Options&, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<PaperFlacCompressor>();
      },
  };
}

}  // namespace lmc
