// Writes the seed corpora of the fuzz targets into a folder (tests/fuzz/corpus by default): valid
// inputs of each format, made from a few hundred bytes, so the fuzzers start deep inside the
// decoders instead of at their magic numbers. Deterministic: rerunning it rewrites the same files.
#include <sndfile.h>
#include <stb_image_write.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"
#include "compressors/classical_kinds.h"
#include "compressors/compressor.h"
#include "compressors/lm_compressor.h"
#include "compressors/random_checkpoint.h"
#include "models/transformer/transformer_predictor.h"

// After <cstdio>: jpeglib.h uses FILE and size_t without declaring them.
// clang-format off
#include <jpeglib.h>
// clang-format on

namespace {

namespace fs = std::filesystem;
using lmc::Bytes;

void write_seed(const fs::path& folder, const std::string& name, const Bytes& bytes) {
  fs::create_directories(folder);
  std::ofstream(folder / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

// What the codec and LM seeds compress: prose, a smooth signal (what FLAC and PNG are for), noise.
std::vector<Bytes> sample_chunks() {
  const std::string prose =
      "<page><title>Anarchism</title> Anarchism is a political philosophy that advocates "
      "self-governed societies based on voluntary institutions. These are often described as "
      "stateless societies, although several authors have defined them more specifically as "
      "institutions based on non-hierarchical free associations.</page>\n";
  Bytes wave(512);
  for (std::size_t i = 0; i < wave.size(); ++i) {
    wave[i] = static_cast<std::uint8_t>(128 + 100 * ((i * 7) % 64 < 32 ? 1 : -1) * (i % 13) / 13);
  }
  std::mt19937 rng(7);
  Bytes noise(300);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  return {text_bytes(prose), wave, noise, {}};
}

// [piece length byte][original size u16][stream], the codec fuzzers' input.
Bytes codec_input(std::uint8_t piece, std::size_t original_size, const Bytes& stream) {
  Bytes input = {piece, static_cast<std::uint8_t>(original_size & 0xff),
                 static_cast<std::uint8_t>(original_size >> 8)};
  input.insert(input.end(), stream.begin(), stream.end());
  return input;
}

void codec_seeds(const fs::path& root) {
  const auto chunks = sample_chunks();
  for (const lmc::CompressorKind& kind : lmc::classical_compressor_kinds()) {
    std::string name = kind.name;  // the fuzz target's name: flac-paper -> flac_paper
    std::replace(name.begin(), name.end(), '-', '_');
    const auto codec =
        kind.make(lmc::Options::validate(nlohmann::json::object(), kind.options, kind.name), {});
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      Bytes stream;
      try {
        stream = codec->compress(chunks[i]);
      } catch (const lmc::InputError&) {
        continue;  // an image codec needs a pixel
      }
      const auto piece = static_cast<std::uint8_t>(i * 37);
      write_seed(root / name, "seed-" + std::to_string(i),
                 codec_input(piece, chunks[i].size(), stream));
    }
  }
}

class LittleEndian {
 public:
  LittleEndian& i32(std::int32_t v) { return raw(&v, 4); }
  LittleEndian& f32(float v) { return raw(&v, 4); }
  LittleEndian& floats(std::size_t count, std::mt19937& rng) {
    std::normal_distribution<float> weight(0.0f, 0.5f);
    for (std::size_t i = 0; i < count; ++i) f32(weight(rng));
    return *this;
  }
  LittleEndian& text(std::string_view s) { return raw(s.data(), s.size()); }
  Bytes bytes() const { return bytes_; }

 private:
  LittleEndian& raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
    return *this;
  }
  Bytes bytes_;
};

// llama2.c "v0": dim 4, hidden 8, 1 layer, 2 heads, 1 KV head, seq_len 4; shared or own classifier.
void llama2c_seeds(const fs::path& root) {
  for (bool shared : {true, false}) {
    const int dim = 4, hidden = 8, vocab = 8, seq_len = 4, kv_dim = 2;
    std::mt19937 rng(shared ? 1 : 2);
    LittleEndian file;
    file.i32(dim).i32(hidden).i32(1).i32(2).i32(1).i32(shared ? vocab : -vocab).i32(seq_len);
    file.floats(vocab * dim + dim + 2 * dim * dim + 2 * kv_dim * dim + dim + 3 * hidden * dim + dim,
                rng);
    file.floats(seq_len * (dim / 2), rng);  // the legacy RoPE tables
    if (!shared) file.floats(vocab * dim, rng);
    write_seed(root / "llama2c", shared ? "shared-classifier" : "own-classifier", file.bytes());
  }
}

// tokenizer.bin for 259 + 3 tokens, behind the fuzzer's vocabulary-size prefix (3).
void tokenizer_seeds(const fs::path& root) {
  const std::vector<std::string> ordinary = {"ab", " w", "or"};
  Bytes input = {3, 0};
  LittleEndian tokens;
  tokens.i32(6);
  for (const char* special : {"<unk>", "<s>", "</s>"}) {
    tokens.f32(0).i32(static_cast<std::int32_t>(std::strlen(special))).text(special);
  }
  for (int byte = 0; byte < 256; ++byte) {
    char spelling[8];
    std::snprintf(spelling, sizeof(spelling), "<0x%02X>", byte);
    tokens.f32(0).i32(6).text(spelling);
  }
  float score = -1;
  for (const auto& piece : ordinary) {
    tokens.f32(score--).i32(static_cast<std::int32_t>(piece.size())).text(piece);
  }
  const Bytes body = tokens.bytes();
  input.insert(input.end(), body.begin(), body.end());
  write_seed(root / "llama2c_tokenizer", "vocab-262", input);
}

// One tensor of an rwkv.cpp file: ggml stores the dimensions innermost first.
void rwkv_tensor(LittleEndian& file, const std::string& name, std::vector<std::int32_t> shape,
                 std::mt19937& rng) {
  file.i32(static_cast<std::int32_t>(shape.size()))
      .i32(static_cast<std::int32_t>(name.size()))
      .i32(0);
  std::size_t count = 1;
  for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
    file.i32(*it);
    count *= static_cast<std::size_t>(*it);
  }
  file.text(name).floats(count, rng);
}

// rwkv.cpp v4, float32: vocab 8, embed 4, FFN 8, one layer.
void rwkv_seeds(const fs::path& root) {
  const int vocab = 8, embed = 4, ffn = 8;
  std::mt19937 rng(3);
  LittleEndian file;
  file.i32(0x67676d66).i32(101).i32(vocab).i32(embed).i32(1).i32(0);
  rwkv_tensor(file, "emb.weight", {vocab, embed}, rng);
  for (const char* name :
       {"blocks.0.ln0.weight", "blocks.0.ln0.bias", "ln_out.weight", "ln_out.bias",
        "blocks.0.ln1.weight", "blocks.0.ln1.bias", "blocks.0.ln2.weight", "blocks.0.ln2.bias",
        "blocks.0.att.time_decay", "blocks.0.att.time_first", "blocks.0.att.time_mix_k",
        "blocks.0.att.time_mix_v", "blocks.0.att.time_mix_r", "blocks.0.ffn.time_mix_k",
        "blocks.0.ffn.time_mix_r"}) {
    rwkv_tensor(file, name, {embed}, rng);
  }
  rwkv_tensor(file, "head.weight", {vocab, embed}, rng);
  for (const char* name :
       {"att.key", "att.value", "att.receptance", "att.output", "ffn.receptance"}) {
    rwkv_tensor(file, std::string("blocks.0.") + name + ".weight", {embed, embed}, rng);
  }
  rwkv_tensor(file, "blocks.0.ffn.key.weight", {ffn, embed}, rng);
  rwkv_tensor(file, "blocks.0.ffn.value.weight", {embed, ffn}, rng);
  write_seed(root / "rwkv", "v4-embed4", file.bytes());
}

Bytes file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The same tiny Transformer as lm_decoder_fuzzer.cpp (seed 12): its checkpoint file, and LM
// streams of the sample chunks' first bytes behind their size byte.
void transformer_seeds(const fs::path& root) {
  const fs::path path = fs::temp_directory_path() / "lmc-make-seeds.lmct";
  lmc::TransformerShape shape;
  shape.embedding_dim = 16;
  shape.layers = 1;
  shape.heads = 2;
  lmc::TransformerShape small = shape;  // the checkpoint seed: a 6 KB file, not 48 KB
  small.embedding_dim = 4;
  small.heads = 1;
  lmc::test::write_random_checkpoint(path, small, 12);
  write_seed(root / "checkpoint", "embedding4", file_bytes(path));
  lmc::test::write_random_checkpoint(path, shape, 12);
  const lmc::LmCompressor lm(lmc::load_transformer_predictor(path),
                             lmc::SevenBitMapping::ShiftRight);
  fs::remove(path);
  const auto chunks = sample_chunks();
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const Bytes chunk(chunks[i].begin(),
                      chunks[i].begin() + std::min<std::size_t>(chunks[i].size(), 96));
    Bytes input = {static_cast<std::uint8_t>(chunk.size())};
    const Bytes stream = lm.compress(chunk);
    input.insert(input.end(), stream.begin(), stream.end());
    write_seed(root / "lm_decoder", "seed-" + std::to_string(i), input);
  }
}

// A results.json of two rows (chunked, with the spread of its seconds and its peak memory, and
// unchunked, as written before they were recorded) and a journal of two pieces (one number of
// seconds, as before repetitions; and one per pass with the peak memory), in the shapes bench
// writes (the journal's fingerprint is the one journal_fuzzer.cpp resumes).
void result_file_seeds(const fs::path& root) {
  write_seed(
      root / "results", "two-rows",
      text_bytes(
          R"({"schema": "lmc-bench/results/1", "rows": [)"
          R"({"dataset": "enwik8", "compressor": "gzip", "mode": "chunked", "chunk_size": 2048,)"
          R"( "chunks": 8, "raw_bytes": 16384, "raw_rate": 38.2, "adjusted_rate": 38.2,)"
          R"( "verified": true, "note": "", "dataset_kind": "enwik", "compressor_kind": "gzip",)"
          R"( "parameters": 0, "seconds": 0.5, "seconds_min": 0.25, "seconds_max": 0.75,)"
          R"( "decompress_seconds": 0.125, "decompress_seconds_min": 0.0625,)"
          R"( "decompress_seconds_max": 0.25, "repetitions": 3, "mb_per_s": 32.768,)"
          R"( "peak_rss_bytes": 213800960, "peak_rss_growth_bytes": null},)"
          R"( {"dataset": "enwik8", "compressor": "gzip", "mode": "unchunked",)"
          R"( "chunks": 8, "raw_bytes": 16384, "raw_rate": 36.1, "adjusted_rate": 36.1}]})"));
  const std::string partial =
      R"({"chunks": 4, "raw_bytes": 8192, "compressed_bytes": 3000, "verified_chunks": 4,)"
      R"( "compress_seconds": 0.5, "decompress_seconds": 0.25, "counters": {"ideal_bits": 12.5}})";
  const std::string repeated =
      R"({"chunks": 4, "raw_bytes": 8192, "compressed_bytes": 3000, "verified_chunks": 4,)"
      R"( "compress_seconds": [0.5, 0.25, 0.375], "decompress_seconds": [0.25, 0.125, 0.125],)"
      R"( "peak_rss_bytes": 213800960, "peak_rss_growth_bytes": 65536,)"
      R"( "counters": {"ideal_bits": 12.5}})";
  write_seed(
      root / "journal", "two-pieces",
      text_bytes(R"({"journal": "lmc-bench/journal/1", "run": "0123456789abcdef"})"
                 "\n"
                 R"({"dataset": "enwik", "mode": "chunked", "compressors": ["gzip"], "first": 0,)"
                 R"( "count": 4, "partials": [)" +
                 partial + "]}\n" +
                 R"({"dataset": "enwik", "mode": "chunked", "compressors": ["gzip"], "first": 4,)"
                 R"( "count": 4, "partials": [)" +
                 repeated + "]}\n"));
}

void json_seeds(const fs::path& root) {
  const std::vector<std::string> documents = {
      R"({"name": "quick", "chunk_size": 2048, "datasets": [{"name": "enwik8", "kind": "enwik",)"
      R"( "path": "../shared/data/enwik8", "num_chunks": 8}], "compressors": [{"name": "gzip"}]})",
      R"([1, -2.5e-3, true, null, "a\"b\\u00e9\ud83d\ude00", {"nested": [[[]]]}])",
      R"({"kind": "range", "first": 0, "count": 4, "partial": {"chunks": 4, "bytes": 8192}})"};
  for (std::size_t i = 0; i < documents.size(); ++i) {
    write_seed(root / "json", "seed-" + std::to_string(i), text_bytes(documents[i]));
  }
}

// The corpus readers' seeds: whole files, a few tiles, chunks or pages each (dataset_fuzzer.cpp).
void append_to_bytes(void* context, void* data, int size) {
  auto* out = static_cast<Bytes*>(context);
  const auto* b = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), b, b + size);
}

// What stb_image_write cannot write, for the decoder paths Pillow's settings take besides baseline
// YCbCr: a progressive JPEG (whole-image coefficient buffers), Adobe CMYK and YCCK (4 components).
// libjpeg's default error handler exits, which is all a seed writer needs.
Bytes libjpeg_seed(const Bytes& pixels, int width, int height, int channels, bool progressive,
                   J_COLOR_SPACE stored_as) {
  jpeg_compress_struct compress{};
  jpeg_error_mgr errors{};
  compress.err = jpeg_std_error(&errors);
  jpeg_create_compress(&compress);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&compress, &buffer, &size);
  compress.image_width = static_cast<JDIMENSION>(width);
  compress.image_height = static_cast<JDIMENSION>(height);
  compress.input_components = channels;
  compress.in_color_space = channels == 4 ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&compress);
  jpeg_set_colorspace(&compress, stored_as);
  jpeg_set_quality(&compress, 75, TRUE);
  if (progressive) jpeg_simple_progression(&compress);
  jpeg_start_compress(&compress, TRUE);
  const auto stride = static_cast<std::size_t>(width) * channels;
  while (compress.next_scanline < compress.image_height) {
    JSAMPROW row = const_cast<std::uint8_t*>(pixels.data()) + compress.next_scanline * stride;
    jpeg_write_scanlines(&compress, &row, 1);
  }
  jpeg_finish_compress(&compress);
  jpeg_destroy_compress(&compress);
  Bytes bytes(buffer, buffer + size);
  std::free(buffer);
  return bytes;
}

void image_seeds(const fs::path& root) {
  // 128 x 24 pixels: six 8 x 64 tiles. A smooth gradient with a bright stripe, as photos are.
  const int width = 128, height = 24;
  for (const int channels : {1, 3, 4}) {
    Bytes pixels(static_cast<std::size_t>(width) * height * channels);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        for (int c = 0; c < channels; ++c) {
          pixels[(static_cast<std::size_t>(y) * width + x) * channels + c] =
              static_cast<std::uint8_t>((x * 2 + y * 3 + c * 40 + (y % 8 == 3 ? 120 : 0)) & 0xff);
        }
      }
    }
    Bytes png, jpeg;
    stbi_write_png_to_func(append_to_bytes, &png, width, height, channels, pixels.data(),
                           width * channels);
    write_seed(root / "image", "seed-png-" + std::to_string(channels), png);
    if (channels != 4) {  // JPEG has no alpha
      stbi_write_jpg_to_func(append_to_bytes, &jpeg, width, height, channels, pixels.data(), 75);
      write_seed(root / "image", "seed-jpeg-" + std::to_string(channels), jpeg);
    }
    if (channels == 3) {
      write_seed(root / "image", "seed-jpeg-progressive",
                 libjpeg_seed(pixels, width, height, 3, true, JCS_YCbCr));
    }
    if (channels == 4) {  // the same bytes as C, M, Y, K
      write_seed(root / "image", "seed-jpeg-cmyk",
                 libjpeg_seed(pixels, width, height, 4, false, JCS_CMYK));
      write_seed(root / "image", "seed-jpeg-ycck",
                 libjpeg_seed(pixels, width, height, 4, false, JCS_YCCK));
    }
  }
}

// libsndfile's virtual I/O into a byte vector: the audio seeds without temporary files.
struct MemoryFile {
  Bytes bytes;
  sf_count_t position = 0;
};

SF_VIRTUAL_IO memory_io() {
  SF_VIRTUAL_IO io{};
  io.get_filelen = [](void* f) {
    return static_cast<sf_count_t>(static_cast<MemoryFile*>(f)->bytes.size());
  };
  io.seek = [](sf_count_t offset, int whence, void* f) {
    auto* file = static_cast<MemoryFile*>(f);
    const sf_count_t base = whence == SEEK_SET   ? 0
                            : whence == SEEK_CUR ? file->position
                                                 : static_cast<sf_count_t>(file->bytes.size());
    return file->position = base + offset;
  };
  io.read = [](void* out, sf_count_t count, void* f) {
    auto* file = static_cast<MemoryFile*>(f);
    const auto available = static_cast<sf_count_t>(file->bytes.size()) - file->position;
    const sf_count_t n = std::max<sf_count_t>(0, std::min(count, available));
    std::memcpy(out, file->bytes.data() + file->position, static_cast<std::size_t>(n));
    file->position += n;
    return n;
  };
  io.write = [](const void* in, sf_count_t count, void* f) {
    auto* file = static_cast<MemoryFile*>(f);
    const auto end = static_cast<std::size_t>(file->position + count);
    if (file->bytes.size() < end) file->bytes.resize(end);
    std::memcpy(file->bytes.data() + file->position, in, static_cast<std::size_t>(count));
    file->position += count;
    return count;
  };
  io.tell = [](void* f) { return static_cast<MemoryFile*>(f)->position; };
  return io;
}

void audio_seeds(const fs::path& root) {
  struct Format {
    const char* name;
    int format;
    int channels;
  };
  // 1,300 frames: two 512-sample chunks and a partial one.
  const int frames = 1300;
  for (const Format& format : {Format{"wav-mono", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1},
                               Format{"wav-stereo", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2},
                               Format{"flac-mono", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1}}) {
    std::vector<short> samples(static_cast<std::size_t>(frames) * format.channels);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      samples[i] = static_cast<short>(8000.0 * std::sin(0.05 * static_cast<double>(i)) +
                                      300.0 * std::sin(1.3 * static_cast<double>(i)));
    }
    SF_INFO info{};
    info.samplerate = 16000;
    info.channels = format.channels;
    info.format = format.format;
    MemoryFile file;
    SF_VIRTUAL_IO io = memory_io();
    SNDFILE* sound = sf_open_virtual(&io, SFM_WRITE, &info, &file);
    if (sound == nullptr) throw std::runtime_error(std::string("sndfile: ") + sf_strerror(nullptr));
    sf_writef_short(sound, samples.data(), frames);
    sf_close(sound);
    write_seed(root / "audio", std::string("seed-") + format.name, file.bytes);
  }
}

void text_seeds(const fs::path& root) {
  const Bytes prose = sample_chunks()[0];
  Bytes plain;
  while (plain.size() < 1500) plain.insert(plain.end(), prose.begin(), prose.end());
  write_seed(root / "text", "seed-plain", plain);
  // gzip (windowBits 16 + 15), as the reader accepts it.
  z_stream stream{};
  deflateInit2(&stream, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
  Bytes gzip(deflateBound(&stream, plain.size()));
  stream.next_in = const_cast<std::uint8_t*>(plain.data());
  stream.avail_in = static_cast<uInt>(plain.size());
  stream.next_out = gzip.data();
  stream.avail_out = static_cast<uInt>(gzip.size());
  deflate(&stream, Z_FINISH);
  gzip.resize(stream.total_out);
  deflateEnd(&stream);
  write_seed(root / "text", "seed-gzip", gzip);
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  codec_seeds(root);
  llama2c_seeds(root);
  tokenizer_seeds(root);
  rwkv_seeds(root);
  transformer_seeds(root);
  json_seeds(root);
  result_file_seeds(root);
  image_seeds(root);
  audio_seeds(root);
  text_seeds(root);
  std::cout << "seeds written to " << root << "\n";
}
