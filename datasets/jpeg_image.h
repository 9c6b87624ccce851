// JPEG decoding as Pillow does it, `Image.open(path).convert("RGB")`, with the library Pillow
// links (libjpeg-turbo): the paper's authors read ImageNet through Pillow, so their tiles, and the
// rates computed on them, come from these pixels (docs/PROTOCOL.md section 2).
#pragma once

#include <csetjmp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

// After <cstdio>: jpeglib.h uses FILE and size_t without declaring them.
// clang-format off
#include <jpeglib.h>
// clang-format on

#include "common/bytes.h"

namespace lmc {

// "2.1.5": the libjpeg-turbo built against (the library has no call that names its version).
std::string libjpeg_turbo_version();

// Interleaved 8-bit pixels, row-major.
struct DecodedJpeg {
  int width = 0;
  int height = 0;
  int channels = 0;  // 1 (gray) or 3 (R, G, B)
  Bytes pixels;
};

// Where libjpeg's fatal error handler leaves its message and jumps back to (jpeg_image.cpp).
struct JpegErrorManager {
  jpeg_error_mgr library;  // first, so libjpeg's pointer to it points to the whole
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool end_of_file_tolerated = false;  // once every line is read: Pillow accepts a missing EOI
};

// One JPEG, its header read on construction, its pixels on decode(). Every libjpeg error, and a
// file that ends before its last scan line, throws InputError("<error_prefix>: <what libjpeg
// said>"); the warnings libjpeg recovers from are ignored, as Pillow ignores them.
class JpegReader {
 public:
  // `file` must outlive the reader.
  JpegReader(ByteView file, std::string error_prefix);
  // Reads the file only as far as its header needs (up to the first scan).
  JpegReader(const std::filesystem::path& path, std::string error_prefix);
  ~JpegReader();
  JpegReader(const JpegReader&) = delete;
  JpegReader& operator=(const JpegReader&) = delete;

  int width() const { return static_cast<int>(decompress_.image_width); }
  int height() const { return static_cast<int>(decompress_.image_height); }

  // Pillow's pixels: gray for a 1-component JPEG, R, G, B otherwise (a 4-component CMYK or YCCK
  // JPEG goes through Pillow's CMYK to RGB formula). Once per reader.
  DecodedJpeg decode();

 private:
  explicit JpegReader(std::string error_prefix);
  void read_header();
  [[noreturn]] void fail() const;

  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };

  std::string error_prefix_;
  JpegErrorManager errors_{};
  jpeg_decompress_struct decompress_{};
  std::unique_ptr<std::FILE, FileCloser> file_;
  bool decoded_ = false;
};

}  // namespace lmc
