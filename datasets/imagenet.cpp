// imagenet: a folder tree of JPEG/PNG images, each turned into gray 32x64 tiles (docs/PROTOCOL.md
// section 2). Gray is the plain mean of R, G and B truncated to uint8, as the paper did, not luma
// weights. Tiles are cut in raster order and partial edge tiles are dropped, so an image of
// W x H pixels gives floor(H / 32) * floor(W / 64) chunks, known from its header alone.
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

struct ImageCatalog {
  std::string key;  // "datasets[1].path", for errors while reading
  std::string folder;
  std::vector<CorpusFile> files;
  std::vector<ImageSize> sizes;
  FileChunkIndex tiles;
  std::size_t tile_rows = 0;
  std::size_t chunk_size = 0;
};

struct StbiFree {
  void operator()(stbi_uc* pixels) const { stbi_image_free(pixels); }
};
using StbiPixels = std::unique_ptr<stbi_uc, StbiFree>;

// stb_image delivers 1 (gray), 2 (gray, alpha), 3 (RGB) or 4 (RGBA) interleaved channels; 16-bit
// PNGs arrive already reduced to 8 bits.
Bytes to_gray(const stbi_uc* pixels, std::size_t count, int channels) {
  Bytes gray(count);
  const auto stride = static_cast<std::size_t>(channels);
  for (std::size_t i = 0; i < count; ++i) {
    const stbi_uc* p = pixels + i * stride;
    gray[i] = channels >= 3 ? static_cast<std::uint8_t>((p[0] + p[1] + p[2]) / 3) : p[0];
  }
  return gray;
}

enum class ImageFormat { Png, Jpeg };

// stb_image decodes whatever format it recognises in the bytes (GIF, PSD, TGA, ...), whatever
// the file's name: only the two formats this corpus holds get that far.
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

class ImageTileReader : public PerFileChunkReader {
 public:
  ImageTileReader(std::shared_ptr<const ImageCatalog> catalog, std::uint64_t first)
      : PerFileChunkReader(std::shared_ptr<const FileChunkIndex>(catalog, &catalog->tiles), first),
        catalog_(std::move(catalog)) {}

 private:
  void open_file(std::size_t file, std::uint64_t /*first_tile*/) override {
    const CorpusFile& image = catalog_->files[file];
    const ImageSize expected = catalog_->sizes[file];
    int width = 0, height = 0, channels = 0;
    const Bytes file_bytes = read_file(image.path, catalog_->key);
    if (image_format(file_bytes, image.path, catalog_->key) == ImageFormat::Png) {
      check_png_chunks(file_bytes, image.path, catalog_->key);
    }
    if (file_bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw InputError(catalog_->key + ": " + image.path.string() + " is larger than 2 GiB");
    }
    StbiPixels pixels(stbi_load_from_memory(file_bytes.data(), static_cast<int>(file_bytes.size()),
                                            &width, &height, &channels, 0));
    if (!pixels) {
      throw InputError(catalog_->key + ": cannot decode " + image.path.string() + ": " +
                       stbi_reason());
    }
    if (width != expected.width || height != expected.height) {
      throw InputError(catalog_->key + ": " + image.path.string() + " decodes to " +
                       std::to_string(width) + "x" + std::to_string(height) +
                       " pixels but its header said " + std::to_string(expected.width) + "x" +
                       std::to_string(expected.height) +
                       " (changed since the dataset was opened?)");
    }
    gray_ = to_gray(pixels.get(), static_cast<std::size_t>(width) * height, channels);
    width_ = static_cast<std::size_t>(width);
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
        {"decoder", "stb_image"},
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
  return options;
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
  catalog->files = select_corpus_files(options, kImageExtensions, kHowToGet);
  // Checked on the header, before anything is decoded: a crafted 60000x60000 header would
  // otherwise become a multi-gigabyte allocation in stb_image.
  const auto max_pixels_option = options.integer("max_pixels");
  if (max_pixels_option <= 0)
    throw InputError(options.key_path("max_pixels") + ": must be positive");
  const auto max_pixels = static_cast<std::uint64_t>(max_pixels_option);
  for (const auto& image : catalog->files) {
    // The header alone gives the size: counting tiles must not decode a million images.
    ImageSize size;
    int channels = 0;
    image_format(image.path, catalog->key);
    if (!stbi_info(image.path.c_str(), &size.width, &size.height, &channels)) {
      throw InputError(catalog->key + ": cannot read the image header of " + image.path.string() +
                       " (" + stbi_reason() + ")");
    }
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
          "JPEG/PNG images under a folder (sorted by path), gray = mean of R, G, B, cut "
          "into 32x64 tiles (chunk_size/64 rows for other chunk sizes)",
      .options = image_options(),
      .default_mapping = SevenBitMapping::ShiftRight,
      .make = make_imagenet,
  };
}

}  // namespace lmc
