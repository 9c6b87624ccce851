// `bench data list | fetch | verify`: the corpora of the paper, downloaded and checked.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

#include "harness/cli/command.h"
#include "harness/fetch/data_fetch.h"

namespace lmc {
namespace {

struct DataArgs {
  std::string name;  // fetch: required; verify: optional (all corpora)
  std::string dir = "data";
  std::string from;
  bool keep_archive = false;
  int attempts = 5;
  double retry_delay = 2;  // seconds before the second attempt, doubled after each failure
};

void say_on_stderr(const std::string& line) { std::cerr << line << '\n'; }

int data_list_command(const DataArgs& args) {
  std::cout << "Corpora (bench data fetch NAME [--dir " << args.dir << "]):\n"
            << describe_catalog(active_catalog(), args.dir);
  return kExitOk;
}

int data_fetch_command(const DataArgs& args) {
  const auto catalog = active_catalog();
  FetchOptions options;
  options.dir = args.dir;
  options.from = args.from;
  options.keep_archive = args.keep_archive;
  options.download.attempts = args.attempts;
  options.download.retry_delay =
      std::chrono::milliseconds(static_cast<long long>(args.retry_delay * 1000));
  options.download.progress = &std::cerr;
  options.download.interactive = isatty(STDERR_FILENO);
  options.download.log = say_on_stderr;
  options.log = say_on_stderr;
  fetch_corpus(find_corpus(catalog, args.name), options);
  return kExitOk;
}

// Exit 0 when everything present checks out (absent corpora are only listed), 2 otherwise.
int data_verify_command(const DataArgs& args) {
  const auto catalog = active_catalog();
  std::vector<CorpusSource> chosen;
  if (args.name.empty()) {
    chosen = catalog;
  } else {
    chosen.push_back(find_corpus(catalog, args.name));
  }
  int bad = 0, ok = 0;
  for (const auto& source : chosen) {
    const CorpusCheck check = verify_corpus(source, args.dir, say_on_stderr);
    static constexpr const char* kStatus[] = {"absent", "partial", "ok", "BAD"};
    std::string name = source.name;
    name.resize(std::max<std::size_t>(name.size() + 1, 24), ' ');
    std::cout << name << kStatus[static_cast<int>(check.status)] << "  " << check.path.string()
              << ": " << check.detail << "\n"
              << std::flush;
    bad += check.status == CorpusCheck::Status::Bad;
    ok += check.status == CorpusCheck::Status::Ok;
  }
  std::cout << ok << " ok, " << bad << " bad under " << args.dir << "\n";
  return bad > 0 ? kExitBadInput : kExitOk;
}

}  // namespace

Command add_data_command(CLI::App& app) {
  auto args = std::make_shared<DataArgs>();
  auto* data = app.add_subcommand(
      "data", "Download and check the corpora (enwik8/9, LibriSpeech; ImageNet by hand)");
  data->require_subcommand(1);
  auto* data_list = data->add_subcommand("list", "Corpora bench can fetch, and what --dir holds");
  data_list->add_option("--dir", args->dir, "Data folder (default data)");
  auto* data_fetch = data->add_subcommand(
      "fetch", "Download, check and unpack one corpus into the data folder (resumable)");
  data_fetch->add_option("name", args->name, "Corpus (see bench data list)")->required();
  data_fetch->add_option("--dir", args->dir, "Data folder (default data)");
  data_fetch->add_option("--from", args->from,
                         "Mirror base URL, or a local folder holding the archive (offline)");
  data_fetch->add_flag("--keep-archive", args->keep_archive,
                       "Keep the downloaded archive after unpacking");
  data_fetch->add_option("--attempts", args->attempts, "Download attempts (default 5)")
      ->check(CLI::PositiveNumber);
  data_fetch
      ->add_option("--retry-delay", args->retry_delay,
                   "Seconds before retrying, doubled each time (default 2)")
      ->check(CLI::NonNegativeNumber);
  auto* data_verify = data->add_subcommand(
      "verify", "Check the corpora under the data folder (sizes, checksums, file counts)");
  data_verify->add_option("name", args->name, "Only this corpus (default: all)");
  data_verify->add_option("--dir", args->dir, "Data folder (default data)");

  return {data, [args, data_list, data_fetch, data_verify](const Invocation&) {
            if (*data_list) return data_list_command(*args);
            if (*data_fetch) return data_fetch_command(*args);
            return data_verify_command(*args);
          }};
}

}  // namespace lmc
