// PNG as the paper ran it (docs/PROTOCOL.md section 3): the bytes become one 8-bit grayscale image
// whose width x height are the two closest factors of the length (width <= height), written by
// libpng with zlib level 9 and a per-row adaptive filter.
//
// libpng reports errors by longjmp. Every libpng call that can fail runs inside a small
// "guarded" function whose frame holds only trivially destructible objects, so the longjmp
// skips no destructor; the guarded function returns false and its C++ caller throws. The
// png_struct/png_info pair is owned by an RAII handle created outside those frames.
#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "common/error.h"
#include "compressors/compressor.h"

namespace lmc {

namespace {

constexpr int kZlibLevel = 9;
// Z_FILTERED, as both libpng (its default for filtered rows) and Pillow (whose PNGs gave the
// data README's reference numbers) use: it matches Pillow's output size exactly, while the
// default strategy costs ~30 bytes more per 2048-byte chunk of speech.
constexpr int kZlibStrategy = Z_FILTERED;
// PNG's own limit on either dimension (libpng's default user limit of 10^6 is lifted).
constexpr png_uint_32 kMaxDimension = 0x7fffffff;

struct ImageShape {
  png_uint_32 width;
  png_uint_32 height;
};

// The two closest factors of `length`, the smaller one as the width: 2048 -> 32 x 64, a prime
// p -> 1 x p.
ImageShape shape_for(std::size_t length) {
  std::size_t width = 1;
  for (std::size_t w = 1; w * w <= length; ++w) {
    if (length % w == 0) width = w;
  }
  const std::size_t height = length / width;
  if (height > kMaxDimension) {
    throw InputError("png: " + std::to_string(length) +
                     " bytes have no factorisation into a PNG image (height " +
                     std::to_string(height) + " exceeds 2^31-1)");
  }
  return {static_cast<png_uint_32>(width), static_cast<png_uint_32>(height)};
}

// Where libpng's error text goes before it longjmps back to the guarded frame.
struct ErrorSlot {
  char message[256] = {};
};

[[noreturn]] void record_error_and_jump(png_structp png, png_const_charp message) {
  auto* slot = static_cast<ErrorSlot*>(png_get_error_ptr(png));
  std::snprintf(slot->message, sizeof slot->message, "%s", message);
  png_longjmp(png, 1);
}

void ignore_warning(png_structp, png_const_charp) {}

// Owns a png_struct and its png_info for reading or writing.
class PngHandle {
 public:
  enum class Mode { Read, Write };

  explicit PngHandle(Mode mode) : mode_(mode) {
    png_ = mode == Mode::Write ? png_create_write_struct(PNG_LIBPNG_VER_STRING, &error_,
                                                         record_error_and_jump, ignore_warning)
                               : png_create_read_struct(PNG_LIBPNG_VER_STRING, &error_,
                                                        record_error_and_jump, ignore_warning);
    if (png_ != nullptr) info_ = png_create_info_struct(png_);
    if (png_ == nullptr || info_ == nullptr) {
      release();
      throw std::bad_alloc();
    }
  }
  ~PngHandle() { release(); }
  PngHandle(const PngHandle&) = delete;
  PngHandle& operator=(const PngHandle&) = delete;

  png_structp png() const { return png_; }
  png_infop info() const { return info_; }
  std::string error() const { return error_.message; }

 private:
  void release() {
    if (mode_ == Mode::Write) {
      png_destroy_write_struct(&png_, &info_);
    } else {
      png_destroy_read_struct(&png_, &info_, nullptr);
    }
  }

  Mode mode_;
  ErrorSlot error_;
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

// --- writing ---

void append_to_bytes(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  bool appended = true;
  try {
    out->insert(out->end(), data, data + size);
  } catch (...) {  // no exception may cross libpng's C frames
    appended = false;
  }
  if (!appended) png_error(png, "out of memory while writing the PNG");
}

void flush_nothing(png_structp) {}

// Guarded: libpng may longjmp back here. Only trivially destructible locals.
bool write_png_guarded(png_structp png, png_infop info, const std::uint8_t* pixels,
                       ImageShape shape, Bytes* out) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, out, append_to_bytes, flush_nothing);
  png_set_user_limits(png, kMaxDimension, kMaxDimension);
  png_set_compression_level(png, kZlibLevel);
  png_set_compression_strategy(png, kZlibStrategy);
  // libpng picks per row the filter with the minimum sum of absolute residuals (each residual
  // byte read as signed), ties going to the earlier of None, Sub, Up, Average, Paeth.
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_ALL_FILTERS);
  png_set_IHDR(png, info, shape.width, shape.height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
  png_write_info(png, info);
  for (png_uint_32 row = 0; row < shape.height; ++row) {
    png_write_row(png, pixels + std::size_t{row} * shape.width);
  }
  png_write_end(png, info);
  return true;
}

// --- reading ---

struct MemoryReader {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t position;
};

void read_from_memory(png_structp png, png_bytep into, png_size_t size) {
  auto* reader = static_cast<MemoryReader*>(png_get_io_ptr(png));
  if (size > reader->size - reader->position) png_error(png, "truncated PNG stream");
  std::memcpy(into, reader->data + reader->position, size);
  reader->position += size;
}

struct Header {
  png_uint_32 width;
  png_uint_32 height;
  int bit_depth;
  int color_type;
  int interlace;
};

// Guarded: libpng may longjmp back here.
bool read_header_guarded(png_structp png, png_infop info, MemoryReader* reader, Header* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, reader, read_from_memory);
  png_set_user_limits(png, kMaxDimension, kMaxDimension);
  // Strict: what libpng would only warn about ("too much image data") is corruption here.
  png_set_benign_errors(png, 0);
  png_read_info(png, info);
  png_get_IHDR(png, info, &header->width, &header->height, &header->bit_depth, &header->color_type,
               &header->interlace, nullptr, nullptr);
  return true;
}

// Guarded: libpng may longjmp back here.
bool read_pixels_guarded(png_structp png, png_infop info, Header header, std::uint8_t* pixels) {
  if (setjmp(png_jmpbuf(png))) return false;
  for (png_uint_32 row = 0; row < header.height; ++row) {
    png_read_row(png, pixels + std::size_t{row} * header.width, nullptr);
  }
  png_read_end(png, info);
  return true;
}

// Deflate expands nothing by more than ~1032:1, so a header claiming more pixels than that
// is corrupt; checking it first keeps garbage from allocating gigabytes.
constexpr std::size_t kMaxInflateRatio = 1032;

class PngCompressor final : public Compressor {
 public:
  Bytes compress(ByteView data, Counters&) const override {
    if (data.empty()) {
      // A PNG image has at least one pixel; the harness never produces empty chunks.
      throw InputError("png: cannot encode 0 bytes (a PNG image needs at least one pixel)");
    }
    const ImageShape shape = shape_for(data.size());
    PngHandle handle(PngHandle::Mode::Write);
    Bytes out;
    out.reserve(data.size() + data.size() / 64 + 128);
    if (!write_png_guarded(handle.png(), handle.info(), data.data(), shape, &out)) {
      throw std::runtime_error("png: libpng failed to encode " + std::to_string(data.size()) +
                               " bytes: " + handle.error());
    }
    return out;
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    PngHandle handle(PngHandle::Mode::Read);
    MemoryReader reader{compressed.data(), compressed.size(), 0};
    Header header{};
    if (!read_header_guarded(handle.png(), handle.info(), &reader, &header)) {
      throw CorruptDataError("png: unreadable PNG header: " + handle.error());
    }
    if (header.bit_depth != 8 || header.color_type != PNG_COLOR_TYPE_GRAY ||
        header.interlace != PNG_INTERLACE_NONE) {
      throw CorruptDataError("png: not an 8-bit non-interlaced grayscale image (bit depth " +
                             std::to_string(header.bit_depth) + ", color type " +
                             std::to_string(header.color_type) + ")");
    }
    const std::size_t pixels = std::size_t{header.width} * header.height;
    if (original_size != 0 && pixels != original_size) {
      throw CorruptDataError("png: image of " + std::to_string(header.width) + "x" +
                             std::to_string(header.height) + " pixels, expected " +
                             std::to_string(original_size) + " bytes");
    }
    if (pixels > kMaxInflateRatio * compressed.size()) {
      throw CorruptDataError("png: header claims " + std::to_string(pixels) + " pixels in " +
                             std::to_string(compressed.size()) + " bytes");
    }
    Bytes out(pixels);
    if (!read_pixels_guarded(handle.png(), handle.info(), header, out.data())) {
      throw CorruptDataError("png: corrupt image data: " + handle.error());
    }
    return out;
  }

  nlohmann::json settings() const override {
    return {
        {"library", "libpng"},
        {"libpng_version", png_get_libpng_ver(nullptr)},
        {"zlib_version", zlibVersion()},
        {"image",
         "8-bit grayscale, width x height = closest factors of the length, width <= "
         "height"},
        {"zlib_level", kZlibLevel},
        {"zlib_strategy", "Z_FILTERED"},
        {"filter",
         "adaptive per row: minimum sum of absolute residuals over "
         "None/Sub/Up/Average/Paeth (libpng PNG_ALL_FILTERS)"},
        {"empty_input", "rejected (InputError)"},
    };
  }
};

}  // namespace

CompressorKind png_kind() {
  return {
      .name = "png",
      .summary = "libpng: bytes as an 8-bit grayscale image, zlib level 9, adaptive filters",
      .options = {},
      .make = [](const Options&, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<PngCompressor>();
      },
  };
}

}  // namespace lmc
