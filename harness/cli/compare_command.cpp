// `bench compare`: the regression gate between a new result folder and a baseline.
#include <iostream>
#include <memory>

#include "common/error.h"
#include "harness/cli/command.h"
#include "harness/report/result_sets.h"

namespace lmc {
namespace {

struct CompareArgs {
  std::string current;
  std::string baseline;
  double tolerance = 0.1;
};

int compare_command(const CompareArgs& args) {
  if (args.tolerance < 0) throw InputError("--tolerance: must be >= 0");
  const nlohmann::json current = load_results(args.current);
  const nlohmann::json baseline = load_results(args.baseline);
  const Comparison comparison = compare_rows(current["rows"], baseline["rows"], args.tolerance);
  std::cout << describe(comparison, args.tolerance);
  std::cout << (comparison.regressed() ? "FAIL" : "OK") << ": " << comparison.worse.size()
            << " worse, " << comparison.missing.size() << " missing, "
            << comparison.unverified.size() << " no longer verified, "
            << comparison.other_data.size() << " on other data, " << comparison.improved.size()
            << " improved, " << comparison.added.size() << " new (tolerance " << args.tolerance
            << " percentage points)\n";
  return comparison.regressed() ? kExitRegression : kExitOk;
}

}  // namespace

Command add_compare_command(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* compare = app.add_subcommand(
      "compare", "Exit 4 if any rate of NEW is worse than BASELINE's by more than the tolerance");
  compare->add_option("new", args->current, "Result folder to check")->required();
  compare->add_option("baseline", args->baseline, "Result folder to compare with")->required();
  compare->add_option("--tolerance", args->tolerance, "Percentage points (default 0.1)");

  return {compare, [args](const Invocation&) { return compare_command(*args); }};
}

}  // namespace lmc
