// JSON from untrusted text, with a nesting limit checked before nlohmann parses it: a document
// nested hundreds of thousands of levels deep would otherwise exhaust the stack of code that walks
// it (the parser's own structures, destructors, our validators).
#pragma once

#include <cstddef>
#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lmc {

// Deeper than any config, result or checkpoint header this project writes (they use < 10).
inline constexpr std::size_t kMaxJsonNesting = 256;

// Throws InputError "<what>: JSON nested deeper than N levels" when `text` opens more than
// `max_depth` arrays/objects at once (brackets inside strings do not count).
void check_json_nesting(std::string_view text, const std::string& what,
                        std::size_t max_depth = kMaxJsonNesting);

// check_json_nesting, then nlohmann::json::parse (whose parse_error still reports bad syntax).
nlohmann::json parse_json(std::string_view text, const std::string& what,
                          std::size_t max_depth = kMaxJsonNesting);
nlohmann::json parse_json(std::istream& in, const std::string& what,
                          std::size_t max_depth = kMaxJsonNesting);

}  // namespace lmc
