// The run journal reader (harness/run/journal.h) that `bench run --resume` uses, on an arbitrary
// journal.jsonl. It reads a folder, so the input is written to one temporary folder first.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz_support.h"
#include "harness/run/journal.h"

namespace {

std::filesystem::path folder;
constexpr const char* kFingerprint = "0123456789abcdef";

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  folder =
      std::filesystem::temp_directory_path() / ("lmc-fuzz-journal-" + std::to_string(getpid()));
  std::filesystem::create_directories(folder);
  std::atexit([] { std::filesystem::remove_all(folder); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::ofstream(folder / lmc::RunJournal::kFileName, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  lmc::fuzz::accept_documented_errors([&] {
    const lmc::RunJournal journal = lmc::RunJournal::resume(folder, kFingerprint);
    lmc::PartialResult sum;
    for (const auto& entry : journal.entries()) {
      for (const auto& partial : entry.partials) sum += partial;
    }
  });
  return 0;
}
