// The JSON reader every config, result, journal and checkpoint header goes through
// (common/json.h): its nesting limit, then nlohmann's parser. A document that parses must
// survive a dump and parse again unchanged.
#include <cstdlib>
#include <string_view>

#include "common/json.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json parsed;
  try {
    parsed = lmc::parse_json(text, "fuzz.json");
  } catch (const lmc::InputError&) {
    return 0;
  } catch (const nlohmann::json::parse_error&) {
    return 0;  // bad syntax: the documented error of the parser
  }
  // Invalid UTF-8 inside strings parses but cannot be dumped strictly; replace it as reports do.
  const std::string again = parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const nlohmann::json reparsed = lmc::parse_json(again, "fuzz.json (dumped)");
  if (reparsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) != again) abort();
  return 0;
}
