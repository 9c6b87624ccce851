// Runs the built `bench` program for end-to-end tests: its exit code and its output (stdout and
// stderr together).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace lmc::test {

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr
};

// Runs `command` through the shell: its exit code and its output (what it writes to stdout; add
// 2>&1 for stderr too).
inline CommandResult run_command(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::string output;
  std::array<char, 4096> buffer;
  for (std::size_t n; (n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) {
    output.append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// `environment` is put before the command ("VAR=value"), for tests that set variables.
inline CommandResult run_bench(const std::string& arguments, const std::string& environment = "") {
  return run_command(environment + " " + std::string(LMC_BENCH_BINARY) + " " + arguments + " 2>&1");
}

}  // namespace lmc::test
