// Any program as a compressor (`"kind": "command"`): a compress and a decompress command
// template, run through /bin/sh once per chunk (chunked) and once for the whole stream
// (unchunked). Each run happens in a fresh empty directory; `{in}` and `{out}` stand for the
// files "in" and "out" in it, `{program}` for the program's resolved path. A template without
// `{in}` reads the input on stdin; one without `{out}` writes its output on stdout.
//
// Errors: a program that is not found is an InputError when the config is prepared (exit 2); a
// compress command that fails or times out is an InputError too (the program cannot compress
// this input); a decompress command that fails is CorruptDataError, and output that is not the
// input is caught by the harness's verification (exit 3). Timings include starting the
// processes; the settings record the program's path, its version line and its SHA-256.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "common/digest.h"
#include "common/error.h"
#include "compressors/compressor.h"

extern char** environ;

namespace lmc {

namespace {

namespace fs = std::filesystem;

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// A fresh directory under the system's temporary folder, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "lmc-command-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("command: cannot create a scratch directory: " + pattern);
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, ByteView bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("command: cannot write " + path.string());
}

Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};
struct SpawnAttributes {
  posix_spawnattr_t attributes;
  SpawnAttributes() { posix_spawnattr_init(&attributes); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

struct Outcome {
  bool timed_out = false;
  int exit_code = 0;  // -signal when killed by a signal
  std::string stderr_tail;
};

// Runs `shell_command` with /bin/sh in `dir`, stdin from `stdin_file` (or /dev/null), stdout
// into `stdout_file`, stderr into dir/stderr. Kills its process group after `timeout_s` (0: no
// limit).
Outcome run_shell(const std::string& shell_command, const fs::path& dir, const fs::path& stdin_file,
                  const fs::path& stdout_file, double timeout_s) {
  SpawnActions file_actions;
  posix_spawn_file_actions_t* actions = &file_actions.actions;
  const std::string in = stdin_file.empty() ? "/dev/null" : stdin_file.string();
  const std::string out = stdout_file.string();
  const std::string err = (dir / "stderr").string();
  const std::string cwd = dir.string();
  posix_spawn_file_actions_addchdir_np(actions, cwd.c_str());
  posix_spawn_file_actions_addopen(actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  SpawnAttributes spawn_attributes;
  posix_spawnattr_setflags(&spawn_attributes.attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&spawn_attributes.attributes, 0);

  std::string shell = "/bin/sh", dash_c = "-c", command = shell_command;
  char* argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, shell.c_str(), actions, &spawn_attributes.attributes, argv, environ);
  if (spawned != 0) {
    throw std::runtime_error("command: cannot start /bin/sh: " + std::string(strerror(spawned)));
  }
  Outcome outcome;
  const auto start = std::chrono::steady_clock::now();
  auto pause = std::chrono::microseconds(200);
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw std::runtime_error("command: waitpid failed");
    if (timeout_s > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
            timeout_s) {
      kill(-pid, SIGKILL);  // the shell and everything it started
      waitpid(pid, &status, 0);
      outcome.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20'000));
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  const Bytes err_bytes = read_file(err);
  const std::size_t keep = std::min<std::size_t>(err_bytes.size(), 400);
  outcome.stderr_tail.assign(err_bytes.end() - static_cast<std::ptrdiff_t>(keep), err_bytes.end());
  return outcome;
}

// The program named by `name`: a path (with a slash) or looked up in PATH.
fs::path resolve_program(const std::string& name, const std::string& key) {
  auto executable = [](const fs::path& p) {
    return fs::is_regular_file(p) && access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (executable(name)) return fs::absolute(name);
  } else if (const char* path = std::getenv("PATH")) {
    std::stringstream folders(path);
    for (std::string folder; std::getline(folders, folder, ':');) {
      const fs::path candidate = fs::path(folder.empty() ? "." : folder) / name;
      if (executable(candidate)) return fs::absolute(candidate);
    }
  }
  throw InputError(key + ": program not found or not executable: " + name);
}

struct Templates {
  std::string compress;
  std::string decompress;
  std::string version;
};

class CommandCompressor final : public Compressor {
 public:
  CommandCompressor(fs::path program, Templates templates, double timeout_s)
      : program_(std::move(program)), templates_(std::move(templates)), timeout_s_(timeout_s) {
    version_line_ = first_output_line(templates_.version);
    sha256_ = file_digest(program_, "sha256");
  }

  Bytes compress(ByteView data, Counters&) const override {
    return run(templates_.compress, data, "compress",
               [](const std::string& message) { throw InputError(message); });
  }

  Bytes decompress(ByteView compressed, std::size_t) const override {
    return run(templates_.decompress, compressed, "decompress",
               [](const std::string& message) { throw CorruptDataError(message); });
  }

  nlohmann::json settings() const override {
    return {{"program", program_.string()},
            {"program_version", version_line_},
            {"program_sha256", sha256_},
            {"compress", templates_.compress},
            {"decompress", templates_.decompress},
            {"timeout_s", timeout_s_},
            {"row_note",
             "external program run through /bin/sh per chunk and per whole stream; timings "
             "include starting its processes"}};
  }

 private:
  template <typename Fail>
  Bytes run(const std::string& command_template, ByteView input, const char* what,
            Fail fail) const {
    ScratchDir dir;
    const bool file_in = command_template.find("{in}") != std::string::npos;
    const bool file_out = command_template.find("{out}") != std::string::npos;
    write_file(dir.path() / "in", input);
    std::string command = replace_all(command_template, "{program}", quoted(program_.string()));
    command = replace_all(command, "{in}", "in");
    command = replace_all(command, "{out}", "out");
    const fs::path stdout_file = dir.path() / (file_out ? "stdout" : "out");
    const Outcome outcome = run_shell(command, dir.path(), file_in ? fs::path() : dir.path() / "in",
                                      stdout_file, timeout_s_);
    const std::string context = std::string("command: ") + what + " `" + command + "` on " +
                                std::to_string(input.size()) + " bytes ";
    if (outcome.timed_out) {
      fail(context + "timed out after " + std::to_string(timeout_s_) + " s");
    }
    if (outcome.exit_code != 0) {
      fail(context + "failed (exit status " + std::to_string(outcome.exit_code) +
           "): " + outcome.stderr_tail);
    }
    if (!fs::exists(dir.path() / "out")) fail(context + "wrote no output file");
    return read_file(dir.path() / "out");
  }

  std::string first_output_line(const std::string& version_template) const {
    ScratchDir dir;
    const std::string command =
        replace_all(version_template, "{program}", quoted(program_.string())) + " 2>&1";
    const Outcome outcome = run_shell(command, dir.path(), {}, dir.path() / "out", 10);
    const Bytes text = read_file(dir.path() / "out");
    std::stringstream lines(std::string(text.begin(), text.end()));
    for (std::string line; std::getline(lines, line);) {
      if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
    }
    return outcome.timed_out ? "(no output in 10 s)" : "(no output)";
  }

  static std::string quoted(const std::string& text) {
    return "'" + replace_all(text, "'", "'\\''") + "'";
  }

  fs::path program_;
  Templates templates_;
  double timeout_s_;
  std::string version_line_;
  std::string sha256_;
};

}  // namespace

CompressorKind command_kind() {
  return {
      .name = "command",
      .summary =
          "any program as a compressor: compress/decompress command templates run through "
          "/bin/sh per chunk and per whole stream ({in}, {out}: files; else stdin/stdout)",
      .options =
          {{"program", OptionType::String, nullptr,
            "the program (a path, or a name looked up in PATH): checked, hashed (SHA-256) and "
            "recorded; {program} in the templates is its resolved path"},
           {"compress", OptionType::String, nullptr,
            "compress command, e.g. \"{program} -9 -c\" (stdin to stdout) or \"{program} a "
            "{out} {in}\""},
           {"decompress", OptionType::String, nullptr, "decompress command, same placeholders"},
           {"version_command", OptionType::String, "{program} --version",
            "command whose first output line (stdout and stderr) is recorded as the version"},
           {"timeout_s", OptionType::Number, 0,
            "seconds one command may run before it is killed and the run stops; 0: no limit"}},
      .make = [](const Options& options, const CodecContext&) -> std::unique_ptr<Compressor> {
        const double timeout_s = options.number("timeout_s");
        if (timeout_s < 0) {
          throw InputError(options.key_path("timeout_s") + ": must be >= 0");
        }
        return std::make_unique<CommandCompressor>(
            resolve_program(options.string("program"), options.key_path("program")),
            Templates{options.string("compress"), options.string("decompress"),
                      options.string("version_command")},
            timeout_s);
      },
      .default_repetitions = 1,  // a process started per chunk
  };
}

}  // namespace lmc
