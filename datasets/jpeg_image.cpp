// libjpeg reports a fatal error by calling error_exit, which must not return; its default prints
// and calls exit(). Ours formats the message and longjmps back to the setjmp of the one library
// call in progress (returns_normally), which turns it into an InputError.
#include "datasets/jpeg_image.h"

#include <jerror.h>

#include <stdexcept>
#include <utility>

#include "common/error.h"

namespace lmc {

namespace {

[[noreturn]] void jump_back(j_common_ptr decompress) {
  auto* errors = reinterpret_cast<JpegErrorManager*>(decompress->err);
  (*errors->library.format_message)(decompress, errors->message);
  std::longjmp(errors->jump, 1);
}

// Pillow's decoder ignores the warnings of data libjpeg recovers from (extraneous bytes, an
// entropy segment that ends early): the pixels are libjpeg's either way. A file that ends before
// its last scan line is an error in Pillow ("image file is truncated"); after it, not.
void on_message(j_common_ptr decompress, int level) {
  const auto* errors = reinterpret_cast<const JpegErrorManager*>(decompress->err);
  if (level < 0 && errors->library.msg_code == JWRN_JPEG_EOF && !errors->end_of_file_tolerated) {
    jump_back(decompress);
  }
}

// Runs one libjpeg call; false when libjpeg reported a fatal error. The longjmp lands here and
// crosses only libjpeg's frames and `call`'s, which hold no object with a destructor: the jump
// skips nothing a throw would have run ([csetjmp.syn]).
template <typename Call>
bool returns_normally(JpegErrorManager& errors, const Call& call) {
  if (setjmp(errors.jump) != 0) return false;
  call();
  return true;
}

// (a * b) / 255 rounded, as Pillow's MULDIV255 computes it.
std::uint8_t muldiv255(unsigned a, unsigned b) {
  const unsigned t = a * b + 128;
  return static_cast<std::uint8_t>(((t >> 8) + t) >> 8);
}

// Pillow reads every 4-component JPEG as Adobe writes CMYK, inverted (raw mode "CMYK;I": C is
// 255 - what libjpeg delivers, and so on); convert("RGB") then makes each of R, G, B (255 - K)
// less the ink's share of it, (255 - K) * C / 255.
Bytes pillow_rgb_of_adobe_cmyk(ByteView adobe) {
  Bytes rgb(adobe.size() / 4 * 3);
  for (std::size_t i = 0, o = 0; i + 4 <= adobe.size(); i += 4, o += 3) {
    const unsigned not_black = adobe[i + 3];  // 255 - K
    for (std::size_t c = 0; c < 3; ++c) {
      const unsigned ink = 255u - adobe[i + c];
      rgb[o + c] = static_cast<std::uint8_t>(not_black - muldiv255(ink, not_black));
    }
  }
  return rgb;
}

}  // namespace

std::string libjpeg_turbo_version() {
  constexpr int n = LIBJPEG_TURBO_VERSION_NUMBER;  // jconfig.h: 2001005 for 2.1.5
  return std::to_string(n / 1000000) + "." + std::to_string(n / 1000 % 1000) + "." +
         std::to_string(n % 1000);
}

JpegReader::JpegReader(std::string error_prefix) : error_prefix_(std::move(error_prefix)) {
  decompress_.err = jpeg_std_error(&errors_.library);
  errors_.library.error_exit = jump_back;
  errors_.library.emit_message = on_message;
  if (!returns_normally(errors_, [this] { jpeg_create_decompress(&decompress_); })) {
    jpeg_destroy_decompress(&decompress_);  // the destructor does not run for a failed constructor
    fail();
  }
}

JpegReader::JpegReader(ByteView file, std::string error_prefix)
    : JpegReader(std::move(error_prefix)) {
  if (!returns_normally(errors_, [&] { jpeg_mem_src(&decompress_, file.data(), file.size()); })) {
    fail();
  }
  read_header();
}

JpegReader::JpegReader(const std::filesystem::path& path, std::string error_prefix)
    : JpegReader(std::move(error_prefix)) {
  file_.reset(std::fopen(path.c_str(), "rb"));
  if (!file_) throw InputError(error_prefix_ + ": cannot open the file");
  if (!returns_normally(errors_, [this] { jpeg_stdio_src(&decompress_, file_.get()); })) fail();
  read_header();
}

JpegReader::~JpegReader() { jpeg_destroy_decompress(&decompress_); }

void JpegReader::read_header() {
  if (!returns_normally(errors_, [this] { jpeg_read_header(&decompress_, TRUE); })) fail();
  // Pillow opens these three only ("cannot handle N-layer images").
  const int components = decompress_.num_components;
  if (components != 1 && components != 3 && components != 4) {
    throw InputError(error_prefix_ + ": a JPEG of " + std::to_string(components) +
                     " components (gray, 3-component colour and CMYK are read)");
  }
}

DecodedJpeg JpegReader::decode() {
  if (decoded_) throw std::logic_error("JpegReader::decode: once per reader");
  decoded_ = true;
  // What Pillow's decoder asks of libjpeg: the colour space of the image's mode (L, RGB, or CMYK
  // for 4 components; libjpeg converts YCbCr and YCCK to them), and, unless Image.draft() was
  // called, libjpeg's defaults of the accurate integer DCT and fancy upsampling: set here too, so
  // that no change of default can move a pixel.
  const int components = decompress_.num_components;
  decompress_.out_color_space = components == 1   ? JCS_GRAYSCALE
                                : components == 3 ? JCS_RGB
                                                  : JCS_CMYK;
  decompress_.dct_method = JDCT_ISLOW;
  decompress_.do_fancy_upsampling = TRUE;
  if (!returns_normally(errors_, [this] { jpeg_start_decompress(&decompress_); })) fail();

  const std::size_t stride = std::size_t{decompress_.output_width} *
                             static_cast<std::size_t>(decompress_.output_components);
  Bytes pixels(stride * decompress_.output_height);
  while (decompress_.output_scanline < decompress_.output_height) {
    JSAMPROW row = pixels.data() + decompress_.output_scanline * stride;
    JDIMENSION rows = 0;
    if (!returns_normally(errors_, [&] { rows = jpeg_read_scanlines(&decompress_, &row, 1); })) {
      fail();
    }
    if (rows != 1) throw std::logic_error("JpegReader: libjpeg suspended on a complete source");
  }
  // Pillow finishes the decompression too (its errors are errors), but accepts a file whose end
  // comes before the EOI marker once every line has been read.
  errors_.end_of_file_tolerated = true;
  if (!returns_normally(errors_, [this] { jpeg_finish_decompress(&decompress_); })) fail();

  DecodedJpeg image{width(), height(), components == 1 ? 1 : 3, {}};
  image.pixels = components == 4 ? pillow_rgb_of_adobe_cmyk(pixels) : std::move(pixels);
  return image;
}

void JpegReader::fail() const { throw InputError(error_prefix_ + ": " + errors_.message); }

}  // namespace lmc
