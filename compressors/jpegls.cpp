// JPEG-LS lossless through CharLS: the bytes as one 8-bit gray image of the paper's shape
// (compressors/gray_image.h), NEAR = 0, the standard's default coding parameters, no optional
// segments (no SPIFF header, no preset-parameter LSE segment, no version comment): the stream is
// SOI, SOF55, SOS, the scan and EOI (docs/PROTOCOL.md section 3).
#include <charls/charls.h>

#include <algorithm>
#include <string>

#include "common/error.h"
#include "compressors/gray_image.h"

namespace lmc {

namespace {

// JPEG-LS stores each side in 16 bits unless an LSE segment widens it; CharLS writes one then.
constexpr std::size_t kMaxSide = 65535;

class JpeglsCompressor final : public gray_image::GrayImageCompressor {
 public:
  JpeglsCompressor() : GrayImageCompressor("jpegls", kMaxSide, gray_image::kMaxStreamPixels) {}

  nlohmann::json settings() const override {
    return {{"library", "CharLS"},
            {"library_version", charls_get_version_string()},
            {"image", "8-bit grayscale, width x height = closest factors of the length"},
            {"near_lossless", 0},
            {"coding_parameters", "the standard's defaults (T1, T2, T3, RESET = 3, 7, 21, 64)"},
            {"encoding_options", "none (no SPIFF header, no LSE segment, no comment)"}};
  }

 protected:
  Bytes encode(ByteView pixels, gray_image::Shape shape, Counters&) const override {
    // CharLS's size estimate can fall short on noise (text and random bytes as pixels): retry
    // with twice the space.
    std::size_t capacity = 0;
    for (int attempt = 0; attempt < 4; ++attempt) {
      try {
        charls::jpegls_encoder encoder;
        encoder
            .frame_info({static_cast<std::uint32_t>(shape.width),
                         static_cast<std::uint32_t>(shape.height), 8, 1})
            .near_lossless(0)
            .encoding_options(charls::encoding_options::none);
        capacity = std::max(capacity * 2, encoder.estimated_destination_size());
        Bytes out(capacity);
        encoder.destination(out);
        out.resize(encoder.encode(pixels.data(), pixels.size()));
        return out;
      } catch (const charls::jpegls_error& error) {
        if (error.code() != charls::jpegls_errc::destination_buffer_too_small) {
          throw std::runtime_error(std::string("jpegls: CharLS failed to encode: ") + error.what());
        }
      }
    }
    throw std::runtime_error("jpegls: CharLS needs more than " + std::to_string(capacity) +
                             " bytes for " + std::to_string(pixels.size()) + " pixels");
  }

  Bytes decode(ByteView compressed, std::size_t original_size) const override {
    // CharLS 2.4 takes seconds to give up on a scan that runs off the end of its buffer (5 s for
    // a truncated 2048-pixel stream); a scan ends at a marker, so a stream must end with EOI.
    // Bit stuffing keeps FF D9 out of scan data: this also rejects trailing bytes.
    if (compressed.size() < 2 || compressed[compressed.size() - 2] != 0xff ||
        compressed.back() != 0xd9) {
      throw CorruptDataError("jpegls: stream does not end with the EOI marker (truncated?)");
    }
    try {
      charls::jpegls_decoder decoder;
      decoder.source(compressed.data(), compressed.size());
      decoder.read_spiff_header();
      decoder.read_header();
      const charls::frame_info frame = decoder.frame_info();
      if (frame.bits_per_sample != 8 || frame.component_count != 1) {
        throw CorruptDataError("jpegls: not an 8-bit single-component image (" +
                               std::to_string(frame.bits_per_sample) + " bits, " +
                               std::to_string(frame.component_count) + " components)");
      }
      if (decoder.near_lossless() != 0) throw CorruptDataError("jpegls: near-lossless stream");
      check_header(frame.width, frame.height, original_size);
      Bytes out(std::size_t{frame.width} * frame.height);
      decoder.decode(out.data(), out.size());
      return out;
    } catch (const charls::jpegls_error& error) {
      throw CorruptDataError(std::string("jpegls: ") + error.what());
    }
  }
};

}  // namespace

CompressorKind jpegls_kind() {
  return {
      .name = "jpegls",
      .summary = "CharLS: JPEG-LS lossless (NEAR 0), bytes as an 8-bit gray image (png's shape)",
      .options = {},
      .make = [](const Options&, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<JpeglsCompressor>();
      },
  };
}

}  // namespace lmc
