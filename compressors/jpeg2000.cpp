// JPEG 2000 lossless through OpenJPEG: the bytes as one 8-bit gray image of the paper's shape
// (compressors/gray_image.h), reversible 5/3 wavelet, one quality layer, no rate limit, written as
// a raw J2K codestream (no JP2 boxes). The number of resolutions is min(`resolutions`,
// 1 + floor(log2(the shorter side))): OpenJPEG needs every level to keep at least one pixel
// (docs/PROTOCOL.md section 3).
//
// OpenJPEG reports errors through callbacks and return values, never longjmp; the callbacks
// only record the message.
#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "common/error.h"
#include "compressors/gray_image.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

// The J2K SIZ marker stores sides in 32 bits; the pixel limit is the harness's own.
constexpr std::size_t kMaxSide = 0x7fffffff;

struct CodecDeleter {
  void operator()(opj_codec_t* codec) const { opj_destroy_codec(codec); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* stream) const { opj_stream_destroy(stream); }
};
struct ImageDeleter {
  void operator()(opj_image_t* image) const { opj_image_destroy(image); }
};
using CodecHandle = std::unique_ptr<opj_codec_t, CodecDeleter>;
using StreamHandle = std::unique_ptr<opj_stream_t, StreamDeleter>;
using ImageHandle = std::unique_ptr<opj_image_t, ImageDeleter>;

void record_error(const char* message, void* slot) {
  auto* error = static_cast<std::string*>(slot);
  if (error->empty()) *error = message;
  while (!error->empty() && error->back() == '\n') error->pop_back();
}
void ignore_message(const char*, void*) {}

CodecHandle make_codec(bool compress, std::string* error) {
  CodecHandle codec(compress ? opj_create_compress(OPJ_CODEC_J2K)
                             : opj_create_decompress(OPJ_CODEC_J2K));
  if (!codec) throw std::bad_alloc();
  opj_set_error_handler(codec.get(), record_error, error);
  opj_set_warning_handler(codec.get(), ignore_message, nullptr);
  opj_set_info_handler(codec.get(), ignore_message, nullptr);
  return codec;
}

// A byte buffer OpenJPEG reads from or writes into, with a position it may seek. No exception
// crosses OpenJPEG's C frames: a failed allocation reports a failed write.
struct MemoryStream {
  Bytes* out = nullptr;  // writing
  ByteView in;           // reading
  std::size_t position = 0;

  std::size_t size() const { return out != nullptr ? out->size() : in.size(); }
};

OPJ_SIZE_T read_memory(void* buffer, OPJ_SIZE_T count, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (s->position >= s->in.size()) return static_cast<OPJ_SIZE_T>(-1);
  const std::size_t n = std::min<std::size_t>(count, s->in.size() - s->position);
  std::memcpy(buffer, s->in.data() + s->position, n);
  s->position += n;
  return n;
}

OPJ_SIZE_T write_memory(void* buffer, OPJ_SIZE_T count, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  try {
    if (s->out->size() < s->position + count) s->out->resize(s->position + count);
  } catch (...) {
    return static_cast<OPJ_SIZE_T>(-1);
  }
  std::memcpy(s->out->data() + s->position, buffer, count);
  s->position += count;
  return count;
}

OPJ_OFF_T skip_memory(OPJ_OFF_T count, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (count < 0 && static_cast<std::size_t>(-count) > s->position) return -1;
  if (s->out == nullptr && count > 0 &&
      static_cast<std::size_t>(count) > s->in.size() - std::min(s->position, s->in.size())) {
    s->position = s->in.size();
    return -1;
  }
  s->position = static_cast<std::size_t>(static_cast<OPJ_OFF_T>(s->position) + count);
  return count;
}

OPJ_BOOL seek_memory(OPJ_OFF_T position, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (position < 0 || (s->out == nullptr && static_cast<std::size_t>(position) > s->in.size())) {
    return OPJ_FALSE;
  }
  s->position = static_cast<std::size_t>(position);
  return OPJ_TRUE;
}

StreamHandle make_stream(MemoryStream* memory, bool input) {
  StreamHandle stream(opj_stream_create(64 * 1024, input ? OPJ_TRUE : OPJ_FALSE));
  if (!stream) throw std::bad_alloc();
  opj_stream_set_user_data(stream.get(), memory, nullptr);
  if (input) {
    opj_stream_set_user_data_length(stream.get(), memory->in.size());
    opj_stream_set_read_function(stream.get(), read_memory);
  } else {
    opj_stream_set_write_function(stream.get(), write_memory);
  }
  opj_stream_set_skip_function(stream.get(), skip_memory);
  opj_stream_set_seek_function(stream.get(), seek_memory);
  return stream;
}

int resolutions_for(gray_image::Shape shape, int max_resolutions) {
  int levels = 1;
  while (levels < max_resolutions &&
         (std::size_t{1} << levels) <= std::min(shape.width, shape.height)) {
    ++levels;
  }
  return levels;
}

class Jpeg2000Compressor final : public gray_image::GrayImageCompressor {
 public:
  explicit Jpeg2000Compressor(int resolutions)
      : GrayImageCompressor("jpeg2000", kMaxSide, gray_image::kMaxStreamPixels),
        resolutions_(resolutions) {}

  nlohmann::json settings() const override {
    return {
        {"library", "OpenJPEG"},
        {"library_version", opj_version()},
        {"image", "8-bit grayscale, width x height = closest factors of the length"},
        {"codestream", "raw J2K (no JP2 boxes)"},
        {"wavelet", "reversible 5/3 (lossless)"},
        {"layers", 1},
        {"resolutions", "min(" + std::to_string(resolutions_) + ", 1 + floor(log2(shorter side)))"},
        {"code_block", "64 x 64"},
        {"progression", "LRCP"},
        {"tiles", "one tile"},
        {"decoder", "strict mode (a truncated codestream is an error)"}};
  }

 protected:
  Bytes encode(ByteView pixels, gray_image::Shape shape, Counters&) const override {
    opj_cparameters_t parameters;
    opj_set_default_encoder_parameters(&parameters);
    parameters.tcp_numlayers = 1;
    parameters.tcp_rates[0] = 0;  // lossless: no rate limit
    parameters.cp_disto_alloc = 1;
    parameters.irreversible = 0;
    parameters.numresolution = resolutions_for(shape, resolutions_);

    opj_image_cmptparm_t component{};
    component.dx = component.dy = 1;
    component.w = static_cast<OPJ_UINT32>(shape.width);
    component.h = static_cast<OPJ_UINT32>(shape.height);
    component.prec = 8;
    component.sgnd = 0;
    const ImageHandle image(opj_image_create(1, &component, OPJ_CLRSPC_GRAY));
    if (!image) throw std::bad_alloc();
    image->x0 = image->y0 = 0;
    image->x1 = component.w;
    image->y1 = component.h;
    std::copy(pixels.begin(), pixels.end(), image->comps[0].data);

    std::string error;
    const CodecHandle codec = make_codec(true, &error);
    Bytes out;
    out.reserve(pixels.size() / 2 + 256);
    MemoryStream memory{&out, {}, 0};
    const StreamHandle stream = make_stream(&memory, false);
    if (!opj_setup_encoder(codec.get(), &parameters, image.get()) ||
        !opj_start_compress(codec.get(), image.get(), stream.get()) ||
        !opj_encode(codec.get(), stream.get()) || !opj_end_compress(codec.get(), stream.get())) {
      throw std::runtime_error("jpeg2000: OpenJPEG failed to encode " +
                               std::to_string(pixels.size()) + " bytes: " + error);
    }
    return out;
  }

  Bytes decode(ByteView compressed, std::size_t original_size) const override {
    std::string error;
    const CodecHandle codec = make_codec(false, &error);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    if (!opj_setup_decoder(codec.get(), &parameters) ||
        !opj_decoder_set_strict_mode(codec.get(), OPJ_TRUE)) {
      throw std::runtime_error("jpeg2000: cannot set up the decoder: " + error);
    }
    MemoryStream memory{nullptr, compressed, 0};
    const StreamHandle stream = make_stream(&memory, true);
    opj_image_t* raw_image = nullptr;
    const bool header_read = opj_read_header(stream.get(), codec.get(), &raw_image);
    const ImageHandle image(raw_image);
    if (!header_read || !image) throw CorruptDataError("jpeg2000: unreadable header: " + error);
    if (image->numcomps != 1 || image->comps[0].prec != 8 || image->comps[0].sgnd != 0 ||
        image->comps[0].dx != 1 || image->comps[0].dy != 1 || image->x0 != 0 || image->y0 != 0) {
      throw CorruptDataError("jpeg2000: not one unsigned 8-bit component at the origin");
    }
    check_header(image->x1, image->y1, original_size);
    if (!opj_decode(codec.get(), stream.get(), image.get()) ||
        !opj_end_decompress(codec.get(), stream.get())) {
      throw CorruptDataError("jpeg2000: corrupt codestream: " + error);
    }
    const opj_image_comp_t& plane = image->comps[0];
    const std::size_t pixels = std::size_t{image->x1} * image->y1;
    if (plane.data == nullptr || plane.w != image->x1 || plane.h != image->y1) {
      throw CorruptDataError("jpeg2000: decoded component does not cover the image");
    }
    Bytes out(pixels);
    for (std::size_t i = 0; i < pixels; ++i) {
      if (plane.data[i] < 0 || plane.data[i] > 255) {
        throw CorruptDataError("jpeg2000: sample " + std::to_string(i) + " out of range");
      }
      out[i] = static_cast<std::uint8_t>(plane.data[i]);
    }
    return out;
  }

 private:
  int resolutions_;
};

}  // namespace

CompressorKind jpeg2000_kind() {
  return {
      .name = "jpeg2000",
      .summary =
          "OpenJPEG: JPEG 2000 lossless (reversible 5/3), bytes as an 8-bit gray image "
          "(png's shape), raw J2K codestream",
      .options = {{"resolutions", OptionType::Integer, 6,
                   "most wavelet resolutions (decomposition levels + 1), 1 to 33; fewer where "
                   "the image is too small"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<Jpeg2000Compressor>(
            stream_util::integer_in_range(options, "resolutions", 1, 33));
      },
  };
}

}  // namespace lmc
