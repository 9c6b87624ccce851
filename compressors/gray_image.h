// What the image codecs (png, jxl, webp, jpegls, jpeg2000) share: the paper's image shape for a
// run of bytes (docs/PROTOCOL.md section 3) and the frame every gray-image codec fills in.
//
// A chunk of N bytes becomes one 8-bit grayscale image whose width x height are the two closest
// factors of N, width <= height: a 2048-byte ImageNet tile (64 wide, 32 tall) is re-wrapped into
// 32 x 64, as the paper's PNG column does it. Unchunked, the whole stream is one such image.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/error.h"
#include "compressors/compressor.h"

namespace lmc::gray_image {

struct Shape {
  std::size_t width = 0;
  std::size_t height = 0;
  std::size_t pixels() const { return width * height; }
};

// The two closest factors of `length`, the smaller one as the width: 2048 -> 32 x 64, a prime
// p -> 1 x p. InputError when the image is empty or a side exceeds the codec's limit.
inline Shape shape_for(std::size_t length, std::string_view codec, std::size_t max_side) {
  if (length == 0) {
    throw InputError(std::string(codec) +
                     ": cannot encode 0 bytes (an image needs at least one pixel)");
  }
  std::size_t width = 1;
  for (std::size_t w = 1; w * w <= length; ++w) {
    if (length % w == 0) width = w;
  }
  const Shape shape{width, length / width};
  if (shape.height > max_side) {
    throw InputError(std::string(codec) + ": " + std::to_string(length) +
                     " bytes have no factorisation into an image of at most " +
                     std::to_string(max_side) + " pixels a side (closest factors " +
                     std::to_string(shape.width) + " x " + std::to_string(shape.height) + ")");
  }
  return shape;
}

// A lossless gray-image codec: the bytes become one image of shape_for(size) and back. The
// decoder sees the original size only in the chunked mode (0 when unknown); a decoded image of
// another size, or one larger than max_pixels when the size is unknown, is corrupt data, checked
// from the header before any pixel buffer is allocated.
class GrayImageCompressor : public Compressor {
 public:
  GrayImageCompressor(std::string name, std::size_t max_side, std::size_t max_pixels)
      : name_(std::move(name)), max_side_(max_side), max_pixels_(max_pixels) {}

  Bytes compress(ByteView data, Counters& counters) const final {
    const Shape shape = shape_for(data.size(), name_, max_side_);
    if (shape.pixels() > max_pixels_) {
      throw InputError(name_ + ": " + std::to_string(data.size()) +
                       " bytes exceed the largest image this codec decodes (" +
                       std::to_string(max_pixels_) + " pixels)");
    }
    return encode(data, shape, counters);
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const final {
    return decode(compressed, original_size);
  }

 protected:
  virtual Bytes encode(ByteView pixels, Shape shape, Counters& counters) const = 0;
  virtual Bytes decode(ByteView compressed, std::size_t original_size) const = 0;

  // Call from decode() with the header's dimensions, before allocating the pixels.
  void check_header(std::size_t width, std::size_t height, std::size_t original_size) const {
    const std::size_t pixels = width * height;
    const std::string claimed =
        name_ + ": image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels";
    if (width == 0 || height == 0 || pixels / height != width) {
      throw CorruptDataError(claimed);
    }
    if (original_size != 0 && pixels != original_size) {
      throw CorruptDataError(claimed + ", expected " + std::to_string(original_size) + " bytes");
    }
    if (pixels > max_pixels_) {
      throw CorruptDataError(claimed + " exceeds the limit of " + std::to_string(max_pixels_));
    }
  }

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::size_t max_side_;
  std::size_t max_pixels_;
};

// The largest image the new gray-image codecs decode when the size is unknown (the unchunked
// stream): 64 Mi pixels, i.e. 32,768 chunks of 2048 bytes in one "whole" image.
inline constexpr std::size_t kMaxStreamPixels = std::size_t{1} << 26;

}  // namespace lmc::gray_image
