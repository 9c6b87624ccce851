// The readers of a results.json (harness/report/result_sets.h): parse, then merge and compare, as
// `bench report` and `bench compare` do.
#include <string_view>

#include "fuzz_support.h"
#include "harness/report/result_sets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  lmc::fuzz::accept_documented_errors([&] {
    const nlohmann::json results = lmc::parse_results(text, "fuzz/results.json");
    nlohmann::json merged = results;
    merged["rows"] = lmc::merge_rows({results, results});
    lmc::describe(lmc::compare_results(merged, results));
    const lmc::CompareOptions approximate{0.1};
    lmc::describe(lmc::compare_results(merged, results, approximate), approximate);
  });
  return 0;
}
