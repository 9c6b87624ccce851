#include "harness/report/result_sets.h"

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
enum class RowValue { String, Number, Unsigned, Boolean };
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
};

bool has_type(const nlohmann::json& value, RowValue type) {
  switch (type) {
    case RowValue::String:
      return value.is_string();
    case RowValue::Number:
      return value.is_number();
    case RowValue::Unsigned:
      return value.is_number_unsigned();
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

Comparison compare_rows(const nlohmann::json& current, const nlohmann::json& baseline,
                        double tolerance) {
  Comparison comparison;
  std::map<std::string, const nlohmann::json*> now;
  for (const auto& row : current) now[row_key(row)] = &row;
  std::map<std::string, bool> seen;
  for (const auto& before : baseline) {
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
    for (const char* rate : {"raw_rate", "adjusted_rate"}) {
      const double b = before.at(rate).get<double>();
      const double a = after.at(rate).get<double>();
      const std::string label = key + " (" + rate + ")";
      if (a > b + tolerance) comparison.worse.push_back({label, b, a});
      if (a < b - tolerance) comparison.improved.push_back({label, b, a});
    }
    if (before.value("verified", false) && !after.value("verified", false)) {
      comparison.unverified.push_back(key);
    }
  }
  for (const auto& [key, row] : now) {
    if (!seen.count(key)) comparison.added.push_back(key);
  }
  return comparison;
}

std::string describe(const Comparison& comparison, double tolerance) {
  std::ostringstream out;
  char line[512];
  for (const auto& change : comparison.worse) {
    std::snprintf(line, sizeof line, "WORSE     %s: %.3f %% -> %.3f %% (%+.3f, tolerance %.3f)\n",
                  change.row.c_str(), change.baseline, change.current,
                  change.current - change.baseline, tolerance);
    out << line;
  }
  for (const auto& key : comparison.missing) out << "MISSING   " << key << "\n";
  for (const auto& key : comparison.unverified) out << "UNVERIFIED " << key << "\n";
  for (const auto& what : comparison.other_data) out << "OTHER DATA " << what << "\n";
  for (const auto& change : comparison.improved) {
    std::snprintf(line, sizeof line, "improved  %s: %.3f %% -> %.3f %% (%+.3f)\n",
                  change.row.c_str(), change.baseline, change.current,
                  change.current - change.baseline);
    out << line;
  }
  for (const auto& key : comparison.added) out << "new       " << key << "\n";
  return out.str();
}

}  // namespace lmc
