#include "harness/report/result_sets.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "common/error.h"
#include "common/json.h"

namespace lmc {

nlohmann::json load_results(const std::filesystem::path& dir) {
  const auto path = dir / "results.json";
  std::ifstream in(path);
  if (!in)
    throw InputError(path.string() + ": not found (is " + dir.string() + " a result folder?)");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_results(text, path.string());
}

namespace {

// The keys of a row that report and compare read, and the JSON type each must have.
enum class RowValue { String, Number, Unsigned, UnsignedOrNull, Boolean };
struct RowKey {
  const char* name;
  RowValue type;
  bool required;
};
constexpr RowKey kRowKeys[] = {
    {"dataset", RowValue::String, true},
    {"compressor", RowValue::String, true},
    {"mode", RowValue::String, true},
    {"raw_rate", RowValue::Number, true},
    {"adjusted_rate", RowValue::Number, true},
    {"chunk_size", RowValue::Unsigned, false},  // required of chunked rows, below
    {"chunks", RowValue::Unsigned, false},
    {"raw_bytes", RowValue::Unsigned, false},
    {"verified", RowValue::Boolean, false},
    {"note", RowValue::String, false},
    {"dataset_kind", RowValue::String, false},
    {"compressor_kind", RowValue::String, false},
    {"parameters", RowValue::Unsigned, false},
    {"seconds", RowValue::Number, false},
    {"seconds_min", RowValue::Number, false},
    {"seconds_max", RowValue::Number, false},
    {"decompress_seconds", RowValue::Number, false},
    {"decompress_seconds_min", RowValue::Number, false},
    {"decompress_seconds_max", RowValue::Number, false},
    {"mb_per_s", RowValue::Number, false},
    {"repetitions", RowValue::Unsigned, false},
    {"peak_rss_bytes", RowValue::UnsignedOrNull, false},  // null: not measured
    {"peak_rss_growth_bytes", RowValue::UnsignedOrNull, false},
};

bool has_type(const nlohmann::json& value, RowValue type) {
  switch (type) {
    case RowValue::String:
      return value.is_string();
    case RowValue::Number:
      return value.is_number();
    case RowValue::Unsigned:
      return value.is_number_unsigned();
    case RowValue::UnsignedOrNull:
      return value.is_number_unsigned() || value.is_null();
    case RowValue::Boolean:
      return value.is_boolean();
  }
  return false;
}

}  // namespace

nlohmann::json parse_results(std::string_view text, const std::string& what) {
  check_json_nesting(text, what);
  nlohmann::json results = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (results.is_discarded() || !results.is_object() || !results.contains("schema") ||
      results["schema"] != "lmc-bench/results/1" || !results.contains("rows") ||
      !results["rows"].is_array()) {
    throw InputError(what + ": not an lmc-bench result (schema lmc-bench/results/1)");
  }
  for (const auto& row : results["rows"]) {
    if (!row.is_object()) throw InputError(what + ": a row is not a JSON object");
    for (const RowKey& key : kRowKeys) {
      if (!row.contains(key.name)) {
        if (key.required) throw InputError(what + ": a row lacks \"" + key.name + "\"");
        continue;
      }
      if (!has_type(row[key.name], key.type)) {
        throw InputError(what + ": a row's \"" + key.name +
                         "\" has the wrong type: " + row[key.name].dump());
      }
    }
    if (row["mode"] != "unchunked" && !row.contains("chunk_size")) {
      throw InputError(what + ": a chunked row lacks \"chunk_size\"");
    }
  }
  return results;
}

namespace {

std::string row_key(const nlohmann::json& row) {
  return row.at("dataset").get<std::string>() + " / " + row.at("compressor").get<std::string>() +
         " / " + row.at("mode").get<std::string>();
}

}  // namespace

nlohmann::json merge_rows(const std::vector<nlohmann::json>& results) {
  nlohmann::json merged = nlohmann::json::array();
  std::map<std::string, std::size_t> position;
  for (const auto& result : results) {
    for (const auto& row : result.at("rows")) {
      const std::string key = row_key(row);
      if (auto it = position.find(key); it != position.end()) {
        merged[it->second] = row;
      } else {
        position[key] = merged.size();
        merged.push_back(row);
      }
    }
  }
  return merged;
}

namespace {

// What a row records that does not decide its bytes, so may differ between two runs of the same
// source and data: time and its spread (machines and loads differ), how many repetitions timed it
// (a run may ask for more or fewer), the process's peak memory (allocators and libraries differ),
// and the floating-point sums of -log2 p, whose last bits depend on how the chunks were split
// among threads. Everything else in a row is deterministic and compared.
constexpr const char* kVolatileFields[] = {"seconds",
                                           "seconds_min",
                                           "seconds_max",
                                           "decompress_seconds",
                                           "decompress_seconds_min",
                                           "decompress_seconds_max",
                                           "mb_per_s",
                                           "repetitions",
                                           "peak_rss_bytes",
                                           "peak_rss_growth_bytes",
                                           "counters.ideal_bits",
                                           "counters.escape_bits"};

// Settings that describe the machine or where a file lies, not the bytes: the kernel path (the
// determinism contract makes scalar, AVX2 and AVX-512 bit-identical), the lockstep width measured
// on the machine, CPU and thread counts, and file locations (the content hash beside each is
// compared). Matched as the last components of a setting's path.
constexpr const char* kMachineSettings[] = {"kernels", "decode_width", "cpu_variant",
                                            "cpu",     "threads",      "checkpoint",
                                            "path",    "file",         "tokenizer.library"};

// The run's library versions that do not decide any compressed byte.
constexpr const char* kIgnoredLibraries[] = {"nlohmann_json"};

bool ends_with_component(const std::string& path, std::string_view suffix) {
  if (path.size() < suffix.size() ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  return path.size() == suffix.size() || path[path.size() - suffix.size() - 1] == '.';
}

bool ignored_field(const std::string& field) {
  for (const char* name : kVolatileFields)
    if (field == name) return true;
  if (field.rfind("settings.", 0) == 0) {
    for (const char* name : kMachineSettings)
      if (ends_with_component(field, name)) return true;
  }
  return false;
}

std::string json_text(const nlohmann::json* value) {
  return value == nullptr ? "(absent)" : value->dump();
}

// Every leaf under `before` and `after` whose value differs, objects walked key by key (so a
// changed setting is named by its own path). nlohmann compares numbers by value, so 447470 and
// 447470.0 are equal.
void diff_fields(const std::string& row, const std::string& prefix, const nlohmann::json* before,
                 const nlohmann::json* after, std::vector<FieldChange>& out) {
  if (!prefix.empty() && ignored_field(prefix)) return;
  if (before != nullptr && after != nullptr && before->is_object() && after->is_object()) {
    std::map<std::string, std::pair<const nlohmann::json*, const nlohmann::json*>> keys;
    for (const auto& [key, value] : before->items()) keys[key].first = &value;
    for (const auto& [key, value] : after->items()) keys[key].second = &value;
    for (const auto& [key, sides] : keys) {
      diff_fields(row, prefix.empty() ? key : prefix + "." + key, sides.first, sides.second, out);
    }
    return;
  }
  if (before == nullptr || after == nullptr || *before != *after) {
    out.push_back({row, prefix, json_text(before), json_text(after)});
  }
}

const nlohmann::json* member(const nlohmann::json& object, const char* key) {
  return object.is_object() && object.contains(key) ? &object[key] : nullptr;
}

// The run's library versions, less those that decide no byte.
nlohmann::json libraries_of(const nlohmann::json& results) {
  const nlohmann::json* run = member(results, "run");
  const nlohmann::json* libraries = run != nullptr ? member(*run, "libraries") : nullptr;
  nlohmann::json versions =
      libraries != nullptr && libraries->is_object() ? *libraries : nlohmann::json::object();
  for (const char* name : kIgnoredLibraries) versions.erase(name);
  return versions;
}

// The codecs' own versions are in each row's settings too, but the decoders that make the input
// bytes (libsndfile, stb_image) are only in the run's list.
void diff_libraries(const nlohmann::json& current, const nlohmann::json& baseline,
                    std::vector<FieldChange>& out) {
  const nlohmann::json before = libraries_of(baseline), after = libraries_of(current);
  diff_fields("run", "libraries", &before, &after, out);
}

double seconds_of(const nlohmann::json& row) {
  const nlohmann::json* seconds = member(row, "seconds");
  return seconds != nullptr && seconds->is_number() ? seconds->get<double>() : 0.0;
}

void add_timing(TimingSummary& timing, const std::string& key, const nlohmann::json& before,
                const nlohmann::json& after) {
  const double b = seconds_of(before), a = seconds_of(after);
  ++timing.rows;
  timing.baseline_seconds += b;
  timing.current_seconds += a;
  // Relative change, against at least a millisecond so that rows of microseconds do not win.
  const auto change = [](double from, double to) {
    return std::abs(to - from) / std::max(from, 1e-3);
  };
  if (timing.largest_row.empty() ||
      change(b, a) > change(timing.largest_baseline, timing.largest_current)) {
    timing.largest_row = key;
    timing.largest_baseline = b;
    timing.largest_current = a;
  }
}

// With a tolerance: raw and adjusted rates, either direction.
void compare_rates(const std::string& key, const nlohmann::json& before,
                   const nlohmann::json& after, double tolerance, Comparison& comparison) {
  for (const char* rate : {"raw_rate", "adjusted_rate"}) {
    const double b = before.at(rate).get<double>();
    const double a = after.at(rate).get<double>();
    if (a == b) continue;
    const RateChange change{key + " (" + rate + ")", b, a};
    (std::abs(a - b) > tolerance ? comparison.beyond : comparison.within).push_back(change);
  }
}

}  // namespace

Comparison compare_results(const nlohmann::json& current, const nlohmann::json& baseline,
                           const CompareOptions& options) {
  Comparison comparison;
  comparison.exact = !options.tolerance.has_value();
  std::map<std::string, const nlohmann::json*> now;
  for (const auto& row : current.at("rows")) now[row_key(row)] = &row;
  std::map<std::string, bool> seen;
  for (const auto& before : baseline.at("rows")) {
    const std::string key = row_key(before);
    seen[key] = true;
    auto it = now.find(key);
    if (it == now.end()) {
      comparison.missing.push_back(key);
      continue;
    }
    const nlohmann::json& after = *it->second;
    if (before.value("chunks", 0ull) != after.value("chunks", 0ull) ||
        before.value("raw_bytes", 0ull) != after.value("raw_bytes", 0ull)) {
      comparison.other_data.push_back(
          key + ": " + std::to_string(before.value("chunks", 0ull)) + " -> " +
          std::to_string(after.value("chunks", 0ull)) + " chunks, " +
          std::to_string(before.value("raw_bytes", 0ull)) + " -> " +
          std::to_string(after.value("raw_bytes", 0ull)) + " raw bytes");
      continue;
    }
    if (before.value("verified", false) && !after.value("verified", false)) {
      comparison.unverified.push_back(key);
    }
    diff_fields(key, "", &before, &after, comparison.changed);
    if (options.tolerance) compare_rates(key, before, after, *options.tolerance, comparison);
    add_timing(comparison.timing, key, before, after);
  }
  for (const auto& [key, row] : now) {
    if (!seen.count(key)) comparison.added.push_back(key);
  }
  diff_libraries(current, baseline, comparison.changed);
  return comparison;
}

namespace {

void describe_rates(std::ostringstream& out, const char* label,
                    const std::vector<RateChange>& changes) {
  char line[512];
  for (const auto& change : changes) {
    std::snprintf(line, sizeof line, "%s %s: %.6f %% -> %.6f %% (%+.6f)\n", label,
                  change.row.c_str(), change.baseline, change.current,
                  change.current - change.baseline);
    out << line;
  }
}

void describe_timing(std::ostringstream& out, const TimingSummary& timing) {
  if (timing.rows == 0) return;
  char line[512];
  const double total_change =
      timing.baseline_seconds > 0
          ? 100.0 * (timing.current_seconds - timing.baseline_seconds) / timing.baseline_seconds
          : 0.0;
  std::snprintf(line, sizeof line,
                "timing    (reported, not gated) compress seconds of %zu rows: %.3f -> %.3f "
                "(%+.1f %%); largest change %s: %.3f -> %.3f s\n",
                timing.rows, timing.baseline_seconds, timing.current_seconds, total_change,
                timing.largest_row.c_str(), timing.largest_baseline, timing.largest_current);
  out << line;
}

}  // namespace

std::string describe(const Comparison& comparison, const CompareOptions& options) {
  std::ostringstream out;
  // Exact: a changed field fails; with a tolerance it only explains the rate changes.
  const char* changed_label = comparison.exact ? "CHANGED  " : "changed  ";
  for (const auto& change : comparison.changed) {
    out << changed_label << " " << change.row << ": " << change.field << " " << change.baseline
        << " -> " << change.current << "\n";
  }
  if (options.tolerance) {
    char label[64];
    std::snprintf(label, sizeof label, "BEYOND %.3f", *options.tolerance);
    describe_rates(out, label, comparison.beyond);
  }
  for (const auto& key : comparison.missing) out << "MISSING   " << key << "\n";
  for (const auto& key : comparison.unverified) out << "UNVERIFIED " << key << "\n";
  for (const auto& what : comparison.other_data) out << "OTHER DATA " << what << "\n";
  describe_rates(out, "within tolerance", comparison.within);
  for (const auto& key : comparison.added) out << "new       " << key << "\n";
  describe_timing(out, comparison.timing);
  return out.str();
}

}  // namespace lmc
