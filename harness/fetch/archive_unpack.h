// Unpacks the members of a downloaded archive (zip, tar.gz, anything libarchive reads) that a
// corpus needs, so `bench data fetch` never carries its own format reader.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace lmc {

// Where member `name` (its path inside the archive) goes, relative to the destination; nullopt
// skips it, "" writes it to the destination path itself (an archive that holds one file).
using MemberRule = std::function<std::optional<std::string>(const std::string& name)>;

struct UnpackResult {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

// Writes the regular files `rule` selects under `destination`. Throws InputError naming the
// archive on a damaged archive, and for members whose output path would leave `destination`.
UnpackResult unpack_archive(const std::filesystem::path& archive,
                            const std::filesystem::path& destination, const MemberRule& rule,
                            const std::function<void(const UnpackResult&)>& progress = {});

}  // namespace lmc
