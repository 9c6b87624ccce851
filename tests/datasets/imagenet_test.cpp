#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <zlib.h>

#include <cstdlib>
#include <functional>

#include "datasets/dataset_testing.h"
#include "test_support.h"

namespace lmc::test {
namespace {

namespace fs = std::filesystem;

using PixelFunction = std::function<std::uint8_t(int x, int y, int channel)>;

void write_png(const fs::path& path, int width, int height, int channels,
               const PixelFunction& pixel) {
  fs::create_directories(path.parent_path());
  Bytes pixels(static_cast<std::size_t>(width) * height * channels);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        pixels[(static_cast<std::size_t>(y) * width + x) * channels + c] = pixel(x, y, c);
      }
    }
  }
  ASSERT_NE(stbi_write_png(path.c_str(), width, height, channels, pixels.data(), width * channels),
            0)
      << path;
}

void write_uniform_png(const fs::path& path, int width, int height, std::uint8_t value) {
  write_png(path, width, height, 1, [=](int, int, int) { return value; });
}

// R, G and B vary differently along x and y, so a swapped axis or channel, luma weights or
// rounding instead of truncation all change some pixel.
std::uint8_t test_rgb(int x, int y, int channel) {
  switch (channel) {
    case 0:
      return static_cast<std::uint8_t>(x * 2);
    case 1:
      return static_cast<std::uint8_t>(y * 3);
    case 2:
      return static_cast<std::uint8_t>((x + y) % 5);
    default:
      return 200;  // alpha, must be ignored
  }
}

std::uint8_t expected_gray(int x, int y) {
  return static_cast<std::uint8_t>((test_rgb(x, y, 0) + test_rgb(x, y, 1) + test_rgb(x, y, 2)) / 3);
}

// A baseline 4:2:0 JPEG of test_rgb (stb_image_write), quality 90.
void write_jpeg(const fs::path& path, int width, int height) {
  fs::create_directories(path.parent_path());
  Bytes pixels(static_cast<std::size_t>(width) * height * 3);
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    const auto pixel = static_cast<int>(i / 3);
    pixels[i] = test_rgb(pixel % width, pixel / width, static_cast<int>(i % 3));
  }
  ASSERT_NE(stbi_write_jpg(path.c_str(), width, height, 3, pixels.data(), 90), 0) << path;
}

// tests/datasets/pillow_tiles.py, which needs Debian's python3-pil and python3-numpy.
void run_pillow_tiles(const std::string& arguments) {
  const std::string command = "/usr/bin/python3 '" +
                              (source_dir() / "tests/datasets/pillow_tiles.py").string() + "' " +
                              arguments;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

#define LMC_REQUIRE_PILLOW()                                   \
  LMC_REQUIRE_INSTALLED(                                       \
      "/usr/lib/python3/dist-packages/PIL/JpegImagePlugin.py", \
      "the Debian packages python3-pil and python3-numpy (scripts/install-deps.sh)")

// The dataset's tiles against Pillow's tiles of the same folder (the paper's authors' decoder and
// protocol), byte for byte.
void expect_pillow_tiles(const Dataset& dataset, const fs::path& folder) {
  TempDir scratch;
  const fs::path pillow_file = scratch.path() / "pillow.tiles";
  run_pillow_tiles("tiles '" + folder.string() + "' '" + pillow_file.string() + "'");
  const Bytes pillow = read_file(pillow_file);
  Bytes ours;
  for (const auto& tile : read_chunks(dataset)) append(ours, tile);
  ASSERT_EQ(ours.size(), pillow.size());
  std::size_t differing = 0, first = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    if (ours[i] != pillow[i] && differing++ == 0) first = i;
  }
  EXPECT_EQ(differing, 0u) << "gray pixels of " << ours.size()
                           << " differ from Pillow's, first in tile "
                           << first / dataset.chunk_size();
}

TEST(ImagenetDataset, TilesAreRasterOrderedGrayMeansWithEdgesDropped) {
  TempDir dir;
  // 130 x 70: two tile columns (2 pixels left over), two tile rows (6 rows left over).
  write_png(dir.path() / "image.png", 130, 70, 3, test_rgb);
  auto dataset = make_dataset("imagenet", {{"path", dir.path().string()}});
  ASSERT_EQ(dataset->available_chunks(), 4u);
  const auto tiles = read_chunks(*dataset);
  ASSERT_EQ(tiles.size(), 4u);
  for (int tile = 0; tile < 4; ++tile) {
    const int top = (tile / 2) * 32, left = (tile % 2) * 64;
    for (int row = 0; row < 32; ++row) {
      for (int column = 0; column < 64; ++column) {
        ASSERT_EQ(tiles[tile][row * 64 + column], expected_gray(left + column, top + row))
            << "tile " << tile << " row " << row << " column " << column;
      }
    }
  }
}

TEST(ImagenetDataset, GrayIsTheTruncatedMeanAndAlphaIsIgnored) {
  TempDir dir;
  // Pixel means 764 / 3 = 254.67 and 2 / 3 = 0.67: luma weights or rounding would give 255 / 1.
  write_png(dir.path() / "rgba.png", 64, 32, 4, [](int x, int, int c) -> std::uint8_t {
    if (c == 3) return static_cast<std::uint8_t>(x);  // alpha varies, gray must not
    return x < 32 ? (c < 2 ? 255 : 254) : (c < 2 ? 1 : 0);
  });
  write_png(dir.path() / "sgray.png", 64, 32, 1, [](int x, int, int) { return std::uint8_t(x); });
  write_png(dir.path() / "tgray_alpha.png", 64, 32, 2,
            [](int x, int, int c) { return std::uint8_t(c == 0 ? 3 * x : 17); });
  const auto tiles = read_chunks(*make_dataset("imagenet", {{"path", dir.path().string()}}));
  ASSERT_EQ(tiles.size(), 3u);
  EXPECT_EQ(tiles[0][0], 254);
  EXPECT_EQ(tiles[0][31], 254);
  EXPECT_EQ(tiles[0][32], 0);
  EXPECT_EQ(tiles[0][2047], 0);
  EXPECT_EQ(tiles[1][10], 10);  // gray stays as stored
  EXPECT_EQ(tiles[2][10], 30);  // gray + alpha: the gray channel
}

TEST(ImagenetDataset, FilesAreSortedByRelativePathBytesAcrossFolders) {
  TempDir dir;
  // Byte order puts "a-c.png" ('-' = 0x2d) before "a/..." ('/' = 0x2f) and "B" before "a";
  // extensions match case-insensitively; other files are ignored.
  const std::vector<std::pair<std::string, std::uint8_t>> files = {
      {"b.png", 50}, {"a/z.png", 40}, {"a/b/c.PNG", 30}, {"a-c.png", 20}, {"B.png", 10}};
  for (const auto& [name, value] : files) write_uniform_png(dir.path() / name, 64, 32, value);
  write_file(dir.path() / "a/notes.txt", as_bytes("not an image"));
  write_file(dir.path() / "a/b/data.raw", Bytes(4096, 1));
  const auto tiles = read_chunks(*make_dataset("imagenet", {{"path", dir.path().string()}}));
  ASSERT_EQ(tiles.size(), 5u);
  const std::vector<std::uint8_t> order = {tiles[0][0], tiles[1][0], tiles[2][0], tiles[3][0],
                                           tiles[4][0]};
  EXPECT_EQ(order, (std::vector<std::uint8_t>{10, 20, 30, 40, 50}));
}

TEST(ImagenetDataset, OpenAtAnyTileAgreesWithReadingThrough) {
  TempDir dir;
  write_png(dir.path() / "1.png", 200, 100, 3, test_rgb);  // 3 x 3 tiles
  write_uniform_png(dir.path() / "2.png", 63, 500, 9);     // too narrow: no tile
  write_png(dir.path() / "3.png", 64, 64, 3, test_rgb);    // 1 x 2 tiles
  auto dataset = make_dataset("imagenet", {{"path", dir.path().string()}});
  ASSERT_EQ(dataset->available_chunks(), 11u);
  EXPECT_EQ(dataset->provenance().at("images_smaller_than_a_tile"), 1);
  const auto through = read_chunks(*dataset);
  ASSERT_EQ(through.size(), 11u);
  for (std::uint64_t first = 0; first <= 11; ++first) {
    const auto part = read_chunks(*dataset, first);
    ASSERT_EQ(part.size(), 11 - first);
    for (std::size_t i = 0; i < part.size(); ++i) EXPECT_EQ(part[i], through[first + i]);
  }
  EXPECT_EQ(read_chunks_in_parallel(*dataset, 3), through);
}

TEST(ImagenetDataset, OtherChunkSizesChangeTheTileHeight) {
  TempDir dir;
  write_png(dir.path() / "image.png", 128, 130, 3, test_rgb);
  auto dataset = make_dataset("imagenet", {{"path", dir.path().string()}}, 4096);  // 64 rows
  ASSERT_EQ(dataset->available_chunks(), 4u);
  const auto tiles = read_chunks(*dataset, 3);
  EXPECT_EQ(tiles.at(0)[0], expected_gray(64, 64));
  EXPECT_EQ(tiles.at(0)[63 * 64 + 63], expected_gray(127, 127));

  const auto error = input_error_of([&] {
    make_dataset("imagenet", {{"path", dir.path().string()}}, 1000);
  });
  EXPECT_EQ(error.rfind("datasets[0].kind: ", 0), 0u) << error;
  EXPECT_NE(error.find("multiple of 64 (got 1000)"), std::string::npos) << error;
}

TEST(ImagenetDataset, IncludeReadsTheListedFilesInTheirOrder) {
  TempDir dir;
  write_uniform_png(dir.path() / "a.png", 64, 32, 1);
  write_uniform_png(dir.path() / "sub/b.png", 64, 32, 2);
  write_uniform_png(dir.path() / "c.png", 64, 32, 3);
  auto dataset = make_dataset("imagenet",
                              {{"path", dir.path().string()}, {"include", {"c.png", "sub/b.png"}}});
  const auto tiles = read_chunks(*dataset);
  ASSERT_EQ(tiles.size(), 2u);
  EXPECT_EQ(tiles[0][0], 3);
  EXPECT_EQ(tiles[1][0], 2);

  const auto error = input_error_of([&] {
    make_dataset("imagenet", {{"path", dir.path().string()}, {"include", {"a.png", "d.png"}}});
  });
  EXPECT_EQ(error.rfind("datasets[0].include[1]: file not found: ", 0), 0u) << error;
  EXPECT_NE(error.find("d.png"), std::string::npos) << error;
}

TEST(ImagenetDataset, MissingFolderNamesTheKeyAndImagenet) {
  const auto error = input_error_of([] {
    make_dataset("imagenet", {{"path", "/nonexistent/data/imagenet"}});
  });
  EXPECT_EQ(error.rfind("datasets[0].path: folder not found: /nonexistent/data/imagenet", 0), 0u)
      << error;
  EXPECT_NE(error.find("image-net.org"), std::string::npos) << error;
}

TEST(ImagenetDataset, UnreadableImageIsNamedAtMake) {
  TempDir dir;
  write_uniform_png(dir.path() / "good.png", 64, 32, 1);
  write_file(dir.path() / "broken.JPEG", as_bytes("this is not a JPEG file"));
  const auto error = input_error_of([&] {
    make_dataset("imagenet", {{"path", dir.path().string()}});
  });
  EXPECT_EQ(error.rfind("datasets[0].path: ", 0), 0u) << error;
  EXPECT_NE(error.find("broken.JPEG is neither a PNG nor a JPEG file"), std::string::npos) << error;
}

TEST(ImagenetDataset, OtherFormatsStbImageKnowsAreRefusedWhateverTheName) {
  // stb_image would decode a GIF, PSD or TGA named .png: each is a decoder more to trust.
  TempDir dir;
  Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 64, 0, 32, 0, 0, 0, 0};
  write_file(dir.path() / "disguised.png", gif);
  const auto error = input_error_of([&] {
    make_dataset("imagenet", {{"path", dir.path().string()}});
  });
  EXPECT_NE(error.find("disguised.png is neither a PNG nor a JPEG file"), std::string::npos)
      << error;
}

TEST(ImagenetDataset, APngChunkLongerThanTheFileIsRefusedBeforeStbImageAllocatesIt) {
  // The image fuzzer's finding (tests/fuzz/crashes/image/): a second IDAT chunk claiming 2^30 - 1
  // bytes made stb_image grow its buffer to 2 GiB before reading them from a tiny file.
  TempDir dir;
  write_uniform_png(dir.path() / "good.png", 64, 32, 7);
  Bytes png = read_file(dir.path() / "good.png");
  const Bytes bogus = {0x3f, 0xff, 0xff, 0xff, 'I', 'D', 'A', 'T', 0x78, 0x5e, 0, 0};
  png.insert(png.end() - 12, bogus.begin(), bogus.end());  // before IEND
  write_file(dir.path() / "good.png", png);
  const auto dataset = make_dataset("imagenet", {{"path", dir.path().string()}});
  ASSERT_EQ(dataset->available_chunks(), 1u) << "the header is intact";
  const auto error = input_error_of([&] { read_chunks(*dataset); });
  EXPECT_NE(error.find("good.png: damaged PNG: chunk at byte "), std::string::npos) << error;
  EXPECT_NE(error.find("claims 1073741823 bytes, more than the file's remaining"),
            std::string::npos)
      << error;
}

// A PNG signature and IHDR chunk claiming width x height, 8-bit gray, and nothing else: all a
// header reader sees, and what a crafted file needs to ask for a huge allocation.
Bytes png_header_only(std::uint32_t width, std::uint32_t height) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
  const std::size_t type_at = png.size();
  for (const char c : std::string("IHDR")) png.push_back(static_cast<std::uint8_t>(c));
  for (const std::uint32_t v : {width, height}) {
    for (int shift = 24; shift >= 0; shift -= 8)
      png.push_back(static_cast<std::uint8_t>(v >> shift));
  }
  for (const std::uint8_t b : {8, 0, 0, 0, 0}) png.push_back(b);  // depth 8, gray, no interlace
  const auto crc = crc32(0, png.data() + type_at, static_cast<uInt>(png.size() - type_at));
  for (int shift = 24; shift >= 0; shift -= 8)
    png.push_back(static_cast<std::uint8_t>(crc >> shift));
  return png;
}

TEST(ImagenetDataset, HugeImageHeaderIsRefusedBeforeDecoding) {
  TempDir dir;
  write_uniform_png(dir.path() / "good.png", 64, 32, 1);
  // 400 million pixels: under stb_image's own 1 GiB cap, so only our limit stands in the way.
  write_file(dir.path() / "huge.png", png_header_only(20000, 20000));
  auto error = input_error_of([&] { make_dataset("imagenet", {{"path", dir.path().string()}}); });
  EXPECT_NE(error.find("huge.png says it is 20000x20000 = 400000000 pixels, more than the limit "
                       "of 100000000 (raise datasets[0].max_pixels"),
            std::string::npos)
      << error;
  // 60000 x 60000 is past stb_image's cap: its header is refused as unreadable.
  write_file(dir.path() / "huge.png", png_header_only(60000, 60000));
  error = input_error_of([&] { make_dataset("imagenet", {{"path", dir.path().string()}}); });
  EXPECT_NE(error.find("cannot read the image header of " + (dir.path() / "huge.png").string()),
            std::string::npos)
      << error;
  // The same from a JPEG's frame header (SOI, SOF0 of 1 component, SOS: all libjpeg's header
  // reader needs).
  write_file(dir.path() / "huge.png", png_header_only(64, 32));
  const Bytes jpeg_header = {0xff, 0xd8,                                                   // SOI
                             0xff, 0xc0, 0, 11, 8, 0x4e, 0x20, 0x4e, 0x20, 1, 1, 0x11, 0,  // SOF0
                             0xff, 0xda, 0, 8,  1, 1,    0,    0,    0x3f, 0};             // SOS
  write_file(dir.path() / "huge.jpg", jpeg_header);
  error = input_error_of([&] { make_dataset("imagenet", {{"path", dir.path().string()}}); });
  EXPECT_NE(error.find("huge.jpg says it is 20000x20000 = 400000000 pixels, more than the limit "),
            std::string::npos)
      << error;
  fs::remove(dir.path() / "huge.jpg");
  fs::remove(dir.path() / "huge.png");
  // The limit is the config's to raise (or lower).
  error = input_error_of([&] {
    make_dataset("imagenet", {{"path", dir.path().string()}, {"max_pixels", 1000}});
  });
  EXPECT_NE(error.find("good.png says it is 64x32 = 2048 pixels, more than the limit of 1000"),
            std::string::npos)
      << error;
  error = input_error_of([&] {
    make_dataset("imagenet", {{"path", dir.path().string()}, {"max_pixels", 0}});
  });
  EXPECT_NE(error.find("datasets[0].max_pixels: must be positive"), std::string::npos) << error;
}

TEST(ImagenetDataset, JpegTilesArePillowsForEachKindOfJpeg) {
  LMC_REQUIRE_PILLOW();
  TempDir dir;
  // Gray, colour at 4:4:4, 4:2:2 and 4:2:0, progressive, Adobe CMYK.
  run_pillow_tiles("jpegs '" + dir.path().string() + "'");
  const auto dataset = make_dataset("imagenet", {{"path", dir.path().string()}});
  ASSERT_EQ(dataset->available_chunks(), 6u * 9u);  // 203 x 97 pixels: 3 x 3 tiles each
  expect_pillow_tiles(*dataset, dir.path());
  const auto decoder = dataset->provenance().at("decoder");
  EXPECT_EQ(decoder.at("jpeg").get<std::string>().rfind("libjpeg-turbo 2.", 0), 0u) << decoder;
  EXPECT_EQ(decoder.at("png"), "stb_image");

  // stb_image stays available, and is another decoder: it upsamples chroma and converts CMYK its
  // own way.
  const auto stb =
      make_dataset("imagenet", {{"path", dir.path().string()}, {"jpeg_decoder", "stb_image"}});
  EXPECT_EQ(stb->provenance().at("decoder").at("jpeg"), "stb_image");
  EXPECT_NE(read_chunks(*stb), read_chunks(*dataset));
  const auto error = input_error_of([&] {
    make_dataset("imagenet", {{"path", dir.path().string()}, {"jpeg_decoder", "pillow"}});
  });
  EXPECT_EQ(error,
            "datasets[0].jpeg_decoder: \"pillow\" is not \"libjpeg-turbo\" or \"stb_image\"");
}

TEST(ImagenetDataset, DamagedJpegIsAnInputErrorNamingTheFile) {
  TempDir dir;
  const fs::path path = dir.path() / "photo.jpg";
  write_jpeg(path, 256, 64);
  const Bytes whole = read_file(path);
  ASSERT_EQ(read_chunks(*make_dataset("imagenet", {{"path", dir.path().string()}})).size(), 8u);

  // Cut in the middle of the scan: the header is intact, the pixels are not all there.
  write_file(path, ByteView(whole).first(whole.size() / 2));
  const auto dataset = make_dataset("imagenet", {{"path", dir.path().string()}});
  auto error = input_error_of([&] { read_chunks(*dataset); });
  EXPECT_EQ(error,
            "datasets[0].path: cannot decode " + path.string() + ": Premature end of JPEG file");

  // Cut inside the header: refused when the dataset is opened.
  write_file(path, ByteView(whole).first(100));
  error = input_error_of([&] { make_dataset("imagenet", {{"path", dir.path().string()}}); });
  EXPECT_EQ(error, "datasets[0].path: cannot read the image header of " + path.string() +
                       ": Premature end of JPEG file");

  // A frame header of 2 components, which Pillow does not read either.
  Bytes two = whole;
  for (std::size_t i = 0; i + 9 < two.size(); ++i) {
    if (two[i] == 0xff && two[i + 1] == 0xc0) {
      two[i + 9] = 2;
      break;
    }
  }
  write_file(path, two);
  error = input_error_of([&] { make_dataset("imagenet", {{"path", dir.path().string()}}); });
  EXPECT_NE(error.find(path.string() + ": "), std::string::npos) << error;
}

TEST(ImagenetDataset, FolderWithoutImagesIsRejected) {
  TempDir dir;
  write_file(dir.path() / "readme.txt", as_bytes("no images"));
  const auto error = input_error_of([&] {
    make_dataset("imagenet", {{"path", dir.path().string()}});
  });
  EXPECT_NE(error.find("no .jpeg/.jpg/.png files under"), std::string::npos) << error;
}

TEST(ImagenetDatasetGolden, ImagenetSample) {
  LMC_REQUIRE_SHARED_DATA("images/imagenet-sample");
  auto dataset =
      make_dataset("imagenet", {{"path", (shared_data() / "images/imagenet-sample").string()}});
  EXPECT_EQ(dataset->available_chunks(), 17085u);
  EXPECT_EQ(dataset->provenance().at("images"), 200);
  // The last image decodes to exactly as many tiles as its header promised.
  const auto tail = read_chunks(*dataset, 17085 - 40);
  EXPECT_EQ(tail.size(), 40u);
}

// The reference rates of ../shared/data/README.md were computed on Pillow's tiles: ours are the
// same bytes, so gzip and LZMA2 match them exactly (tests/golden).
TEST(ImagenetDatasetGolden, JpegTilesArePillowsOnTheSample) {
  LMC_REQUIRE_SHARED_DATA("images/imagenet-sample");
  LMC_REQUIRE_PILLOW();
  const fs::path folder = shared_data() / "images/imagenet-sample";
  expect_pillow_tiles(*make_dataset("imagenet", {{"path", folder.string()}}), folder);
}

// The demo's photographs: scikit-image's sample data (python3-skimage). Skipped without it (failed
// under CI).
TEST(ImagenetDatasetDemo, ScikitImagePhotographs) {
  const fs::path folder = "/usr/lib/python3/dist-packages/skimage/data";
  LMC_REQUIRE_INSTALLED(folder / "astronaut.png",
                        "the Debian package python3-skimage (scripts/install-deps.sh)");
  const nlohmann::json photos = {
      "astronaut.png",       "brick.png",  "camera.png", "chelsea.png",
      "coffee.png",          "grass.png",  "gravel.png", "hubble_deep_field.jpg",
      "motorcycle_left.png", "retina.jpg", "rocket.jpg"};
  auto dataset = make_dataset("imagenet", {{"path", folder.string()}, {"include", photos}});
  EXPECT_EQ(dataset->provenance().at("images"), photos.size());
  EXPECT_EQ(dataset->available_chunks(), 2479u);  // Debian 12's python3-skimage 0.19.3
}

}  // namespace
}  // namespace lmc::test
