#include "compressors/libav_audio.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>

#include "common/error.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
}

namespace lmc::libav_audio {

namespace {

constexpr int kSampleRate = 16000;
constexpr int kIoBufferSize = 1 << 16;
constexpr int kSampleOffset = 128;  // unsigned byte -> signed sample
// A corrupt stream may claim any length; with the original size unknown (the unchunked
// stream), decoding stops at this many samples: 1 GiB, the paper's corpus size.
constexpr std::size_t kMaxStreamSamples = std::size_t{1} << 30;

// Muxers warn about what they cannot do on a pipe, and decoders log each problem of a corrupt
// input that is reported as an exception anyway. FFmpeg's log level is process-wide; lowered
// once, never raised.
void quiet_ffmpeg_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (av_log_get_level() > AV_LOG_FATAL) av_log_set_level(AV_LOG_FATAL);
  });
}

// --- files in memory, read or written through an AVIOContext ---

// `position` moved as fseek would move it, inside [0, size]; AVSEEK_SIZE reports the size.
std::int64_t seek_within(std::size_t size, std::size_t& position, std::int64_t offset, int whence) {
  const auto end = static_cast<std::int64_t>(size);
  std::int64_t target = 0;
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
      return end;
    case SEEK_SET:
      target = offset;
      break;
    case SEEK_CUR:
      target = static_cast<std::int64_t>(position) + offset;
      break;
    case SEEK_END:
      target = end + offset;
      break;
    default:
      return AVERROR(EINVAL);
  }
  if (target < 0 || target > end) return AVERROR(EINVAL);
  position = static_cast<std::size_t>(target);
  return target;
}

struct MemoryInput {
  ByteView data;
  std::size_t position = 0;
};

int read_input(void* opaque, std::uint8_t* into, int size) {
  auto* input = static_cast<MemoryInput*>(opaque);
  const std::size_t n =
      std::min(static_cast<std::size_t>(size), input->data.size() - input->position);
  if (n == 0) return AVERROR_EOF;
  std::memcpy(into, input->data.data() + input->position, n);
  input->position += n;
  return static_cast<int>(n);
}

std::int64_t seek_input(void* opaque, std::int64_t offset, int whence) {
  auto* input = static_cast<MemoryInput*>(opaque);
  return seek_within(input->data.size(), input->position, offset, whence);
}

struct MemoryOutput {
  Bytes data;
  std::size_t position = 0;
  std::string error;  // no exception may cross FFmpeg's C frames
};

int write_output(void* opaque, std::uint8_t* bytes, int size) {
  auto* output = static_cast<MemoryOutput*>(opaque);
  try {
    const std::size_t end = output->position + static_cast<std::size_t>(size);
    if (end > output->data.size()) output->data.resize(end);
    std::memcpy(output->data.data() + output->position, bytes, static_cast<std::size_t>(size));
    output->position = end;
    return size;
  } catch (const std::exception& e) {
    output->error = e.what();
    return AVERROR(ENOMEM);
  }
}

std::int64_t seek_output(void* opaque, std::int64_t offset, int whence) {
  auto* output = static_cast<MemoryOutput*>(opaque);
  return seek_within(output->data.size(), output->position, offset, whence);
}

// An AVIOContext over `opaque` with its own buffer.
ffmpeg::IoHandle open_io(void* opaque, bool writing, int (*read)(void*, std::uint8_t*, int),
                         int (*write)(void*, std::uint8_t*, int),
                         std::int64_t (*seek)(void*, std::int64_t, int)) {
  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBufferSize));
  if (buffer == nullptr) throw std::bad_alloc();
  ffmpeg::IoHandle io(
      avio_alloc_context(buffer, kIoBufferSize, writing ? 1 : 0, opaque, read, write, seek));
  if (!io) {
    av_free(buffer);
    throw std::bad_alloc();
  }
  return io;
}

// --- encoding ---

// Encoder + muxer writing into memory; usable for one chunk or for a whole stream.
class Encoder {
 public:
  explicit Encoder(const Format& format)
      : format_(format), encoder_(open_encoder(format)), frame_size_(encoder_->frame_size) {
    open_muxer();
    pending_.reserve(static_cast<std::size_t>(frame_size_));
  }

  void encode(ByteView bytes, Bytes& out) {
    start();
    for (std::uint8_t byte : bytes) {
      pending_.push_back(byte);
      if (pending_.size() == static_cast<std::size_t>(frame_size_)) send_pending_frame();
    }
    drain(out, false);
  }

  void finish(Bytes& out) {
    if (samples_sent_ == 0 && pending_.empty() && !format_.reads_empty_streams) {
      throw InputError(format_.kind + ": cannot encode 0 bytes (libavformat cannot read a " +
                       format_.container + " stream without packets back)");
    }
    start();
    if (!pending_.empty()) send_pending_frame();  // the shorter last frame
    if (int rc = avcodec_send_frame(encoder_.get(), nullptr); rc < 0) {
      fail("flushing the encoder", rc);
    }
    write_packets();
    if (int rc = av_write_trailer(muxer_.get()); rc < 0) fail("writing the trailer", rc);
    drain(out, true);
  }

  // The codec's own bytes so far: the packets, without the container around them.
  std::uint64_t packet_bytes() const { return packet_bytes_; }

 private:
  [[noreturn]] void fail(const std::string& what, int code) const {
    throw std::runtime_error(format_.kind + ": " + what + ": " + ffmpeg::error_text(code));
  }

  void open_muxer() {
    AVFormatContext* muxer = nullptr;
    if (int rc =
            avformat_alloc_output_context2(&muxer, nullptr, format_.container.c_str(), nullptr);
        rc < 0) {
      fail("no " + format_.container + " muxer", rc);
    }
    muxer_.reset(muxer);
    io_ = open_io(&output_, true, nullptr, write_output, format_.seekable ? seek_output : nullptr);
    muxer_->pb = io_.get();
    muxer_->flags |= AVFMT_FLAG_CUSTOM_IO;
    if (format_.tag_encoder) {
      av_dict_set(&muxer_->metadata, "encoder", LIBAVFORMAT_IDENT, 0);
    } else {
      muxer_->flags |= AVFMT_FLAG_BITEXACT;
    }
    AVStream* stream = avformat_new_stream(muxer_.get(), nullptr);
    if (stream == nullptr) throw std::bad_alloc();
    if (int rc = avcodec_parameters_from_context(stream->codecpar, encoder_.get()); rc < 0) {
      fail("copying encoder parameters", rc);
    }
    stream->time_base = encoder_->time_base;
  }

  // The header goes out with the first call, as the ffmpeg program writes it.
  void start() {
    if (started_) return;
    if (int rc = avformat_write_header(muxer_.get(), nullptr); rc < 0) {
      fail("writing the header", rc);
    }
    started_ = true;
  }

  void send_pending_frame() {
    ffmpeg::FrameHandle frame(av_frame_alloc());
    if (!frame) throw std::bad_alloc();
    frame->format = format_.sample_format;
    frame->sample_rate = kSampleRate;
    frame->nb_samples = static_cast<int>(pending_.size());
    frame->pts = samples_sent_;
    av_channel_layout_default(&frame->ch_layout, 1);
    if (int rc = av_frame_get_buffer(frame.get(), 0); rc < 0) fail("frame buffer", rc);
    const int shift = format_.samples == Samples::HighByte ? 8 : 0;
    auto* samples = reinterpret_cast<std::int16_t*>(frame->data[0]);
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      samples[i] = static_cast<std::int16_t>((int{pending_[i]} - kSampleOffset) * (1 << shift));
    }
    if (int rc = avcodec_send_frame(encoder_.get(), frame.get()); rc < 0) fail("encoding", rc);
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
      if (rc < 0) fail("encoding", rc);
      packet_bytes_ += static_cast<std::uint64_t>(packet->size);
      packet->stream_index = 0;
      av_packet_rescale_ts(packet.get(), encoder_->time_base, muxer_->streams[0]->time_base);
      rc = av_write_frame(muxer_.get(), packet.get());
      av_packet_unref(packet.get());
      if (rc < 0) fail("muxing", rc);
    }
  }

  // Hands what the muxer wrote to `out`; a seekable output only once the stream is complete,
  // since the muxer may still go back into it.
  void drain(Bytes& out, bool finished) {
    avio_flush(io_.get());
    if (!output_.error.empty()) throw std::runtime_error(format_.kind + ": " + output_.error);
    if (format_.seekable && !finished) return;
    append(out, output_.data);
    output_.data.clear();
    output_.position = 0;
  }

  const Format& format_;
  ffmpeg::CodecContextHandle encoder_;
  int frame_size_;
  MemoryOutput output_;
  ffmpeg::IoHandle io_;
  ffmpeg::OutputFormatHandle muxer_;  // after io_: freed before the I/O it writes to
  Bytes pending_;                     // bytes of the next, not yet full frame
  std::int64_t samples_sent_ = 0;
  std::uint64_t packet_bytes_ = 0;
  bool started_ = false;
};

class StreamEncoder final : public StreamCodec {
 public:
  explicit StreamEncoder(Format format) : format_(std::move(format)), encoder_(format_) {}
  void write(ByteView in, Bytes& out) override { encoder_.encode(in, out); }
  void finish(Bytes& out) override { encoder_.finish(out); }

 private:
  Format format_;  // its own copy: a stream may outlive the compressor that made it
  Encoder encoder_;
};

// --- decoding ---

// Demuxes and decodes a stream from memory back to the bytes it was made of.
class Decoder {
 public:
  Decoder(const Format& format, ByteView compressed, std::size_t expected_size)
      : format_(format), input_{compressed}, expected_size_(expected_size) {
    open_demuxer();
    open_decoder();
  }

  Bytes decode() {
    ffmpeg::PacketHandle packet(av_packet_alloc());
    if (!packet) throw std::bad_alloc();
    while (true) {
      int rc = av_read_frame(demuxer_.get(), packet.get());
      if (rc == AVERROR_EOF) break;
      if (rc < 0) corrupt("demuxing", rc);
      rc = avcodec_send_packet(decoder_.get(), packet.get());
      av_packet_unref(packet.get());
      if (rc < 0) corrupt("decoding", rc);
      receive_frames();
    }
    if (int rc = avcodec_send_packet(decoder_.get(), nullptr); rc < 0) {
      corrupt("flushing the decoder", rc);
    }
    receive_frames();
    if (expected_size_ != 0 && out_.size() != expected_size_) {
      throw CorruptDataError(format_.kind + ": decoded " + std::to_string(out_.size()) +
                             " samples, expected " + std::to_string(expected_size_));
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void corrupt(const std::string& what, int code) const {
    throw CorruptDataError(format_.kind + ": " + what + ": " + ffmpeg::error_text(code));
  }

  void open_demuxer() {
    io_ = open_io(&input_, false, read_input, nullptr, seek_input);
    AVFormatContext* demuxer = avformat_alloc_context();
    if (demuxer == nullptr) throw std::bad_alloc();
    demuxer->pb = io_.get();
    demuxer->flags |= AVFMT_FLAG_CUSTOM_IO;
    // On failure avformat_open_input frees the context itself.
    const AVInputFormat* container = av_find_input_format(format_.container.c_str());
    if (int rc = avformat_open_input(&demuxer, nullptr, container, nullptr); rc < 0) {
      corrupt("not a " + format_.container + " stream", rc);
    }
    demuxer_.reset(demuxer);
    if (demuxer_->nb_streams != 1 || demuxer_->streams[0]->codecpar->codec_id != format_.codec) {
      throw CorruptDataError(format_.kind + ": expected one " + avcodec_get_name(format_.codec) +
                             " stream");
    }
  }

  void open_decoder() {
    const AVCodec* codec = avcodec_find_decoder(format_.codec);
    if (codec == nullptr) {
      throw std::runtime_error(format_.kind + ": libavcodec has no " +
                               avcodec_get_name(format_.codec) + " decoder");
    }
    decoder_.reset(avcodec_alloc_context3(codec));
    if (!decoder_) throw std::bad_alloc();
    if (int rc = avcodec_parameters_to_context(decoder_.get(), demuxer_->streams[0]->codecpar);
        rc < 0) {
      corrupt("stream parameters", rc);
    }
    // Check every checksum the codec has and fail on damage instead of concealing it.
    decoder_->err_recognition = AV_EF_CRCCHECK | AV_EF_EXPLODE;
    if (int rc = avcodec_open2(decoder_.get(), codec, nullptr); rc < 0) {
      corrupt("cannot open the decoder", rc);
    }
  }

  void receive_frames() {
    ffmpeg::FrameHandle frame(av_frame_alloc());
    if (!frame) throw std::bad_alloc();
    while (true) {
      const int rc = avcodec_receive_frame(decoder_.get(), frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) corrupt("decoding", rc);
      append_bytes(*frame);
      av_frame_unref(frame.get());
    }
  }

  // A sample that no byte maps to was never one of ours.
  void append_bytes(const AVFrame& frame) {
    const bool s16 = frame.format == AV_SAMPLE_FMT_S16 || frame.format == AV_SAMPLE_FMT_S16P;
    if (!s16 || frame.ch_layout.nb_channels != 1) {
      throw CorruptDataError(format_.kind + ": not a 16-bit mono stream");
    }
    const auto n = static_cast<std::size_t>(frame.nb_samples);
    const std::size_t limit = expected_size_ != 0 ? expected_size_ : kMaxStreamSamples;
    if (out_.size() + n > limit) {
      throw CorruptDataError(format_.kind + ": more than the expected " + std::to_string(limit) +
                             " samples");
    }
    const int shift = format_.samples == Samples::HighByte ? 8 : 0;
    const auto* samples = reinterpret_cast<const std::int16_t*>(frame.data[0]);
    for (std::size_t i = 0; i < n; ++i) {
      const int sample = samples[i];
      const int value = sample >> shift;  // arithmetic: the sign is kept
      if (value * (1 << shift) != sample || value < -kSampleOffset || value >= kSampleOffset) {
        throw CorruptDataError(format_.kind + ": sample " + std::to_string(out_.size()) + " (" +
                               std::to_string(sample) + ") is not one of a byte");
      }
      out_.push_back(static_cast<std::uint8_t>(value + kSampleOffset));
    }
  }

  const Format& format_;
  MemoryInput input_;
  std::size_t expected_size_;
  ffmpeg::IoHandle io_;
  ffmpeg::InputFormatHandle demuxer_;  // after io_: closed before the I/O it reads
  ffmpeg::CodecContextHandle decoder_;
  Bytes out_;
};

}  // namespace

std::string version_text(unsigned version) {
  return std::to_string(AV_VERSION_MAJOR(version)) + "." +
         std::to_string(AV_VERSION_MINOR(version)) + "." +
         std::to_string(AV_VERSION_MICRO(version));
}

ffmpeg::CodecContextHandle open_encoder(const Format& format) {
  const AVCodec* codec = avcodec_find_encoder(format.codec);
  if (codec == nullptr) {
    throw std::runtime_error(format.kind + ": libavcodec has no " + avcodec_get_name(format.codec) +
                             " encoder");
  }
  ffmpeg::CodecContextHandle encoder(avcodec_alloc_context3(codec));
  if (!encoder) throw std::bad_alloc();
  encoder->sample_fmt = format.sample_format;
  encoder->sample_rate = kSampleRate;
  encoder->time_base = {1, kSampleRate};
  av_channel_layout_default(&encoder->ch_layout, 1);
  AVDictionary* options = nullptr;
  if (format.configure) format.configure(*encoder, options);
  const int rc = avcodec_open2(encoder.get(), codec, &options);
  const bool unused_options = av_dict_count(options) > 0;
  av_dict_free(&options);
  if (rc < 0) {
    throw std::runtime_error(format.kind + ": cannot open the encoder: " + ffmpeg::error_text(rc));
  }
  if (unused_options) throw std::logic_error(format.kind + ": the encoder ignored an option");
  return encoder;
}

AudioCompressor::AudioCompressor(Format format, nlohmann::json settings)
    : format_(std::move(format)), settings_(std::move(settings)) {
  quiet_ffmpeg_logs();
}

Bytes AudioCompressor::compress(ByteView data, Counters& counters) const {
  Encoder encoder(format_);
  Bytes out;
  encoder.encode(data, out);
  encoder.finish(out);
  if (format_.count_container) {
    counters["container_bytes"] += static_cast<double>(out.size() - encoder.packet_bytes());
  }
  return out;
}

Bytes AudioCompressor::decompress(ByteView compressed, std::size_t original_size) const {
  if (format_.check_container) format_.check_container(compressed);
  return Decoder(format_, compressed, original_size).decode();
}

std::unique_ptr<StreamCodec> AudioCompressor::stream_encoder() const {
  return std::make_unique<StreamEncoder>(format_);
}

}  // namespace lmc::libav_audio
