// JSON from untrusted text, with a nesting limit checked before nlohmann parses it: a document
// nested hundreds of thousands of levels deep would otherwise exhaust the stack of code that walks
// it (the parser's own structures, destructors, our validators).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <istream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lmc {

// Deeper than any config, result or checkpoint header this project writes (they use < 10).
inline constexpr std::size_t kMaxJsonNesting = 256;

// Throws InputError "<what>: JSON nested deeper than N levels" when `text` opens more than
// `max_depth` arrays/objects at once (brackets inside strings do not count).
void check_json_nesting(std::string_view text, const std::string& what,
                        std::size_t max_depth = kMaxJsonNesting);

// check_json_nesting, then nlohmann::json::parse (whose parse_error still reports bad syntax); a
// number beyond a double's range is an InputError naming `what`.
nlohmann::json parse_json(std::string_view text, const std::string& what,
                          std::size_t max_depth = kMaxJsonNesting);
nlohmann::json parse_json(std::istream& in, const std::string& what,
                          std::size_t max_depth = kMaxJsonNesting);

// The JSON document in the file at `path` (a config: of a run, of training, of a tokenizer),
// through parse_json; InputError "<path>: cannot open <what>" or "<path>: not valid JSON: ..."
// otherwise.
nlohmann::json read_json_file(const std::filesystem::path& path,
                              std::string_view what = "config file");

// `value` as a T when it is a JSON integer that T can hold; nullopt for a float, a string or an
// integer out of T's range. nlohmann's get<T>() casts a float such as 1e300 to T unchecked, which
// is undefined behaviour (found by the checkpoint and journal fuzzers).
template <typename T>
std::optional<T> exact_integer(const nlohmann::json& value) {
  using Limits = std::numeric_limits<T>;
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(Limits::max())) return std::nullopt;
    return static_cast<T>(v);
  }
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v < 0 && !Limits::is_signed) return std::nullopt;
    if (v > 0 && static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(Limits::max())) {
      return std::nullopt;
    }
    if (Limits::is_signed && v < static_cast<std::int64_t>(Limits::min())) return std::nullopt;
    return static_cast<T>(v);
  }
  return std::nullopt;
}

// object.at(key) through exact_integer: std::invalid_argument naming the key and the value when
// it is not a T (nlohmann's out_of_range when the key is missing); callers add the file.
template <typename T>
T integer_at(const nlohmann::json& object, const char* key) {
  const nlohmann::json& value = object.at(key);
  const std::optional<T> integer = exact_integer<T>(value);
  if (!integer) throw std::invalid_argument(std::string(key) + ": not a count: " + value.dump());
  return *integer;
}

}  // namespace lmc
