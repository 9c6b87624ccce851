// `bench compress FILE [-o OUT] --with NAME|JSON`: any registered compressor as a file compressor.
// The file is cut into chunks, coded on all cores, and saved in the stream container
// (docs/PROTOCOL.md section 8) that `bench decompress` and `bench decode` read. Language models
// code all 8 bits (the identity mapping), so any file round-trips exactly.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "common/error.h"
#include "common/human_format.h"
#include "harness/cli/command.h"
#include "harness/run/config.h"
#include "harness/run/progress.h"
#include "harness/run/saved_streams.h"
#include "harness/run/task_pool.h"

namespace lmc {
namespace {

struct CompressArgs {
  std::string input;
  std::string output;
  std::string with;
  std::size_t chunk_size = 0;
  unsigned threads = 0;
  bool quiet = false;
};

// A language model codes each chunk from an empty context, as in the paper: its chunks are the
// paper's 2048 bytes. A classical codec gets large chunks, where it compresses as it would whole.
constexpr std::size_t kModelChunk = 2048;
constexpr std::size_t kCodecChunk = std::size_t{1} << 20;

CompressorEntry compressor_entry(const std::string& with) {
  nlohmann::json object;
  if (!with.empty() && with.front() == '{') {
    try {
      object = nlohmann::json::parse(with);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(std::string("--with: not JSON: ") + e.what());
    }
  } else {
    object = {{"name", with}};
  }
  if (!object.is_object()) throw InputError("--with: expected a name or a JSON object");
  if (!object.contains("name")) object["name"] = object.value("kind", "");
  return parse_compressor(object, "--with");
}

// Reads up to `size` bytes; fewer only at the end of the input.
std::size_t read_up_to(std::istream& in, Bytes& chunk, std::size_t size) {
  chunk.resize(size);
  in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(size));
  chunk.resize(static_cast<std::size_t>(in.gcount()));
  return chunk.size();
}

int compress_command(const CompressArgs& args) {
  const auto started = std::chrono::steady_clock::now();
  const CompressorEntry entry = compressor_entry(args.with);
  const bool model = entry.kind == "lm" || entry.kind == "pretrained";
  const std::size_t chunk_size =
      args.chunk_size > 0 ? args.chunk_size : (model ? kModelChunk : kCodecChunk);
  const auto compressor =
      find_compressor_kind(entry.kind)
          ->make(entry.options, CodecContext{chunk_size, SevenBitMapping::Identity});

  const bool from_stdin = args.input == "-";
  std::ifstream file;
  if (!from_stdin) {
    file.open(args.input, std::ios::binary);
    if (!file) throw InputError(args.input + ": cannot open");
  }
  std::istream& in = from_stdin ? std::cin : file;
  const std::string output =
      !args.output.empty() ? args.output : (from_stdin ? "-" : args.input + ".lmcs");
  const std::filesystem::path spill =
      output == "-" ? std::filesystem::temp_directory_path() /
                          ("lmc-compress-" + std::to_string(::getpid()) + ".part")
                    : std::filesystem::path(output + ".part");
  const std::string name = from_stdin ? "<stdin>" : std::filesystem::path(args.input).string();
  const std::uint64_t size_hint = from_stdin ? 0 : std::filesystem::file_size(args.input);
  const unsigned threads =
      args.threads > 0 ? args.threads : std::max(1u, std::thread::hardware_concurrency());

  std::unique_ptr<ConsoleProgress> progress;
  if (!args.quiet) progress = std::make_unique<ConsoleProgress>(std::cerr, isatty(STDERR_FILENO));
  if (progress) {
    const std::uint64_t units = (size_hint + chunk_size - 1) / chunk_size;
    progress->start(std::span<const std::uint64_t>(&units, 1), size_hint);
  }
  // The header's data record is completed once the size is known; the writer takes it at the end.
  StreamContainerWriter writer(spill, nullptr);
  std::uint64_t chunks = 0;
  std::uint64_t total = 0;
  std::uint64_t compressed_total = 0;
  std::mutex totals_mutex;
  // A window of chunks at a time over the threads: memory stays a few chunks per thread.
  const std::size_t window = std::size_t{4} * threads;
  for (bool more = true; more;) {
    std::vector<Bytes> pieces;
    Bytes chunk;
    while (pieces.size() < window && read_up_to(in, chunk, chunk_size) > 0) {
      pieces.push_back(std::move(chunk));
    }
    more = pieces.size() == window;
    if (in.bad()) throw InputError(name + ": read failed");
    TaskPool pool;
    for (std::size_t p = 0; p < pieces.size(); ++p) {
      pool.add([&, p] {
        const auto t0 = std::chrono::steady_clock::now();
        const Bytes stream = compressor->compress(pieces[p]);
        writer.add(chunks + p, pieces[p], compressor->expected_roundtrip(pieces[p]), stream);
        {
          std::lock_guard lock(totals_mutex);
          compressed_total += stream.size();
        }
        if (progress) {
          progress->advance(
              0, 1, pieces[p].size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
      });
    }
    std::atomic<bool> stop{false};
    pool.run(threads, stop);
    chunks += pieces.size();
    for (const Bytes& piece : pieces) total += piece.size();
  }
  if (progress) progress->finish();
  progress.reset();

  writer.set_header(saved_stream_header(entry, *compressor, chunk_size, SevenBitMapping::Identity,
                                        {{"file", {{"name", name}, {"size", total}}}}));
  if (output == "-") {
    writer.write(std::cout, chunks);
  } else {
    writer.write_file(output, chunks);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << name << ": " << total << " bytes -> " << compressed_total << " bytes of streams ("
            << (total > 0 ? 100.0 * static_cast<double>(compressed_total) / total : 0.0) << " %), "
            << chunks << " chunks of " << chunk_size << " with " << entry.name << ", " << seconds
            << " s, " << (seconds > 0 ? static_cast<double>(total) / 1e3 / seconds : 0.0) << " kB/s"
            << (output == "-" ? "" : " -> " + output) << "\n";
  return kExitOk;
}

}  // namespace

Command add_compress_command(CLI::App& app) {
  auto args = std::make_shared<CompressArgs>();
  auto* command = app.add_subcommand(
      "compress", "Compress a file with any registered compressor (bench decompress undoes it)");
  command->add_option("input", args->input, "File to compress (- for stdin)")->required();
  command->add_option("-o,--output", args->output,
                      "Output container (default INPUT.lmcs; - for stdout, the default for stdin)");
  command
      ->add_option(
          "--with", args->with,
          "Compressor: a registered name (bench list), or a JSON entry, e.g. "
          "'{\"kind\":\"lm\",\"checkpoint\":\"models/checkpoints/transformer-200k.lmct\"}'")
      ->required();
  command
      ->add_option("--chunk-size", args->chunk_size,
                   "Bytes per chunk (default 2048 for language models, 1 MiB otherwise)")
      ->check(CLI::PositiveNumber);
  command->add_option("--threads", args->threads, "Threads (default: every core)");
  command->add_flag("--quiet", args->quiet, "No progress output");
  return {command, [args](const Invocation&) { return compress_command(*args); }};
}

}  // namespace lmc
