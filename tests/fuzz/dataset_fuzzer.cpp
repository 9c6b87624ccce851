// A corpus reader (datasets/) on one arbitrary file: the image reader (JPEG through libjpeg-turbo,
// PNG through stb_image), the audio reader (FLAC/WAV through libsndfile) or the text reader
// (plain or gzip through zlib).
// Built once per kind: LMC_FUZZ_DATASET names its `DatasetKind xxx_kind()`, LMC_FUZZ_FILE the
// file name (the readers pick files by extension; the decoders go by the content).
//
// The input is written to that file in a folder of this process, the dataset is opened through
// its registry entry as a config would open it, and every chunk is read twice: from the start,
// and from the middle (the seek path). Reading must end in a full set of chunks, InputError or
// CorruptDataError; the image limit is kept small so a crafted header meets it.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "fuzz_support.h"

namespace lmc {
DatasetKind LMC_FUZZ_DATASET();
}

namespace {

namespace fs = std::filesystem;

// Chunks small enough that a seed of a few kilobytes holds several: 8-row image tiles (64 pixels
// wide), 512 audio samples, 512 bytes of text.
constexpr std::size_t kChunkSize = 512;
constexpr std::int64_t kMaxPixels = 1 << 20;

const lmc::DatasetKind& kind() {
  static const lmc::DatasetKind kind = lmc::LMC_FUZZ_DATASET();
  return kind;
}

fs::path folder;

void read_all_chunks(const lmc::Dataset& dataset, std::uint64_t first) {
  std::vector<std::uint8_t> chunk(dataset.chunk_size());
  auto reader = dataset.open(first);
  std::uint64_t read = first;
  while (reader->next(chunk)) ++read;
  if (read != dataset.available_chunks()) abort();  // the count promised must be the count read
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const fs::path shm = "/dev/shm";
  folder = (fs::is_directory(shm) ? shm : fs::temp_directory_path()) /
           ("lmc-fuzz-" + kind().name + "-" + std::to_string(getpid()));
  fs::create_directories(folder);
  std::atexit([] { fs::remove_all(folder); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path file = folder / LMC_FUZZ_FILE;
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));

  nlohmann::json config = {{"path", kind().name == "enwik" ? file.string() : folder.string()}};
  if (kind().name == "imagenet") config["max_pixels"] = kMaxPixels;
  lmc::fuzz::accept_documented_errors([&] {
    const lmc::Options options = lmc::Options::validate(config, kind().options, "datasets[0]");
    const auto dataset = kind().make(options, kChunkSize);
    read_all_chunks(*dataset, 0);
    read_all_chunks(*dataset, dataset->available_chunks() / 2);
    dataset->provenance().dump();
  });
  return 0;
}
