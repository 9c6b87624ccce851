// `bench decompress FILE [-o OUT]`: the inverse of `bench compress`. The compressor is rebuilt from
// the container's header (a moved model file is named with --model; its hash must match), every
// chunk is decoded on all cores, checked against its CRC-32 and written in order.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "harness/cli/command.h"
#include "harness/run/progress.h"
#include "harness/run/saved_streams.h"

namespace lmc {
namespace {

struct DecompressArgs {
  std::string input;
  std::string output;
  std::vector<std::string> models;
  unsigned threads = 0;
  bool quiet = false;
};

std::string default_output(const std::string& input) {
  const std::filesystem::path path(input);
  if (input == "-") return "-";
  if (path.extension() != ".lmcs") {
    throw InputError(input + ": does not end in .lmcs; name the output with -o");
  }
  return path.parent_path() / path.stem();
}

int decompress_command(const DecompressArgs& args) {
  const auto started = std::chrono::steady_clock::now();
  const std::string output = args.output.empty() ? default_output(args.input) : args.output;
  Bytes whole_input;  // stdin, held in memory: the index comes before the streams
  const StreamContainerReader container = [&] {
    if (args.input != "-") return StreamContainerReader::open_file(args.input);
    whole_input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return StreamContainerReader::from_memory(whole_input, "<stdin>");
  }();
  const std::vector<std::filesystem::path> models(args.models.begin(), args.models.end());
  const RebuiltCompressor rebuilt = rebuild_compressor(container, models);

  std::ofstream file;
  const std::string temporary = output + ".tmp";
  if (output != "-") {
    file.open(temporary, std::ios::binary | std::ios::trunc);
    if (!file) throw InputError(temporary + ": cannot create");
  }
  std::ostream& out = output == "-" ? std::cout : file;
  // Chunks finish out of order; each is written once every chunk before it is.
  std::mutex mutex;
  std::map<std::uint64_t, Bytes> pending;
  std::uint64_t next = 0;
  std::uint64_t total = 0;
  const DecodedChunkCheck write_in_order = [&](std::uint64_t i, const Bytes& decoded) {
    std::lock_guard lock(mutex);
    pending.emplace(i, decoded);
    for (auto it = pending.begin(); it != pending.end() && it->first == next;
         it = pending.erase(it), ++next) {
      out.write(reinterpret_cast<const char*>(it->second.data()),
                static_cast<std::streamsize>(it->second.size()));
      total += it->second.size();
    }
    if (!out) throw InputError(output + ": write failed");
  };
  std::unique_ptr<ConsoleProgress> progress;
  if (!args.quiet) progress = std::make_unique<ConsoleProgress>(std::cerr, isatty(STDERR_FILENO));
  const unsigned threads =
      args.threads > 0 ? args.threads : std::max(1u, std::thread::hardware_concurrency());
  try {
    decode_container(container, *rebuilt.compressor, threads, progress.get(), write_in_order);
  } catch (...) {
    if (output != "-") {
      file.close();
      std::filesystem::remove(temporary);
    }
    throw;
  }
  progress.reset();
  out.flush();
  if (output != "-") {
    file.close();
    if (!file) throw InputError(temporary + ": write failed");
    std::filesystem::rename(temporary, output);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << container.name() << ": " << container.chunks().size() << " chunks, " << total
            << " bytes decoded with " << rebuilt.name << ", every checksum matches, " << seconds
            << " s" << (output == "-" ? "" : " -> " + output) << "\n";
  return kExitOk;
}

}  // namespace

Command add_decompress_command(CLI::App& app) {
  auto args = std::make_shared<DecompressArgs>();
  auto* command = app.add_subcommand("decompress", "Decompress a file of bench compress");
  command->add_option("input", args->input, "Container (.lmcs; - for stdin)")->required();
  command->add_option("-o,--output", args->output,
                      "Output file (default INPUT without .lmcs; - for stdout)");
  command
      ->add_option("--model", args->models,
                   "Model file to use where the recorded one moved; its hash must match")
      ->allow_extra_args(false);
  command->add_option("--threads", args->threads, "Threads (default: every core)");
  command->add_flag("--quiet", args->quiet, "No progress output");
  return {command, [args](const Invocation&) { return decompress_command(*args); }};
}

}  // namespace lmc
