// Image and sound files of byte chunks, for looking at samples (bench samples): an 8-bit gray PNG
// and an 8-bit unsigned PCM WAV. Each is encoded in memory and written with
// write_file_atomically, so it appears whole or not at all; errors name the file.
#pragma once

#include <cstddef>
#include <filesystem>

#include "common/bytes.h"

namespace lmc {

// `pixels`: rows of `width` gray bytes, top row first; pixels.size() must be a multiple of width.
void write_gray_png(const std::filesystem::path& path, ByteView pixels, std::size_t width);

// One channel, one unsigned byte per sample (128 = silence), as the audio datasets give them.
void write_u8_wav(const std::filesystem::path& path, ByteView samples, int sample_rate);

}  // namespace lmc
