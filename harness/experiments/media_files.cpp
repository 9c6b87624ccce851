#include "harness/experiments/media_files.h"

#include <sndfile.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/atomic_file.h"

namespace lmc {

namespace {

void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             static_cast<std::size_t>(size));
}

// libsndfile writes through these callbacks into a string: a WAV file's header is patched at the
// end (its sizes), so the "file" needs seek and tell as well as write.
struct MemoryFile {
  std::string bytes;
  sf_count_t position = 0;
};

sf_count_t memory_length(void* file) {
  return static_cast<sf_count_t>(static_cast<MemoryFile*>(file)->bytes.size());
}

sf_count_t memory_seek(sf_count_t offset, int whence, void* file) {
  auto& f = *static_cast<MemoryFile*>(file);
  const sf_count_t base = whence == SEEK_CUR   ? f.position
                          : whence == SEEK_END ? static_cast<sf_count_t>(f.bytes.size())
                                               : 0;
  f.position = std::max<sf_count_t>(0, base + offset);
  return f.position;
}

sf_count_t memory_read(void* destination, sf_count_t count, void* file) {
  auto& f = *static_cast<MemoryFile*>(file);
  const auto size = static_cast<sf_count_t>(f.bytes.size());
  const sf_count_t n = std::clamp<sf_count_t>(size - f.position, 0, count);
  std::memcpy(destination, f.bytes.data() + f.position, static_cast<std::size_t>(n));
  f.position += n;
  return n;
}

sf_count_t memory_write(const void* source, sf_count_t count, void* file) {
  auto& f = *static_cast<MemoryFile*>(file);
  const auto end = static_cast<std::size_t>(f.position + count);
  if (end > f.bytes.size()) f.bytes.resize(end);
  std::memcpy(f.bytes.data() + f.position, source, static_cast<std::size_t>(count));
  f.position += count;
  return count;
}

sf_count_t memory_tell(void* file) { return static_cast<MemoryFile*>(file)->position; }

struct SndfileCloser {
  void operator()(SNDFILE* file) const { sf_close(file); }
};

}  // namespace

void write_gray_png(const std::filesystem::path& path, ByteView pixels, std::size_t width) {
  if (width == 0 || pixels.size() % width != 0) {
    throw std::invalid_argument("write_gray_png: pixels are not rows of the width");
  }
  std::string png;
  const int stride = static_cast<int>(width);
  if (stbi_write_png_to_func(append_to_string, &png, stride,
                             static_cast<int>(pixels.size() / width), 1, pixels.data(),
                             stride) == 0) {
    throw std::runtime_error(path.string() + ": stb_image_write could not encode the PNG");
  }
  write_file_atomically(path, png);
}

void write_u8_wav(const std::filesystem::path& path, ByteView samples, int sample_rate) {
  SF_VIRTUAL_IO io = {memory_length, memory_seek, memory_read, memory_write, memory_tell};
  MemoryFile file;
  SF_INFO info = {};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_U8;
  {
    std::unique_ptr<SNDFILE, SndfileCloser> sound(sf_open_virtual(&io, SFM_WRITE, &info, &file));
    if (!sound) {
      throw std::runtime_error(path.string() + ": cannot write WAV: " + sf_strerror(nullptr));
    }
    // 16-bit samples whose high byte is the sample: libsndfile keeps that byte for PCM_U8.
    std::vector<short> wide(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
      wide[i] = static_cast<short>((samples[i] - 128) * 256);
    }
    const auto count = static_cast<sf_count_t>(wide.size());
    if (sf_write_short(sound.get(), wide.data(), count) != count) {
      throw std::runtime_error(path.string() + ": cannot write WAV: " + sf_strerror(sound.get()));
    }
  }  // sf_close writes the header's final sizes
  write_file_atomically(path, file.bytes);
}

}  // namespace lmc
