// Result folders written by earlier runs, read back: for `bench report` (merge several runs into
// one table) and `bench compare` (the CI regression gate on compression rates).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lmc {

// results.json of a result folder; throws InputError naming the file when it is missing or is
// not an lmc-bench result.
nlohmann::json load_results(const std::filesystem::path& dir);
// The same from the text of a results.json; `what` names it in errors (the seam the fuzzer
// feeds). Every key that report and compare read has its type checked here, so a crafted file is
// an InputError (exit 2) instead of a JSON type error deep inside them.
nlohmann::json parse_results(std::string_view text, const std::string& what);

// The rows of several runs, in the order given; a later run's row replaces an earlier one with
// the same dataset x compressor x mode.
nlohmann::json merge_rows(const std::vector<nlohmann::json>& results);

struct RateChange {
  std::string row;  // "dataset / compressor / mode"
  double baseline = 0;
  double current = 0;
};

struct Comparison {
  std::vector<RateChange> worse;        // raw or adjusted rate up by more than the tolerance
  std::vector<RateChange> improved;     // down by more than the tolerance
  std::vector<std::string> missing;     // in the baseline, absent now
  std::vector<std::string> added;       // new rows
  std::vector<std::string> unverified;  // verified before, not any more
  std::vector<std::string> other_data;  // different chunks or bytes: rates not comparable
  bool regressed() const {
    return !worse.empty() || !missing.empty() || !unverified.empty() || !other_data.empty();
  }
};

// Compares rates row by row; `tolerance` is in percentage points.
Comparison compare_rows(const nlohmann::json& current, const nlohmann::json& baseline,
                        double tolerance);

std::string describe(const Comparison& comparison, double tolerance);

}  // namespace lmc
