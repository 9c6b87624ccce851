// WebP lossless through libwebp: the bytes as one gray image of the paper's shape
// (compressors/gray_image.h; each pixel ARGB = 255, g, g, g), method 6 and quality 100 by
// default, exact RGB kept. The stored stream is the bare VP8L bitstream: libwebp's 20-byte RIFF
// container (RIFF header, "WEBP", the VP8L chunk header, plus a pad byte for an odd payload) is
// stripped and counted in the `container_bytes` counter; the decoder rebuilds it
// (docs/PROTOCOL.md section 3).
#include <webp/decode.h>
#include <webp/encode.h>

#include <cstring>
#include <memory>
#include <string>

#include "common/error.h"
#include "compressors/gray_image.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

constexpr std::size_t kRiffHeader = 12;  // "RIFF", size, "WEBP"
constexpr std::size_t kChunkHeader = 8;  // "VP8L", size
constexpr std::size_t kContainer = kRiffHeader + kChunkHeader;

std::string version_text(int version) {
  return std::to_string(version >> 16) + "." + std::to_string((version >> 8) & 0xff) + "." +
         std::to_string(version & 0xff);
}

std::uint32_t little_endian32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

void put_little_endian32(Bytes& out, std::size_t value) {
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

struct PictureDeleter {
  void operator()(WebPPicture* picture) const {
    WebPPictureFree(picture);
    delete picture;
  }
};
struct WriterDeleter {
  void operator()(WebPMemoryWriter* writer) const {
    WebPMemoryWriterClear(writer);
    delete writer;
  }
};
struct WebPFreeDeleter {
  void operator()(std::uint8_t* p) const { WebPFree(p); }
};

class WebpCompressor final : public gray_image::GrayImageCompressor {
 public:
  WebpCompressor(int method, int quality)
      : GrayImageCompressor("webp", WEBP_MAX_DIMENSION, gray_image::kMaxStreamPixels),
        method_(method),
        quality_(quality) {}

  nlohmann::json settings() const override {
    return {{"library", "libwebp"},
            {"encoder_version", version_text(WebPGetEncoderVersion())},
            {"decoder_version", version_text(WebPGetDecoderVersion())},
            {"image", "ARGB (255, g, g, g), width x height = closest factors of the length"},
            {"lossless", true},
            {"method", method_},
            {"quality", quality_},
            {"exact", true},
            {"stored_stream",
             "bare VP8L bitstream; the RIFF container (20 bytes + pad) is counted in "
             "counters.container_bytes"}};
  }

 protected:
  Bytes encode(ByteView pixels, gray_image::Shape shape, Counters& counters) const override {
    WebPConfig config;
    if (!WebPConfigInit(&config)) throw std::runtime_error("webp: library version mismatch");
    config.lossless = 1;
    config.method = method_;
    config.quality = static_cast<float>(quality_);
    config.exact = 1;
    if (!WebPValidateConfig(&config)) throw std::runtime_error("webp: invalid configuration");

    const std::unique_ptr<WebPPicture, PictureDeleter> picture(new WebPPicture);
    if (!WebPPictureInit(picture.get())) throw std::runtime_error("webp: version mismatch");
    picture->use_argb = 1;
    picture->width = static_cast<int>(shape.width);
    picture->height = static_cast<int>(shape.height);
    if (!WebPPictureAlloc(picture.get())) throw std::bad_alloc();
    for (std::size_t y = 0; y < shape.height; ++y) {
      std::uint32_t* row = picture->argb + y * static_cast<std::size_t>(picture->argb_stride);
      for (std::size_t x = 0; x < shape.width; ++x) {
        row[x] = 0xff000000u | std::uint32_t{pixels[y * shape.width + x]} * 0x010101u;
      }
    }
    const std::unique_ptr<WebPMemoryWriter, WriterDeleter> writer(new WebPMemoryWriter);
    WebPMemoryWriterInit(writer.get());
    picture->writer = WebPMemoryWrite;
    picture->custom_ptr = writer.get();
    if (!WebPEncode(&config, picture.get())) {
      throw std::runtime_error("webp: WebPEncode failed (error " +
                               std::to_string(static_cast<int>(picture->error_code)) + ")");
    }
    // libwebp writes RIFF + VP8L for a lossless image without alpha or metadata.
    const std::uint8_t* file = writer->mem;
    const std::size_t size = writer->size;
    if (size < kContainer || std::memcmp(file, "RIFF", 4) != 0 ||
        std::memcmp(file + 8, "WEBPVP8L", 8) != 0) {
      throw std::runtime_error("webp: encoder wrote no simple lossless file");
    }
    const std::size_t payload = little_endian32(file + 16);
    if (payload > size - kContainer) throw std::runtime_error("webp: inconsistent VP8L chunk");
    counters["container_bytes"] += static_cast<double>(size - payload);
    return Bytes(file + kContainer, file + kContainer + payload);
  }

  Bytes decode(ByteView compressed, std::size_t original_size) const override {
    if (compressed.empty() || compressed.size() > 0xfffffff0u - kContainer) {
      throw CorruptDataError("webp: empty or oversized VP8L bitstream");
    }
    const std::size_t pad = compressed.size() % 2;
    Bytes file;
    file.reserve(kContainer + compressed.size() + pad);
    append(file, as_bytes("RIFF"));
    put_little_endian32(file, 4 + kChunkHeader + compressed.size() + pad);
    append(file, as_bytes("WEBPVP8L"));
    put_little_endian32(file, compressed.size());
    append(file, compressed);
    if (pad != 0) file.push_back(0);

    WebPBitstreamFeatures features;
    if (WebPGetFeatures(file.data(), file.size(), &features) != VP8_STATUS_OK) {
      throw CorruptDataError("webp: unreadable VP8L header");
    }
    if (features.has_alpha || features.has_animation || features.format != 2) {
      throw CorruptDataError("webp: not an opaque lossless still image");
    }
    check_header(static_cast<std::size_t>(features.width),
                 static_cast<std::size_t>(features.height), original_size);
    const std::size_t pixels = static_cast<std::size_t>(features.width) * features.height;
    Bytes rgba(pixels * 4);
    if (WebPDecodeRGBAInto(file.data(), file.size(), rgba.data(), rgba.size(),
                           features.width * 4) == nullptr) {
      throw CorruptDataError("webp: corrupt VP8L bitstream");
    }
    Bytes out(pixels);
    for (std::size_t i = 0; i < pixels; ++i) {
      const std::uint8_t* p = &rgba[4 * i];
      if (p[0] != p[1] || p[1] != p[2] || p[3] != 255) {
        throw CorruptDataError("webp: pixel " + std::to_string(i) + " is not opaque gray");
      }
      out[i] = p[0];
    }
    return out;
  }

 private:
  int method_;
  int quality_;
};

}  // namespace

CompressorKind webp_kind() {
  return {
      .name = "webp",
      .summary =
          "libwebp: WebP lossless, bytes as a gray image (png's shape), method 6, "
          "quality 100, bare VP8L bitstream",
      .options = {{"method", OptionType::Integer, 6, "effort, 0 (fastest) to 6 (smallest)"},
                  {"quality", OptionType::Integer, 100,
                   "lossless effort within a method, 0 to 100 (100: smallest)"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<WebpCompressor>(
            stream_util::integer_in_range(options, "method", 0, 6),
            stream_util::integer_in_range(options, "quality", 0, 100));
      },
  };
}

}  // namespace lmc
