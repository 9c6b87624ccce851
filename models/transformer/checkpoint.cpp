#include "models/transformer/checkpoint.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/hash.h"
#include "common/json.h"

namespace lmc {

static_assert(std::endian::native == std::endian::little,
              "checkpoints store little-endian floats; add byte swapping for this platform");

namespace {

constexpr char kMagic[8] = {'L', 'M', 'C', 'T', 'R', 'N', 'S', 'F'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kPreambleSize = sizeof(kMagic) + 2 * sizeof(std::uint32_t);
// A header is a few kilobytes; anything far larger means the file is not a checkpoint.
constexpr std::uint32_t kMaxHeaderSize = 16u << 20;

// More floats than any tensor of ours holds (64 GiB); a shape beyond it is not a checkpoint's.
constexpr std::int64_t kMaxTensorElements = std::int64_t{1} << 34;

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (auto extent : shape) count *= extent;
  return count;
}

// The element count of a shape read from a file, or -1 when an extent is negative or the product
// passes kMaxTensorElements (checked before each multiplication, which could otherwise overflow).
std::int64_t checked_element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (auto extent : shape) {
    if (extent < 0 || (extent > 0 && count > kMaxTensorElements / extent)) return -1;
    count *= extent;
  }
  return count;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void append_u32(std::string& out, std::uint32_t value) {
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  out.append(bytes, 4);
}

}  // namespace

const NamedTensor& Checkpoint::tensor(const std::string& name,
                                      const std::vector<std::int64_t>& shape,
                                      const std::filesystem::path& source) const {
  for (const auto& t : tensors) {
    if (t.name != name) continue;
    if (t.shape != shape) {
      throw InputError(source.string() + ": tensor " + name + " has shape " +
                       shape_string(t.shape) + ", the architecture needs " + shape_string(shape));
    }
    return t;
  }
  throw InputError(source.string() + ": checkpoint has no tensor " + name);
}

void write_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint) {
  nlohmann::json header = checkpoint.header;
  header["tensors"] = nlohmann::json::array();
  for (const auto& t : checkpoint.tensors) {
    if (static_cast<std::int64_t>(t.values.size()) != element_count(t.shape)) {
      throw std::logic_error("tensor " + t.name + " does not match its shape");
    }
    header["tensors"].push_back({{"name", t.name}, {"shape", t.shape}});
  }
  const std::string header_text = header.dump();

  std::string preamble(kMagic, sizeof(kMagic));
  append_u32(preamble, kVersion);
  append_u32(preamble, static_cast<std::uint32_t>(header_text.size()));

  auto temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(temporary.string() + ": cannot open for writing");
    out.write(preamble.data(), static_cast<std::streamsize>(preamble.size()));
    out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    for (const auto& t : checkpoint.tensors) {
      out.write(reinterpret_cast<const char*>(t.values.data()),
                static_cast<std::streamsize>(t.values.size() * sizeof(float)));
    }
    out.flush();
    if (!out) throw InputError(temporary.string() + ": write failed (disk full?)");
  }
  std::filesystem::rename(temporary, path);
}

Checkpoint read_checkpoint(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw InputError(path.string() + ": model checkpoint not found (or not a file)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open model checkpoint");
  return read_checkpoint(in, std::filesystem::file_size(path), path);
}

Checkpoint read_checkpoint(std::istream& in, std::uint64_t file_size,
                           const std::filesystem::path& path) {
  auto fail = [&](const std::string& why) -> InputError {
    return InputError(path.string() + ": not a valid Transformer checkpoint (" + why + ")");
  };

  char preamble[kPreambleSize];
  if (file_size < kPreambleSize || !in.read(preamble, kPreambleSize)) {
    throw fail("file too short for the preamble");
  }
  if (std::memcmp(preamble, kMagic, sizeof(kMagic)) != 0) throw fail("wrong magic bytes");
  std::uint32_t version = 0, header_size = 0;
  std::memcpy(&version, preamble + 8, 4);
  std::memcpy(&header_size, preamble + 12, 4);
  if (version != kVersion) {
    throw fail("format version " + std::to_string(version) + ", this build reads " +
               std::to_string(kVersion));
  }
  if (header_size > kMaxHeaderSize || kPreambleSize + header_size > file_size) {
    throw fail("truncated header");
  }
  std::string header_text(header_size, '\0');
  in.read(header_text.data(), header_size);

  Checkpoint checkpoint;
  std::uint64_t expected_size = kPreambleSize + header_size;
  try {
    checkpoint.header = parse_json(header_text, path.string());
    for (const auto& entry : checkpoint.header.at("tensors")) {
      NamedTensor t;
      t.name = entry.at("name").get<std::string>();
      for (const auto& extent : entry.at("shape")) {
        const auto value = exact_integer<std::int64_t>(extent);
        if (!value) throw fail("bad shape of " + t.name + ": " + entry.at("shape").dump());
        t.shape.push_back(*value);
      }
      const auto count = checked_element_count(t.shape);
      if (count < 0) throw fail("bad shape of " + t.name + ": " + shape_string(t.shape));
      expected_size += static_cast<std::uint64_t>(count) * sizeof(float);
      checkpoint.tensors.push_back(std::move(t));
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("bad JSON header: ") + e.what());
  }
  if (expected_size != file_size) {
    throw fail("header describes " + std::to_string(expected_size) + " bytes, file has " +
               std::to_string(file_size) + (file_size < expected_size ? ": truncated" : ""));
  }
  for (auto& t : checkpoint.tensors) {
    t.values.resize(static_cast<std::size_t>(element_count(t.shape)));
    in.read(reinterpret_cast<char*>(t.values.data()),
            static_cast<std::streamsize>(t.values.size() * sizeof(float)));
  }
  if (!in) throw fail("read error");
  checkpoint.header.erase("tensors");
  return checkpoint;
}

TransformerShape checkpoint_architecture(const Checkpoint& checkpoint,
                                         const std::filesystem::path& source) {
  if (!checkpoint.header.contains("architecture")) {
    throw InputError(source.string() + ": checkpoint header has no \"architecture\"");
  }
  return TransformerShape::from_json(checkpoint.header["architecture"],
                                     source.string() + ": architecture");
}

std::string fnv1a64_file_hash(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open for hashing");
  std::uint64_t hash = kFnv1a64Basis;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    hash = fnv1a64(std::string_view(buffer, static_cast<std::size_t>(in.gcount())), hash);
  }
  return hex64(hash);
}

}  // namespace lmc
