// `bench compare`: the regression gate between a new result folder and a baseline.
#include <iostream>
#include <memory>
#include <optional>

#include "common/error.h"
#include "harness/cli/command.h"
#include "harness/report/result_sets.h"

namespace lmc {
namespace {

struct CompareArgs {
  std::string current;
  std::string baseline;
  std::optional<double> tolerance;  // absent: the exact check
};

int compare_command(const CompareArgs& args) {
  if (args.tolerance && *args.tolerance < 0) throw InputError("--tolerance: must be >= 0");
  const nlohmann::json current = load_results(args.current);
  const nlohmann::json baseline = load_results(args.baseline);
  const CompareOptions options{args.tolerance};
  const Comparison comparison = compare_results(current, baseline, options);
  std::cout << describe(comparison, options);
  std::cout << (comparison.regressed() ? "FAIL" : "OK") << ": " << comparison.changed.size()
            << " changed fields, " << comparison.missing.size() << " missing, "
            << comparison.unverified.size() << " no longer verified, "
            << comparison.other_data.size() << " on other data, " << comparison.added.size()
            << " new";
  if (args.tolerance) {
    std::cout << ", " << comparison.beyond.size() << " rates beyond and "
              << comparison.within.size() << " within the tolerance of " << *args.tolerance
              << " percentage points (changed fields not gated)\n";
  } else {
    std::cout << " (exact: sizes, counts, rates and settings; timings not gated)\n";
  }
  return comparison.regressed() ? kExitRegression : kExitOk;
}

}  // namespace

Command add_compare_command(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* compare = app.add_subcommand(
      "compare",
      "Exit 4 if any row of NEW differs from BASELINE's in sizes, counts, rates or settings");
  compare->add_option("new", args->current, "Result folder to check")->required();
  compare->add_option("baseline", args->baseline, "Result folder to compare with")->required();
  compare->add_option("--tolerance", args->tolerance,
                      "Rows are approximate: gate only raw and adjusted rates that move by more "
                      "than this many percentage points, either way (default: exact)");

  return {compare, [args](const Invocation&) { return compare_command(*args); }};
}

}  // namespace lmc
