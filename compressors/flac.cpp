// FLAC through libFLAC at its strongest settings: the bytes are 8-bit mono samples at 16 kHz
// (sample = byte - 128). This is the honest C++ counterpart of the paper's FLAC column
// (docs/PROTOCOL.md section 3); flac_paper.cpp reproduces the authors' exact ffmpeg pipeline.
//
// libFLAC's callbacks are C: none of them lets an exception escape. They record what went
// wrong and return an abort status; the C++ side throws once the libFLAC call returns.
#include <FLAC/format.h>
#include <FLAC/stream_decoder.h>
#include <FLAC/stream_encoder.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "common/error.h"
#include "compressors/compressor.h"

namespace lmc {

namespace {

constexpr unsigned kSampleRate = 16000;
constexpr unsigned kBitsPerSample = 8;
constexpr int kSampleOffset = 128;  // unsigned byte -> signed 8-bit sample

constexpr unsigned kCompressionLevel = 8;
constexpr unsigned kMaxLpcOrder = 32;  // FLAC's maximum; beyond the streamable subset
constexpr unsigned kMaxPartitionOrder = FLAC__MAX_RICE_PARTITION_ORDER;
// Measured on the 142 2048-byte chunks of the shared LibriSpeech utterances (chunked rate,
// tests/compressors/flac_test.cpp): 256: 33.0 %, 512: 30.8, 768: 30.5, 1024: 29.8, 1152: 29.9,
// 1536: 30.2, 2048 (= 4096 on such chunks): 30.4. 1024 splits a chunk into two equal frames.
constexpr unsigned kDefaultBlockSize = 1024;

// --- RAII ---

struct EncoderDeleter {
  void operator()(FLAC__StreamEncoder* e) const { FLAC__stream_encoder_delete(e); }
};
struct DecoderDeleter {
  void operator()(FLAC__StreamDecoder* d) const { FLAC__stream_decoder_delete(d); }
};
using EncoderHandle = std::unique_ptr<FLAC__StreamEncoder, EncoderDeleter>;
using DecoderHandle = std::unique_ptr<FLAC__StreamDecoder, DecoderDeleter>;

// --- encoding ---

struct EncoderSettings {
  unsigned block_size;
  // The strongest search by default; a user short of time may lower these (see `bench list`).
  unsigned max_lpc_order = kMaxLpcOrder;
  bool qlp_coeff_precision_search = true;
  bool exhaustive_model_search = true;
};

// One libFLAC encoder. Its output is appended to the Bytes passed to each call. When
// `seekable`, the caller passes one initially empty buffer to every call, so the stream can be
// revisited: libFLAC then rewrites STREAMINFO (MD5, frame sizes) at the end. A streaming
// encoder cannot seek back into output already handed on, and leaves those fields 0 (unknown),
// as FLAC allows.
class FlacEncoder {
 public:
  FlacEncoder(const EncoderSettings& settings, bool seekable, std::uint64_t total_samples)
      : seekable_(seekable), encoder_(FLAC__stream_encoder_new()) {
    if (!encoder_) throw std::bad_alloc();
    FLAC__StreamEncoder* e = encoder_.get();
    bool ok =
        FLAC__stream_encoder_set_channels(e, 1) &&
        FLAC__stream_encoder_set_bits_per_sample(e, kBitsPerSample) &&
        FLAC__stream_encoder_set_sample_rate(e, kSampleRate) &&
        // Level 8 first: it sets the apodization; the settings after it override the rest.
        FLAC__stream_encoder_set_compression_level(e, kCompressionLevel) &&
        FLAC__stream_encoder_set_streamable_subset(e, false) &&
        FLAC__stream_encoder_set_blocksize(e, settings.block_size) &&
        FLAC__stream_encoder_set_max_lpc_order(e, settings.max_lpc_order) &&
        FLAC__stream_encoder_set_do_qlp_coeff_prec_search(e, settings.qlp_coeff_precision_search) &&
        FLAC__stream_encoder_set_do_exhaustive_model_search(e, settings.exhaustive_model_search) &&
        FLAC__stream_encoder_set_min_residual_partition_order(e, 0) &&
        FLAC__stream_encoder_set_max_residual_partition_order(e, kMaxPartitionOrder) &&
        FLAC__stream_encoder_set_total_samples_estimate(e, total_samples);
    if (!ok) throw std::logic_error("flac: libFLAC rejected an encoder setting");
  }

  void encode(ByteView bytes, Bytes& out) {
    const OutputScope scope(*this, out);
    start();
    std::array<FLAC__int32, 4096> samples;
    for (std::size_t done = 0; done < bytes.size();) {
      const std::size_t n = std::min(samples.size(), bytes.size() - done);
      for (std::size_t i = 0; i < n; ++i) samples[i] = FLAC__int32{bytes[done + i]} - kSampleOffset;
      if (!FLAC__stream_encoder_process_interleaved(encoder_.get(), samples.data(),
                                                    static_cast<unsigned>(n))) {
        fail("encoding");
      }
      done += n;
    }
  }

  void finish(Bytes& out) {
    const OutputScope scope(*this, out);
    start();
    if (!FLAC__stream_encoder_finish(encoder_.get())) fail("finishing the stream");
  }

 private:
  // Points the callbacks at `out` for the duration of one libFLAC call.
  struct OutputScope {
    OutputScope(FlacEncoder& encoder, Bytes& out) : encoder_(encoder) { encoder_.out_ = &out; }
    ~OutputScope() { encoder_.out_ = nullptr; }
    FlacEncoder& encoder_;
  };

  // Initialising writes the stream header, so it waits for the first call with an output.
  void start() {
    if (started_) return;
    FLAC__StreamEncoder* e = encoder_.get();
    const auto status =
        FLAC__stream_encoder_init_stream(e, write_callback, seekable_ ? seek_callback : nullptr,
                                         seekable_ ? tell_callback : nullptr, nullptr, this);
    if (status != FLAC__STREAM_ENCODER_INIT_STATUS_OK) {
      throw std::runtime_error(
          std::string("flac: encoder init failed: ") + FLAC__StreamEncoderInitStatusString[status] +
          " (" + FLAC__StreamEncoderStateString[FLAC__stream_encoder_get_state(e)] + ")");
    }
    started_ = true;
  }

  [[noreturn]] void fail(const char* what) {
    const auto state = FLAC__stream_encoder_get_state(encoder_.get());
    throw std::runtime_error(
        std::string("flac: libFLAC failed while ") + what + ": " +
        (callback_error_.empty() ? FLAC__StreamEncoderStateString[state] : callback_error_));
  }

  static FLAC__StreamEncoderWriteStatus write_callback(const FLAC__StreamEncoder*,
                                                       const FLAC__byte buffer[], size_t bytes,
                                                       uint32_t, uint32_t, void* client) {
    auto* self = static_cast<FlacEncoder*>(client);
    // FLAC__stream_encoder_delete() may flush after an exception: nowhere to write then.
    if (self->out_ == nullptr) return FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR;
    try {
      Bytes& out = *self->out_;
      if (self->seekable_) {
        // The one buffer holds the stream from its start; STREAMINFO is rewritten in place.
        const std::size_t overlap = std::min<std::size_t>(bytes, out.size() - self->position_);
        std::memcpy(out.data() + self->position_, buffer, overlap);
        out.insert(out.end(), buffer + overlap, buffer + bytes);
      } else {
        out.insert(out.end(), buffer, buffer + bytes);
      }
      self->position_ += bytes;
      return FLAC__STREAM_ENCODER_WRITE_STATUS_OK;
    } catch (const std::exception& e) {
      self->callback_error_ = e.what();
      return FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR;
    }
  }

  static FLAC__StreamEncoderSeekStatus seek_callback(const FLAC__StreamEncoder*,
                                                     FLAC__uint64 offset, void* client) {
    auto* self = static_cast<FlacEncoder*>(client);
    if (self->out_ == nullptr || offset > self->out_->size()) {
      return FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR;
    }
    self->position_ = offset;
    return FLAC__STREAM_ENCODER_SEEK_STATUS_OK;
  }

  static FLAC__StreamEncoderTellStatus tell_callback(const FLAC__StreamEncoder*,
                                                     FLAC__uint64* offset, void* client) {
    *offset = static_cast<FlacEncoder*>(client)->position_;
    return FLAC__STREAM_ENCODER_TELL_STATUS_OK;
  }

  bool seekable_;
  bool started_ = false;
  Bytes* out_ = nullptr;
  std::size_t position_ = 0;  // where the next write goes (seekable mode)
  std::string callback_error_;
  EncoderHandle encoder_;  // last member: destroyed first, while the fields above still live
};

class FlacStreamEncoder final : public StreamCodec {
 public:
  explicit FlacStreamEncoder(const EncoderSettings& settings)
      : encoder_(settings, /*seekable=*/false, /*total_samples=*/0) {}
  void write(ByteView in, Bytes& out) override { encoder_.encode(in, out); }
  void finish(Bytes& out) override { encoder_.finish(out); }

 private:
  FlacEncoder encoder_;
};

// --- decoding ---

// One libFLAC decoder reading from an input queue fed in pieces. libFLAC pulls its input, so
// a streaming caller only runs it while a safety margin of input is queued. An 8-bit mono frame
// is at most its block size (<= 65535, stored verbatim) plus a few header bytes, well inside
// the margin, so valid input never starves it.
class FlacDecoder {
 public:
  // `expected_samples`: the known output length, 0 if unknown.
  explicit FlacDecoder(std::uint64_t expected_samples)
      : expected_samples_(expected_samples), decoder_(FLAC__stream_decoder_new()) {
    if (!decoder_) throw std::bad_alloc();
    FLAC__stream_decoder_set_md5_checking(decoder_.get(), true);
    const auto status = FLAC__stream_decoder_init_stream(decoder_.get(), read_callback, nullptr,
                                                         nullptr, nullptr, nullptr, write_callback,
                                                         metadata_callback, error_callback, this);
    if (status != FLAC__STREAM_DECODER_INIT_STATUS_OK) {
      throw std::runtime_error(std::string("flac: decoder init failed: ") +
                               FLAC__StreamDecoderInitStatusString[status]);
    }
  }

  static constexpr std::size_t kMargin = std::size_t{128} << 10;

  // Queues `in` and decodes every frame that is safely inside the queued input.
  void write(ByteView in, Bytes& out) {
    compact_input();
    append(input_, in);
    const OutputScope scope(*this, out);
    while (input_.size() - read_position_ >= kMargin && !at_end()) {
      if (!FLAC__stream_decoder_process_single(decoder_.get())) fail();
      check_errors();
    }
  }

  void finish(Bytes& out) {
    input_complete_ = true;
    const OutputScope scope(*this, out);
    if (!FLAC__stream_decoder_process_until_end_of_stream(decoder_.get())) fail();
    check_errors();
    if (!FLAC__stream_decoder_finish(decoder_.get())) {
      throw CorruptDataError("flac: MD5 of the decoded samples does not match STREAMINFO");
    }
    if (!seen_streaminfo_) throw CorruptDataError("flac: no STREAMINFO block");
    if (streaminfo_samples_ != 0 && streaminfo_samples_ != samples_decoded_) {
      throw CorruptDataError("flac: decoded " + std::to_string(samples_decoded_) +
                             " samples, STREAMINFO says " + std::to_string(streaminfo_samples_));
    }
    if (expected_samples_ != 0 && expected_samples_ != samples_decoded_) {
      throw CorruptDataError("flac: decoded " + std::to_string(samples_decoded_) +
                             " bytes, expected " + std::to_string(expected_samples_));
    }
  }

 private:
  struct OutputScope {
    OutputScope(FlacDecoder& decoder, Bytes& out) : decoder_(decoder) { decoder_.out_ = &out; }
    ~OutputScope() { decoder_.out_ = nullptr; }
    FlacDecoder& decoder_;
  };

  bool at_end() const {
    return FLAC__stream_decoder_get_state(decoder_.get()) == FLAC__STREAM_DECODER_END_OF_STREAM;
  }

  void compact_input() {
    input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(read_position_));
    read_position_ = 0;
  }

  void check_errors() const {
    if (!error_.empty()) throw CorruptDataError("flac: " + error_);
  }

  [[noreturn]] void fail() const {
    check_errors();
    const auto state = FLAC__stream_decoder_get_state(decoder_.get());
    throw CorruptDataError(std::string("flac: undecodable stream (") +
                           FLAC__StreamDecoderStateString[state] + ")");
  }

  static FLAC__StreamDecoderReadStatus read_callback(const FLAC__StreamDecoder*,
                                                     FLAC__byte buffer[], size_t* bytes,
                                                     void* client) {
    auto* self = static_cast<FlacDecoder*>(client);
    const std::size_t available = self->input_.size() - self->read_position_;
    if (available == 0) {
      *bytes = 0;
      if (self->input_complete_) return FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM;
      self->error_ = "no complete frame within " + std::to_string(kMargin) + " bytes of input";
      return FLAC__STREAM_DECODER_READ_STATUS_ABORT;
    }
    *bytes = std::min(*bytes, available);
    std::memcpy(buffer, self->input_.data() + self->read_position_, *bytes);
    self->read_position_ += *bytes;
    return FLAC__STREAM_DECODER_READ_STATUS_CONTINUE;
  }

  static FLAC__StreamDecoderWriteStatus write_callback(const FLAC__StreamDecoder*,
                                                       const FLAC__Frame* frame,
                                                       const FLAC__int32* const channels[],
                                                       void* client) {
    auto* self = static_cast<FlacDecoder*>(client);
    const unsigned n = frame->header.blocksize;
    if (frame->header.channels != 1 || frame->header.bits_per_sample != kBitsPerSample) {
      self->error_ = "not an 8-bit mono stream";
      return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    }
    if (self->expected_samples_ != 0 && self->samples_decoded_ + n > self->expected_samples_) {
      self->error_ = "more samples than the expected " + std::to_string(self->expected_samples_);
      return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    }
    if (self->out_ == nullptr) return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    try {
      for (unsigned i = 0; i < n; ++i) {
        self->out_->push_back(static_cast<std::uint8_t>(channels[0][i] + kSampleOffset));
      }
    } catch (const std::exception& e) {
      self->error_ = e.what();
      return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    }
    self->samples_decoded_ += n;
    return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
  }

  static void metadata_callback(const FLAC__StreamDecoder*, const FLAC__StreamMetadata* metadata,
                                void* client) {
    auto* self = static_cast<FlacDecoder*>(client);
    if (metadata->type != FLAC__METADATA_TYPE_STREAMINFO) return;
    const auto& info = metadata->data.stream_info;
    self->seen_streaminfo_ = true;
    self->streaminfo_samples_ = info.total_samples;
    if (info.channels != 1 || info.bits_per_sample != kBitsPerSample) {
      self->error_ = "STREAMINFO: " + std::to_string(info.channels) + " channels of " +
                     std::to_string(info.bits_per_sample) + " bits, expected 1 of 8";
    }
  }

  static void error_callback(const FLAC__StreamDecoder*, FLAC__StreamDecoderErrorStatus status,
                             void* client) {
    auto* self = static_cast<FlacDecoder*>(client);
    if (self->error_.empty()) self->error_ = FLAC__StreamDecoderErrorStatusString[status];
  }

  std::uint64_t expected_samples_;
  Bytes input_;
  std::size_t read_position_ = 0;
  bool input_complete_ = false;
  Bytes* out_ = nullptr;
  bool seen_streaminfo_ = false;
  std::uint64_t streaminfo_samples_ = 0;
  std::uint64_t samples_decoded_ = 0;
  std::string error_;
  DecoderHandle decoder_;  // last member: destroyed first
};

class FlacStreamDecoder final : public StreamCodec {
 public:
  void write(ByteView in, Bytes& out) override { decoder_.write(in, out); }
  void finish(Bytes& out) override { decoder_.finish(out); }

 private:
  FlacDecoder decoder_{0};
};

class FlacCompressor final : public Compressor {
 public:
  explicit FlacCompressor(EncoderSettings settings) : settings_(settings) {}

  Bytes compress(ByteView data, Counters&) const override {
    FlacEncoder encoder(settings_, /*seekable=*/true, data.size());
    Bytes out;
    out.reserve(data.size() + 128);
    encoder.encode(data, out);
    encoder.finish(out);
    return out;
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    FlacDecoder decoder(original_size);
    Bytes out;
    out.reserve(original_size);
    decoder.write(compressed, out);
    decoder.finish(out);
    return out;
  }

  std::unique_ptr<StreamCodec> stream_encoder() const override {
    return std::make_unique<FlacStreamEncoder>(settings_);
  }
  std::unique_ptr<StreamCodec> stream_decoder() const override {
    return std::make_unique<FlacStreamDecoder>();
  }

  nlohmann::json settings() const override {
    return {
        {"library", "libFLAC"},
        {"libflac_version", FLAC__VERSION_STRING},
        {"samples", "8-bit signed mono at 16000 Hz, sample = byte - 128"},
        {"compression_level", kCompressionLevel},
        {"apodization", "tukey(5e-1);partial_tukey(2);punchout_tukey(3) (level 8)"},
        {"block_size", settings_.block_size},
        {"max_lpc_order", settings_.max_lpc_order},
        {"qlp_coeff_precision_search", settings_.qlp_coeff_precision_search},
        {"exhaustive_model_search", settings_.exhaustive_model_search},
        {"residual_partition_order", {0, kMaxPartitionOrder}},
        {"streamable_subset", false},
        {"md5", true},
    };
  }

 private:
  EncoderSettings settings_;
};

}  // namespace

CompressorKind flac_kind() {
  return {
      .name = "flac",
      .summary = "libFLAC at its strongest settings, bytes as 8-bit mono samples at 16 kHz",
      .options = {{"block_size", OptionType::Integer, kDefaultBlockSize,
                   "samples per FLAC frame (16-65535)"},
                  {"max_lpc_order", OptionType::Integer, kMaxLpcOrder,
                   "highest LPC order tried, 0-32 (lower is faster)"},
                  {"qlp_coeff_precision_search", OptionType::Boolean, true,
                   "try every quantised coefficient precision (slow, slightly smaller)"},
                  {"exhaustive_model_search", OptionType::Boolean, true,
                   "encode every LPC order and keep the smallest (slow, smaller)"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        const std::int64_t block_size = options.integer("block_size");
        if (block_size < FLAC__MIN_BLOCK_SIZE || block_size > FLAC__MAX_BLOCK_SIZE) {
          throw InputError(options.key_path("block_size") + ": " + std::to_string(block_size) +
                           " is outside FLAC's 16-65535");
        }
        const std::int64_t max_lpc_order = options.integer("max_lpc_order");
        if (max_lpc_order < 0 || max_lpc_order > static_cast<std::int64_t>(kMaxLpcOrder)) {
          throw InputError(options.key_path("max_lpc_order") + ": " +
                           std::to_string(max_lpc_order) + " is outside 0-32");
        }
        return std::make_unique<FlacCompressor>(EncoderSettings{
            .block_size = static_cast<unsigned>(block_size),
            .max_lpc_order = static_cast<unsigned>(max_lpc_order),
            .qlp_coeff_precision_search = options.boolean("qlp_coeff_precision_search"),
            .exhaustive_model_search = options.boolean("exhaustive_model_search")});
      },
      .default_repetitions = 1,  // about 50 kB/s: a pass over the demo's data takes minutes
  };
}

}  // namespace lmc
