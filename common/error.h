// Error types shared by every layer. Each carries enough context (file, config key, chunk) for a
// user to act on it; the CLI catches them once and maps them to exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace lmc {

// Bad input from the user: a config key, a missing file, an unreadable dataset. Exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A compressed stream that does not decode, or decodes to other bytes than were compressed.
// Exit code 3 when it happens during a run's verification.
class CorruptDataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace lmc
