// JPEG XL lossless through libjxl: the bytes as one 8-bit gray image of the paper's shape
// (compressors/gray_image.h), modular mode, effort 9 by default. The stored stream is the naked
// JPEG XL codestream, not the ISOBMFF container (docs/PROTOCOL.md section 3).
#include <jxl/decode.h>
#include <jxl/decode_cxx.h>
#include <jxl/encode.h>
#include <jxl/encode_cxx.h>

#include <algorithm>
#include <string>

#include "common/error.h"
#include "compressors/gray_image.h"
#include "compressors/stream_util.h"

namespace lmc {

namespace {

// Codestream level 5 allows 2^18 pixels a side; the pixel limit is the harness's own.
constexpr std::size_t kMaxSide = std::size_t{1} << 18;
// libjxl 0.7 aborts (an assertion in enc_ans.cc: "n <= 255") on some images of 1-6 pixels at
// efforts 8 and 9; measured safe from 7 pixels on (2,048-byte chunks: none in 150 random, stepped
// and smooth tiles). Images under kTinyImage pixels are encoded at effort 7 at most.
constexpr std::size_t kTinyImage = 64;
constexpr int kTinyImageEffort = 7;
constexpr JxlPixelFormat kGray8 = {1, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};

std::string version_text(std::uint32_t version) {
  return std::to_string(version / 1000000) + "." + std::to_string(version / 1000 % 1000) + "." +
         std::to_string(version % 1000);
}

class JxlCompressor final : public gray_image::GrayImageCompressor {
 public:
  explicit JxlCompressor(int effort)
      : GrayImageCompressor("jxl", kMaxSide, gray_image::kMaxStreamPixels), effort_(effort) {}

  nlohmann::json settings() const override {
    return {{"library", "libjxl"},
            {"encoder_version", version_text(JxlEncoderVersion())},
            {"decoder_version", version_text(JxlDecoderVersion())},
            {"image", "8-bit grayscale, width x height = closest factors of the length"},
            {"mode", "lossless (modular), uses_original_profile"},
            {"effort", effort_},
            {"effort_tiny_images",
             "min(effort, 7) under 64 pixels (libjxl 0.7 aborts on some "
             "1-6 pixel images at efforts 8-9)"},
            {"stored_stream", "naked codestream (no ISOBMFF container)"},
            {"threads", 1}};
  }

 protected:
  Bytes encode(ByteView pixels, gray_image::Shape shape, Counters&) const override {
    const JxlEncoderPtr encoder = JxlEncoderMake(nullptr);
    if (!encoder) throw std::bad_alloc();
    JxlEncoder* enc = encoder.get();
    check(JxlEncoderUseContainer(enc, JXL_FALSE), "JxlEncoderUseContainer");
    JxlBasicInfo info;
    JxlEncoderInitBasicInfo(&info);
    info.xsize = static_cast<std::uint32_t>(shape.width);
    info.ysize = static_cast<std::uint32_t>(shape.height);
    info.bits_per_sample = 8;
    info.num_color_channels = 1;
    info.uses_original_profile = JXL_TRUE;  // required for lossless
    check(JxlEncoderSetBasicInfo(enc, &info), "JxlEncoderSetBasicInfo");
    JxlColorEncoding color;
    JxlColorEncodingSetToSRGB(&color, /*is_gray=*/JXL_TRUE);
    check(JxlEncoderSetColorEncoding(enc, &color), "JxlEncoderSetColorEncoding");
    JxlEncoderFrameSettings* frame = JxlEncoderFrameSettingsCreate(enc, nullptr);
    if (frame == nullptr) throw std::runtime_error("jxl: JxlEncoderFrameSettingsCreate failed");
    check(JxlEncoderSetFrameLossless(frame, JXL_TRUE), "JxlEncoderSetFrameLossless");
    const int effort = shape.pixels() < kTinyImage ? std::min(effort_, kTinyImageEffort) : effort_;
    check(JxlEncoderFrameSettingsSetOption(frame, JXL_ENC_FRAME_SETTING_EFFORT, effort), "effort");
    check(JxlEncoderAddImageFrame(frame, &kGray8, pixels.data(), pixels.size()),
          "JxlEncoderAddImageFrame");
    JxlEncoderCloseInput(enc);

    Bytes out(pixels.size() / 2 + 256);
    std::size_t used = 0;
    for (;;) {
      std::uint8_t* next = out.data() + used;
      std::size_t avail = out.size() - used;
      const JxlEncoderStatus status = JxlEncoderProcessOutput(enc, &next, &avail);
      used = out.size() - avail;
      if (status == JXL_ENC_SUCCESS) break;
      if (status != JXL_ENC_NEED_MORE_OUTPUT) check(status, "JxlEncoderProcessOutput");
      out.resize(out.size() * 2);
    }
    out.resize(used);
    return out;
  }

  Bytes decode(ByteView compressed, std::size_t original_size) const override {
    const JxlDecoderPtr decoder = JxlDecoderMake(nullptr);
    if (!decoder) throw std::bad_alloc();
    JxlDecoder* dec = decoder.get();
    if (JxlDecoderSubscribeEvents(dec, JXL_DEC_BASIC_INFO | JXL_DEC_FULL_IMAGE) !=
            JXL_DEC_SUCCESS ||
        JxlDecoderSetInput(dec, compressed.data(), compressed.size()) != JXL_DEC_SUCCESS) {
      throw std::runtime_error("jxl: cannot set up the decoder");
    }
    JxlDecoderCloseInput(dec);
    Bytes out;
    bool have_image = false;
    for (;;) {
      const JxlDecoderStatus status = JxlDecoderProcessInput(dec);
      switch (status) {
        case JXL_DEC_BASIC_INFO: {
          JxlBasicInfo info;
          if (JxlDecoderGetBasicInfo(dec, &info) != JXL_DEC_SUCCESS) corrupt("no basic info");
          if (info.num_color_channels != 1 || info.bits_per_sample != 8 ||
              info.num_extra_channels != 0 || info.have_animation) {
            corrupt("not a single 8-bit gray frame");
          }
          check_header(info.xsize, info.ysize, original_size);
          out.resize(std::size_t{info.xsize} * info.ysize);
          break;
        }
        case JXL_DEC_NEED_IMAGE_OUT_BUFFER:
          if (out.empty() || JxlDecoderSetImageOutBuffer(dec, &kGray8, out.data(), out.size()) !=
                                 JXL_DEC_SUCCESS) {
            corrupt("unexpected image buffer request");
          }
          break;
        case JXL_DEC_FULL_IMAGE:
          if (have_image) corrupt("more than one frame");
          have_image = true;
          break;
        case JXL_DEC_SUCCESS: {
          if (!have_image) corrupt("no image");
          const std::size_t left = JxlDecoderReleaseInput(dec);
          if (left != 0) corrupt(std::to_string(left) + " bytes after the codestream");
          return out;
        }
        case JXL_DEC_NEED_MORE_INPUT:
          corrupt("truncated codestream");
        default:
          corrupt("decoder error (status " + std::to_string(static_cast<int>(status)) + ")");
      }
    }
  }

 private:
  static void check(JxlEncoderStatus status, const char* what) {
    if (status != JXL_ENC_SUCCESS) {
      throw std::runtime_error(std::string("jxl: ") + what + " failed");
    }
  }
  [[noreturn]] static void corrupt(const std::string& what) {
    throw CorruptDataError("jxl: " + what);
  }

  int effort_;
};

}  // namespace

CompressorKind jxl_kind() {
  return {
      .name = "jxl",
      .summary =
          "libjxl: JPEG XL lossless, bytes as an 8-bit gray image (png's shape), effort 9, "
          "naked codestream",
      .options = {{"effort", OptionType::Integer, 9,
                   "encoder effort, 1 (fastest) to 9 (slowest, smallest)"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<JxlCompressor>(
            stream_util::integer_in_range(options, "effort", 1, 9));
      },
  };
}

}  // namespace lmc
