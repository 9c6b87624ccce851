// Result files appear whole or not at all: written to a temporary file beside the target, flushed,
// then renamed over it, so a crashed run never leaves half a file.
#pragma once

#include <filesystem>
#include <string_view>

namespace lmc {

void write_file_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace lmc
