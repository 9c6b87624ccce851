// Result folders written by earlier runs, read back: for `bench report` (merge several runs into
// one table) and `bench compare` (the CI regression gate: deterministic rows must not change).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
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

// A field of a row (or of the run) that differs from the baseline: the field's dotted path in the
// row ("compressed_bytes", "settings.model.kv_cache") and both values as JSON text ("(absent)" when
// one side lacks it).
struct FieldChange {
  std::string row;  // "dataset / compressor / mode", or "run" for the run's library versions
  std::string field;
  std::string baseline;
  std::string current;
};

struct RateChange {
  std::string row;  // "dataset / compressor / mode (raw_rate)"
  double baseline = 0;
  double current = 0;
};

// Seconds of the rows both runs have: reported, never gated (machines and loads differ).
struct TimingSummary {
  std::size_t rows = 0;
  double baseline_seconds = 0;
  double current_seconds = 0;
  std::string largest_row;  // the row whose compress seconds changed most, relatively
  double largest_baseline = 0;
  double largest_current = 0;
};

// How rows are checked. Exact (the default): every deterministic field of a row (sizes, counts,
// rates, the settings that decide the bytes) and the run's library versions must be equal.
// With a tolerance (percentage points), for rows a user declares approximate: only raw and
// adjusted rates are gated, and only when they move by more than the tolerance, either way.
struct CompareOptions {
  std::optional<double> tolerance;
};

struct Comparison {
  bool exact = true;
  std::vector<FieldChange> changed;     // deterministic fields that differ (gated when exact)
  std::vector<RateChange> beyond;       // with a tolerance: rates moved by more than it (gated)
  std::vector<RateChange> within;       // with a tolerance: rates moved, within it (reported)
  std::vector<std::string> missing;     // in the baseline, absent now
  std::vector<std::string> added;       // new rows
  std::vector<std::string> unverified;  // verified before, not any more
  std::vector<std::string> other_data;  // different chunks or bytes: rates not comparable
  TimingSummary timing;
  bool regressed() const {
    return (exact && !changed.empty()) || !beyond.empty() || !missing.empty() ||
           !unverified.empty() || !other_data.empty();
  }
};

// Compares two results.json documents (as load_results gives them) row by row.
Comparison compare_results(const nlohmann::json& current, const nlohmann::json& baseline,
                           const CompareOptions& options = {});

// The lines `bench compare` prints: gated findings first, then what is only reported.
std::string describe(const Comparison& comparison, const CompareOptions& options = {});

}  // namespace lmc
