// Helpers shared by the tests: where the shared real data lives, and how a test that needs data or
// a tool behaves when it is absent (skip on a user's clone, fail under CI).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace lmc::test {

inline std::filesystem::path shared_data() { return LMC_SHARED_DATA; }
inline std::filesystem::path source_dir() { return LMC_SOURCE_DIR; }

inline bool running_under_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// A fresh temporary folder, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    auto base = std::filesystem::temp_directory_path() / "lmc-test-XXXXXX";
    std::string pattern = base.string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace lmc::test

// Skips the test with `message` (streamed, so "what" << path works) on a user's machine, but
// fails it under CI=true: CI installs every dependency, so a missing one is a broken setup, not a
// reason for a test to vanish. The message should say what to install.
#define LMC_SKIP_UNLESS_CI(message)                                                          \
  do {                                                                                       \
    if (::lmc::test::running_under_ci()) FAIL() << message << " (CI=true: must be present)"; \
    GTEST_SKIP() << message;                                                                 \
  } while (0)

// Skips (fails under CI) when the file or folder `where`, installed by `install` (a Debian package
// or a script), is missing.
#define LMC_REQUIRE_INSTALLED(where, install)                                        \
  do {                                                                               \
    const std::filesystem::path lmc_installed_ = (where);                            \
    if (!std::filesystem::exists(lmc_installed_)) {                                  \
      LMC_SKIP_UNLESS_CI(lmc_installed_ << " not installed: install " << (install)); \
    }                                                                                \
  } while (0)

// Skips (fails under CI) when `relative` is missing under ../shared/data.
#define LMC_REQUIRE_SHARED_DATA(relative)                                                    \
  do {                                                                                       \
    const auto lmc_path_ = ::lmc::test::shared_data() / (relative);                          \
    if (!std::filesystem::exists(lmc_path_)) {                                               \
      LMC_SKIP_UNLESS_CI("shared data not present ("                                         \
                         << lmc_path_ << "); golden tests run where ../shared/data exists"); \
    }                                                                                        \
  } while (0)
