// Owning handles for the libavcodec/libavformat objects of the kinds that run FFmpeg's audio
// encoders (compressors/libav_audio.h), and the one error-text helper. Each handle frees with the
// function FFmpeg pairs with its allocator.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/mem.h>
}

#include <memory>
#include <string>

namespace lmc::ffmpeg {

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
// A custom AVIOContext owns its buffer only loosely: FFmpeg may replace it, so free the
// current one, not the one allocated.
struct IoContextDeleter {
  void operator()(AVIOContext* io) const {
    av_freep(&io->buffer);
    avio_context_free(&io);
  }
};
// Output contexts with custom I/O: the AVIOContext is owned separately.
struct OutputFormatDeleter {
  void operator()(AVFormatContext* f) const { avformat_free_context(f); }
};
// Input contexts: avformat_close_input also frees what avformat_open_input allocated.
struct InputFormatDeleter {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};

using CodecContextHandle = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FrameHandle = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketHandle = std::unique_ptr<AVPacket, PacketDeleter>;
using IoHandle = std::unique_ptr<AVIOContext, IoContextDeleter>;
using OutputFormatHandle = std::unique_ptr<AVFormatContext, OutputFormatDeleter>;
using InputFormatHandle = std::unique_ptr<AVFormatContext, InputFormatDeleter>;

inline std::string error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

}  // namespace lmc::ffmpeg
