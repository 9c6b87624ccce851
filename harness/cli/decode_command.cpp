// `bench decode DIR|FILE`: decodes saved streams (bench run --save-compressed, bench compress) with
// a compressor rebuilt from each container's header, on all cores; checks every chunk's checksum
// and, where the dataset the row was run on is at hand, compares the decoded bytes with it.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "common/error.h"
#include "harness/cli/command.h"
#include "harness/run/progress.h"
#include "harness/run/saved_streams.h"

namespace lmc {
namespace {

struct DecodeArgs {
  std::string input;
  std::vector<std::string> models;
  unsigned threads = 0;
  bool quiet = false;
};

std::vector<std::filesystem::path> containers_in(const std::filesystem::path& input) {
  if (!std::filesystem::exists(input)) throw InputError(input.string() + ": not found");
  if (!std::filesystem::is_directory(input)) return {input};
  std::vector<std::filesystem::path> files;
  for (const auto& item : std::filesystem::directory_iterator(input)) {
    if (item.is_regular_file() && item.path().extension() == ".lmcs") files.push_back(item.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError(input.string() + ": holds no .lmcs container");
  return files;
}

// The dataset a row was run on, when it is at hand (same kind, options and enough chunks);
// otherwise nullptr and `why` says what is missing.
std::unique_ptr<Dataset> dataset_at_hand(const StreamContainerReader& container,
                                         std::size_t chunk_size, std::uint64_t& first,
                                         std::string& why) {
  const nlohmann::json& data = container.header().value("data", nlohmann::json::object());
  if (!data.contains("dataset") || !data.at("dataset").is_object()) {
    why = "no dataset recorded";
    return nullptr;
  }
  const nlohmann::json& dataset = data.at("dataset");
  const DatasetKind* kind = find_dataset_kind(dataset.value("kind", ""));
  if (kind == nullptr || !dataset.contains("options") || !data.contains("first_chunk")) {
    throw InputError(container.name() + ": damaged header: data.dataset has no known kind");
  }
  first = data.value("first_chunk", std::uint64_t{0});
  try {
    auto made = kind->make(Options::validate(dataset.at("options"), kind->options,
                                             container.name() + ": data.dataset.options"),
                           chunk_size);
    if (made->available_chunks() < first + container.chunks().size()) {
      why = "the dataset at hand holds fewer chunks";
      return nullptr;
    }
    return made;
  } catch (const InputError& e) {
    why = e.what();
    return nullptr;
  }
}

void decode_one(const std::filesystem::path& path, const DecodeArgs& args,
                const std::vector<std::filesystem::path>& models) {
  const auto started = std::chrono::steady_clock::now();
  const StreamContainerReader container = StreamContainerReader::open_file(path);
  const RebuiltCompressor rebuilt = rebuild_compressor(container, models);
  std::uint64_t first = 0;
  std::string why;
  const auto dataset = dataset_at_hand(container, rebuilt.chunk_size, first, why);
  const auto& records = container.chunks();
  const DecodedChunkCheck compare = [&](std::uint64_t i, const Bytes& decoded) {
    if (!dataset) return;
    Bytes chunk(rebuilt.chunk_size);
    if (!dataset->open(first + i)->next(chunk)) {
      throw InputError(container.name() + ": chunk " + std::to_string(i) +
                       ": the dataset ended early");
    }
    if (crc32_of(chunk) != records[i].original_crc) {
      throw InputError(container.name() + ": chunk " + std::to_string(i) +
                       ": the dataset at hand holds other bytes than were coded (its CRC-32 "
                       "differs); it is not the recorded data");
    }
    if (rebuilt.compressor->expected_roundtrip(chunk) != decoded) {
      throw RoundTripError("decode failed: " + container.name() + ": chunk " + std::to_string(i) +
                           ": decoded bytes differ from the dataset's");
    }
  };
  std::unique_ptr<ConsoleProgress> progress;
  if (!args.quiet) progress = std::make_unique<ConsoleProgress>(std::cerr, isatty(STDERR_FILENO));
  const unsigned threads =
      args.threads > 0 ? args.threads : std::max(1u, std::thread::hardware_concurrency());
  decode_container(container, *rebuilt.compressor, threads, progress.get(), compare);
  progress.reset();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "ok " << path.string() << ": " << rebuilt.name << ", " << records.size()
            << " chunks decoded, every checksum matches"
            << (dataset ? ", bytes equal the dataset's" : " (dataset not at hand: " + why + ")")
            << " [" << seconds << " s]\n";
}

int decode_command(const DecodeArgs& args) {
  std::vector<std::filesystem::path> models(args.models.begin(), args.models.end());
  std::size_t failed_input = 0;
  std::size_t failed_decode = 0;
  const auto files = containers_in(args.input);
  for (const auto& file : files) {
    try {
      decode_one(file, args, models);
    } catch (const RoundTripError& e) {
      std::cerr << "error: " << e.what() << "\n";
      ++failed_decode;
    } catch (const InputError& e) {
      std::cerr << "error: " << e.what() << "\n";
      ++failed_input;
    }
  }
  const std::string summary = std::to_string(files.size() - failed_decode - failed_input) + " of " +
                              std::to_string(files.size()) + " containers decoded";
  if (failed_decode > 0) throw RoundTripError(summary + "; a chunk decoded to other bytes");
  if (failed_input > 0) throw InputError(summary);
  std::cout << summary << "\n";
  return kExitOk;
}

}  // namespace

Command add_decode_command(CLI::App& app) {
  auto args = std::make_shared<DecodeArgs>();
  auto* decode = app.add_subcommand(
      "decode", "Decode saved streams (bench run --save-compressed) and check every chunk");
  decode->add_option("input", args->input, "A .lmcs container, or a folder of them")->required();
  decode
      ->add_option("--model", args->models,
                   "Model file to use where a recorded one moved (same file name, or the only "
                   "one given); its hash must match the recorded one")
      ->allow_extra_args(false);
  decode->add_option("--threads", args->threads, "Decoding threads (default: every core)");
  decode->add_flag("--quiet", args->quiet, "No progress output");
  return {decode, [args](const Invocation&) { return decode_command(*args); }};
}

}  // namespace lmc
