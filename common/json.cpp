#include "common/json.h"

#include <fstream>
#include <iterator>

#include "common/error.h"

namespace lmc {

void check_json_nesting(std::string_view text, const std::string& what, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        throw InputError(what + ": JSON nested deeper than " + std::to_string(max_depth) +
                         " levels (the limit)");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

nlohmann::json parse_json(std::string_view text, const std::string& what, std::size_t max_depth) {
  check_json_nesting(text, what, max_depth);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::out_of_range& e) {
    // A number too large for a double (1e999): valid syntax, so not a parse_error that callers
    // turn into "not valid JSON"; found by the JSON fuzzer.
    throw InputError(what + ": not valid JSON: " + e.what());
  }
}

nlohmann::json parse_json(std::istream& in, const std::string& what, std::size_t max_depth) {
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_json(text, what, max_depth);
}

nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open " + std::string(what));
  try {
    return parse_json(in, path.string());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string() + ": not valid JSON: " + e.what());
  }
}

}  // namespace lmc
