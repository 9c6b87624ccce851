// librispeech: a folder tree of FLAC/WAV utterances, one byte per 16-bit sample (docs/PROTOCOL.md
// section 2): the sample's high byte (arithmetic shift right by 8) plus 128. Each file is cut into
// chunks on its own; its trailing partial chunk is dropped, so chunks never span utterances and a
// file's chunk count is known from its header alone.
//
// LibriSpeech is mono. Other material may not be: a multi-channel file is first averaged to mono
// (the mean of the channels, rounded down), so every sample still yields exactly one byte.
#include <sndfile.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"
#include "datasets/corpus_files.h"
#include "datasets/dataset.h"

namespace lmc {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kAudioExtensions[] = {".flac", ".wav"};
constexpr std::string_view kHowToGet =
    "get train-clean-100.tar.gz from https://www.openslr.org/12 and extract it so that "
    "<path>/<speaker>/<chapter>/*.flac exist";

struct SndfileCloser {
  void operator()(SNDFILE* file) const { sf_close(file); }
};
using SndFile = std::unique_ptr<SNDFILE, SndfileCloser>;

// Opens `path` for reading and fills `info`; throws InputError naming `key` and the file.
SndFile open_sound(const fs::path& path, SF_INFO& info, const std::string& key) {
  info = {};
  SndFile file(sf_open(path.c_str(), SFM_READ, &info));
  // sf_strerror(nullptr) is the last error of any thread: the best libsndfile offers without a
  // handle, and a failed open has none.
  if (!file) throw InputError(key + ": cannot open " + path.string() + ": " + sf_strerror(nullptr));
  if (info.channels <= 0) throw InputError(key + ": " + path.string() + " has no channels");
  return file;
}

// Mean of the channels, rounded toward minus infinity like the shift that follows.
int mono(const short* frame, int channels) {
  if (channels == 1) return frame[0];
  int sum = 0;
  for (int c = 0; c < channels; ++c) sum += frame[c];
  return (sum >= 0 ? sum : sum - (channels - 1)) / channels;
}

// The high byte of the signed 16-bit sample, moved to unsigned: -32768 -> 0, 0 -> 128.
std::uint8_t sample_to_byte(int sample) { return static_cast<std::uint8_t>((sample >> 8) + 128); }

struct AudioCatalog {
  std::string key;  // "datasets[2].path", for errors while reading
  std::string folder;
  std::vector<CorpusFile> files;
  std::vector<int> channels;
  FileChunkIndex chunks;
  std::uint64_t samples = 0;
  std::set<int> sample_rates;
  std::set<int> channel_counts;
  std::size_t chunk_size = 0;
};

class AudioChunkReader : public PerFileChunkReader {
 public:
  AudioChunkReader(std::shared_ptr<const AudioCatalog> catalog, std::uint64_t first)
      : PerFileChunkReader(std::shared_ptr<const FileChunkIndex>(catalog, &catalog->chunks), first),
        catalog_(std::move(catalog)) {}

 private:
  void open_file(std::size_t file, std::uint64_t first_chunk) override {
    const fs::path& path = catalog_->files[file].path;
    SF_INFO info;
    sound_ = open_sound(path, info, catalog_->key);
    channels_ = info.channels;
    if (channels_ != catalog_->channels[file]) {
      throw InputError(catalog_->key + ": " + path.string() +
                       " changed since the dataset was opened");
    }
    const auto frame = static_cast<sf_count_t>(first_chunk * catalog_->chunk_size);
    if (frame > 0 && sf_seek(sound_.get(), frame, SEEK_SET) != frame) {
      throw InputError(catalog_->key + ": cannot seek to chunk " + std::to_string(first_chunk) +
                       " of " + path.string() + ": " + sf_strerror(sound_.get()));
    }
    samples_.resize(catalog_->chunk_size * static_cast<std::size_t>(channels_));
    file_ = file;
  }

  void read_chunk(std::uint64_t chunk_index, std::span<std::uint8_t> chunk) override {
    if (chunk.size() != catalog_->chunk_size) {
      throw std::invalid_argument("librispeech: chunk span of the wrong size");
    }
    const auto frames = static_cast<sf_count_t>(chunk.size());
    if (sf_readf_short(sound_.get(), samples_.data(), frames) != frames) {
      throw InputError(catalog_->key + ": " + catalog_->files[file_].path.string() +
                       " ended inside its chunk " + std::to_string(chunk_index) + " (" +
                       sf_strerror(sound_.get()) + ")");
    }
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      chunk[i] = sample_to_byte(mono(samples_.data() + i * channels_, channels_));
    }
  }

  std::shared_ptr<const AudioCatalog> catalog_;
  SndFile sound_;
  std::size_t file_ = 0;
  int channels_ = 1;
  std::vector<short> samples_;  // one chunk of interleaved frames
};

class AudioDataset : public Dataset {
 public:
  explicit AudioDataset(std::shared_ptr<const AudioCatalog> catalog)
      : catalog_(std::move(catalog)) {}

  std::size_t chunk_size() const override { return catalog_->chunk_size; }
  std::uint64_t available_chunks() const override { return catalog_->chunks.total(); }

  std::unique_ptr<ChunkReader> open(std::uint64_t first) const override {
    return std::make_unique<AudioChunkReader>(catalog_, first);
  }

  nlohmann::json provenance() const override {
    return {
        {"folder", catalog_->folder},
        {"files", catalog_->files.size()},
        {"samples", catalog_->samples},
        {"chunks", catalog_->chunks.total()},
        {"dropped_samples", catalog_->samples - catalog_->chunks.total() * catalog_->chunk_size},
        {"sample_rates", catalog_->sample_rates},
        {"channels", catalog_->channel_counts},
        {"sample_to_byte", "(16-bit sample >> 8) + 128; channels averaged to mono"},
        {"order", "sorted by relative path (bytes), or as listed in include"},
        {"decoder", sf_version_string()},
    };
  }

 private:
  std::shared_ptr<const AudioCatalog> catalog_;
};

std::unique_ptr<Dataset> make_librispeech(const Options& options, std::size_t chunk_size) {
  if (chunk_size == 0) throw std::invalid_argument("librispeech: chunk size must be positive");
  auto catalog = std::make_shared<AudioCatalog>();
  catalog->key = options.key_path("path");
  catalog->folder = options.string("path");
  catalog->chunk_size = chunk_size;
  catalog->files = select_corpus_files(options, kAudioExtensions, kHowToGet);
  for (const auto& file : catalog->files) {
    SF_INFO info;
    open_sound(file.path, info, catalog->key);
    const auto frames = static_cast<std::uint64_t>(info.frames);
    catalog->channels.push_back(info.channels);
    catalog->chunks.add_file(frames / chunk_size);
    catalog->samples += frames;
    catalog->sample_rates.insert(info.samplerate);
    catalog->channel_counts.insert(info.channels);
  }
  if (catalog->chunks.total() == 0) {
    throw InputError(catalog->key + ": no audio file under " + catalog->folder + " holds " +
                     std::to_string(chunk_size) + " samples (one chunk)");
  }
  return std::make_unique<AudioDataset>(std::move(catalog));
}

}  // namespace

DatasetKind librispeech_kind() {
  return {
      .name = "librispeech",
      .summary =
          "FLAC/WAV files under a folder (sorted by path), one byte per 16-bit sample "
          "(high byte + 128), chunks never span files",
      .options = folder_corpus_options(".flac/.wav audio (LibriSpeech layout: "
                                       "<speaker>/<chapter>/*.flac)"),
      .default_mapping = SevenBitMapping::ShiftRight,
      .make = make_librispeech,
  };
}

}  // namespace lmc
