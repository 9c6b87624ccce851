// imagenet: a folder tree of JPEG/PNG images, each turned into gray 32x64 tiles (docs/PROTOCOL.md
// section 2). Gray is the plain mean of R, G and B truncated to uint8, as the paper did, not luma
// weights. Tiles are cut in raster order and partial edge tiles are dropped, so an image of
// W x H pixels gives floor(H / 32) * floor(W / 64) chunks, known from its header alone. JPEGs are
// decoded as Pillow decodes them (datasets/jpeg_image.h), PNGs by stb_image.
#include <stb_image.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/bytes.h"
#include "common/error.h"
#include "datasets/corpus_files.h"
#include "datasets/dataset.h"
#include "datasets/jpeg_image.h"

namespace lmc {

namespace {

constexpr std::string_view kImageExtensions[] = {".jpeg", ".jpg", ".png"};
constexpr std::size_t kTileColumns = 64;
constexpr std::string_view kHowToGet =
    "get ILSVRC2012 (ILSVRC2012_img_val.tar or _train.tar) from image-net.org and extract it so "
    "that <path>/<wnid>/*.JPEG exist";

struct ImageSize {
  int width = 0;
  int height = 0;
};

// Which library decodes JPEG files (option "jpeg_decoder"); PNG is stb_image's either way.
enum class JpegDecoder { LibjpegTurbo, StbImage };
constexpr std::string_view kLibjpegTurbo = "libjpeg-turbo";
constexpr std::string_view kStbImage = "stb_image";

struct ImageCatalog {
  std::string key;  // "datasets[1].path", for errors while reading
  std::string folder;
  std::vector<CorpusFile> files;
  std::vector<ImageSize> sizes;
  FileChunkIndex tiles;
  std::size_t tile_rows = 0;
  std::size_t chunk_size = 0;
  JpegDecoder jpeg_decoder = JpegDecoder::LibjpegTurbo;
};

struct StbiFree {
  void operator()(stbi_uc* pixels) const { stbi_image_free(pixels); }
};
using StbiPixels = std::unique_ptr<stbi_uc, StbiFree>;

// The decoders deliver 1 (gray), 2 (gray, alpha), 3 (RGB) or 4 (RGBA) interleaved channels;
// stb_image reduces 16-bit PNGs to 8 bits.
Bytes to_gray(const std::uint8_t* pixels, std::size_t count, int channels) {
  Bytes gray(count);
  const auto stride = static_cast<std::size_t>(channels);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* p = pixels + i * stride;
    gray[i] = channels >= 3 ? static_cast<std::uint8_t>((p[0] + p[1] + p[2]) / 3) : p[0];
  }
  return gray;
}

enum class ImageFormat { Png, Jpeg };

// stb_image decodes whatever format it recognises in the bytes (GIF, PSD, TGA, ...), whatever
// the file's name: only the two formats this corpus holds get that far, each to its decoder.
ImageFormat image_format(ByteView head, const std::filesystem::path& path, const std::string& key) {
  constexpr std::uint8_t kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  constexpr std::uint8_t kJpeg[] = {0xff, 0xd8, 0xff};
  if (head.size() >= sizeof(kPng) && std::memcmp(head.data(), kPng, sizeof(kPng)) == 0) {
    return ImageFormat::Png;
  }
  if (head.size() >= sizeof(kJpeg) && std::memcmp(head.data(), kJpeg, sizeof(kJpeg)) == 0) {
    return ImageFormat::Jpeg;
  }
  throw InputError(key + ": " + path.string() + " is neither a PNG nor a JPEG file");
}

ImageFormat image_format(const std::filesystem::path& path, const std::string& key) {
  std::uint8_t head[8] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  return image_format(ByteView(head, static_cast<std::size_t>(in.gcount())), path, key);
}

// stb_image sizes its buffer for a PNG's compressed data from the chunk lengths before it reads
// them: an IDAT chunk claiming up to 2^30 bytes in a 300-byte file became a 2 GiB allocation
// (found by the image fuzzer). Every chunk must fit in the file, so the buffer stays below twice
// the file's size.
void check_png_chunks(ByteView file, const std::filesystem::path& path, const std::string& key) {
  std::size_t offset = 8;  // after the signature
  while (offset + 8 <= file.size()) {
    const std::uint32_t length = std::uint32_t{file[offset]} << 24 |
                                 std::uint32_t{file[offset + 1]} << 16 |
                                 std::uint32_t{file[offset + 2]} << 8 | file[offset + 3];
    const std::string type(reinterpret_cast<const char*>(file.data() + offset + 4), 4);
    // length, type, data, CRC
    if (file.size() < offset + 12 || length > file.size() - offset - 12) {
      throw InputError(key + ": " + path.string() + ": damaged PNG: chunk at byte " +
                       std::to_string(offset) + " claims " + std::to_string(length) +
                       " bytes, more than the file's remaining " +
                       std::to_string(file.size() - std::min(file.size(), offset + 12)));
    }
    offset += 12 + std::size_t{length};
    if (type == "IEND") return;
  }
}

Bytes read_file(const std::filesystem::path& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(key + ": cannot open " + path.string());
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(key + ": cannot read " + path.string());
  return bytes;
}

// stb_image keeps its last error per thread; it may be unset when a file merely stops early.
std::string stbi_reason() {
  const char* reason = stbi_failure_reason();
  return reason != nullptr ? reason : "unknown stb_image error";
}

bool decoded_by_libjpeg(ImageFormat format, const ImageCatalog& catalog) {
  return format == ImageFormat::Jpeg && catalog.jpeg_decoder == JpegDecoder::LibjpegTurbo;
}

// Width and height from the header alone: counting tiles must not decode a million images.
ImageSize read_image_size(const std::filesystem::path& path, const ImageCatalog& catalog) {
  const std::string cannot_read =
      catalog.key + ": cannot read the image header of " + path.string();
  if (decoded_by_libjpeg(image_format(path, catalog.key), catalog)) {
    const JpegReader jpeg(path, cannot_read);
    return {jpeg.width(), jpeg.height()};
  }
  ImageSize size;
  int channels = 0;
  if (!stbi_info(path.c_str(), &size.width, &size.height, &channels)) {
    throw InputError(cannot_read + " (" + stbi_reason() + ")");
  }
  return size;
}

// The size in the header when the file is decoded must still be the one counted when the dataset
// was opened: a file replaced meanwhile by a larger one must not get past max_pixels.
void check_unchanged(ImageSize now, ImageSize counted, const std::filesystem::path& path,
                     const std::string& key) {
  if (now.width == counted.width && now.height == counted.height) return;
  throw InputError(key + ": " + path.string() + " is " + std::to_string(now.width) + "x" +
                   std::to_string(now.height) + " pixels but its header said " +
                   std::to_string(counted.width) + "x" + std::to_string(counted.height) +
                   " (changed since the dataset was opened?)");
}

Bytes decode_gray_with_libjpeg(ByteView file, const std::filesystem::path& path, ImageSize counted,
                               const std::string& key) {
  JpegReader jpeg(file, key + ": cannot decode " + path.string());
  check_unchanged({jpeg.width(), jpeg.height()}, counted, path, key);
  const DecodedJpeg image = jpeg.decode();
  return to_gray(image.pixels.data(), static_cast<std::size_t>(image.width) * image.height,
                 image.channels);
}

Bytes decode_gray_with_stb_image(ByteView file, ImageFormat format,
                                 const std::filesystem::path& path, ImageSize counted,
                                 const std::string& key) {
  if (format == ImageFormat::Png) check_png_chunks(file, path, key);
  if (file.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw InputError(key + ": " + path.string() + " is larger than 2 GiB");
  }
  const int length = static_cast<int>(file.size());
  ImageSize size;
  int channels = 0;
  if (!stbi_info_from_memory(file.data(), length, &size.width, &size.height, &channels)) {
    throw InputError(key + ": cannot decode " + path.string() + ": " + stbi_reason());
  }
  check_unchanged(size, counted, path, key);
  StbiPixels pixels(
      stbi_load_from_memory(file.data(), length, &size.width, &size.height, &channels, 0));
  if (!pixels) throw InputError(key + ": cannot decode " + path.string() + ": " + stbi_reason());
  return to_gray(pixels.get(), static_cast<std::size_t>(size.width) * size.height, channels);
}

class ImageTileReader : public PerFileChunkReader {
 public:
  ImageTileReader(std::shared_ptr<const ImageCatalog> catalog, std::uint64_t first)
      : PerFileChunkReader(std::shared_ptr<const FileChunkIndex>(catalog, &catalog->tiles), first),
        catalog_(std::move(catalog)) {}

 private:
  void open_file(std::size_t file, std::uint64_t /*first_tile*/) override {
    const std::filesystem::path& path = catalog_->files[file].path;
    const ImageSize counted = catalog_->sizes[file];
    const Bytes bytes = read_file(path, catalog_->key);
    const ImageFormat format = image_format(bytes, path, catalog_->key);
    gray_ = decoded_by_libjpeg(format, *catalog_)
                ? decode_gray_with_libjpeg(bytes, path, counted, catalog_->key)
                : decode_gray_with_stb_image(bytes, format, path, counted, catalog_->key);
    width_ = static_cast<std::size_t>(counted.width);
  }

  void read_chunk(std::uint64_t tile, std::span<std::uint8_t> chunk) override {
    if (chunk.size() != catalog_->chunk_size) {
      throw std::invalid_argument("imagenet: chunk span of the wrong size");
    }
    const std::size_t tiles_per_row = width_ / kTileColumns;
    const std::size_t top = (tile / tiles_per_row) * catalog_->tile_rows;
    const std::size_t left = (tile % tiles_per_row) * kTileColumns;
    for (std::size_t row = 0; row < catalog_->tile_rows; ++row) {
      std::memcpy(chunk.data() + row * kTileColumns, gray_.data() + (top + row) * width_ + left,
                  kTileColumns);
    }
  }

  std::shared_ptr<const ImageCatalog> catalog_;
  Bytes gray_;  // the current image, row-major
  std::size_t width_ = 0;
};

class ImageDataset : public Dataset {
 public:
  explicit ImageDataset(std::shared_ptr<const ImageCatalog> catalog)
      : catalog_(std::move(catalog)) {}

  std::size_t chunk_size() const override { return catalog_->chunk_size; }
  std::uint64_t available_chunks() const override { return catalog_->tiles.total(); }

  std::unique_ptr<ChunkReader> open(std::uint64_t first) const override {
    return std::make_unique<ImageTileReader>(catalog_, first);
  }

  nlohmann::json provenance() const override {
    std::size_t without_tiles = 0;
    for (std::size_t i = 0; i < catalog_->tiles.files(); ++i) {
      without_tiles += catalog_->tiles.chunks_in(i) == 0;
    }
    return {
        {"folder", catalog_->folder},
        {"images", catalog_->files.size()},
        {"images_smaller_than_a_tile", without_tiles},
        {"tiles", catalog_->tiles.total()},
        {"tile", std::to_string(catalog_->tile_rows) + " rows x " + std::to_string(kTileColumns) +
                     " columns, raster order, partial edge tiles dropped"},
        {"gray", "(R + G + B) / 3 truncated; gray images as stored; alpha ignored"},
        {"order", "sorted by relative path (bytes), or as listed in include"},
        {"decoder",
         {{"jpeg", catalog_->jpeg_decoder == JpegDecoder::LibjpegTurbo
                       ? "libjpeg-turbo " + libjpeg_turbo_version() +
                             " as Pillow runs it: islow DCT, fancy upsampling, 4 components "
                             "read as Adobe CMYK and made RGB by Pillow's formula"
                       : std::string(kStbImage)},
          {"png", std::string(kStbImage)}}},
    };
  }

 private:
  std::shared_ptr<const ImageCatalog> catalog_;
};

std::vector<OptionSpec> image_options() {
  auto options = folder_corpus_options(".jpeg/.jpg/.png images (ILSVRC layout: <wnid>/*.JPEG)");
  options.push_back({"max_pixels", OptionType::Integer, 100'000'000,
                     "largest image accepted, in pixels (width x height from its header); the "
                     "largest ILSVRC images have about 40 million"});
  options.push_back({"jpeg_decoder", OptionType::String, std::string(kLibjpegTurbo),
                     "\"libjpeg-turbo\": JPEG pixels as Pillow decodes them, as the paper's "
                     "authors read ImageNet; \"stb_image\": stb_image's, which differ by 1-2 "
                     "levels on about 2 % of gray pixels"});
  return options;
}

JpegDecoder jpeg_decoder_option(const Options& options) {
  const std::string name = options.string("jpeg_decoder");
  if (name == kLibjpegTurbo) return JpegDecoder::LibjpegTurbo;
  if (name == kStbImage) return JpegDecoder::StbImage;
  throw InputError(options.key_path("jpeg_decoder") + ": \"" + name + "\" is not \"" +
                   std::string(kLibjpegTurbo) + "\" or \"" + std::string(kStbImage) + "\"");
}

std::unique_ptr<Dataset> make_imagenet(const Options& options, std::size_t chunk_size) {
  if (chunk_size == 0 || chunk_size % kTileColumns != 0) {
    throw InputError(options.key_path("kind") + ": imagenet tiles are " +
                     std::to_string(kTileColumns) +
                     " pixels wide, so the chunk size must be a positive multiple of " +
                     std::to_string(kTileColumns) + " (got " + std::to_string(chunk_size) + ")");
  }
  auto catalog = std::make_shared<ImageCatalog>();
  catalog->key = options.key_path("path");
  catalog->folder = options.string("path");
  catalog->chunk_size = chunk_size;
  catalog->tile_rows = chunk_size / kTileColumns;
  catalog->jpeg_decoder = jpeg_decoder_option(options);
  catalog->files = select_corpus_files(options, kImageExtensions, kHowToGet);
  // Checked on the header, before anything is decoded: a crafted 60000x60000 header would
  // otherwise become a multi-gigabyte allocation in the decoder.
  const auto max_pixels_option = options.integer("max_pixels");
  if (max_pixels_option <= 0)
    throw InputError(options.key_path("max_pixels") + ": must be positive");
  const auto max_pixels = static_cast<std::uint64_t>(max_pixels_option);
  for (const auto& image : catalog->files) {
    const ImageSize size = read_image_size(image.path, *catalog);
    const auto pixels =
        static_cast<std::uint64_t>(size.width) * static_cast<std::uint64_t>(size.height);
    if (pixels > max_pixels) {
      throw InputError(catalog->key + ": " + image.path.string() + " says it is " +
                       std::to_string(size.width) + "x" + std::to_string(size.height) + " = " +
                       std::to_string(pixels) + " pixels, more than the limit of " +
                       std::to_string(max_pixels) + " (raise " + options.key_path("max_pixels") +
                       " for an honest image that large)");
    }
    catalog->sizes.push_back(size);
    catalog->tiles.add_file(static_cast<std::uint64_t>(size.height) / catalog->tile_rows *
                            (static_cast<std::uint64_t>(size.width) / kTileColumns));
  }
  if (catalog->tiles.total() == 0) {
    throw InputError(catalog->key + ": no image under " + catalog->folder + " holds a full " +
                     std::to_string(catalog->tile_rows) + "x" + std::to_string(kTileColumns) +
                     " tile");
  }
  return std::make_unique<ImageDataset>(std::move(catalog));
}

}  // namespace

DatasetKind imagenet_kind() {
  return {
      .name = "imagenet",
      .summary =
          "JPEG/PNG images under a folder (sorted by path; JPEG decoded as Pillow decodes it, "
          "with libjpeg-turbo), gray = mean of R, G, B, cut into 32x64 tiles (chunk_size/64 rows "
          "for other chunk sizes)",
      .options = image_options(),
      .default_mapping = SevenBitMapping::ShiftRight,
      .make = make_imagenet,
  };
}

}  // namespace lmc
