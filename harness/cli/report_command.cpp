// `bench report`: rebuild table.md / .tex / .csv from one or more result folders.
#include <filesystem>
#include <iostream>
#include <memory>

#include "common/atomic_file.h"
#include "harness/cli/command.h"
#include "harness/report/paper_reference.h"
#include "harness/report/report.h"
#include "harness/report/result_sets.h"

namespace lmc {
namespace {

struct ReportArgs {
  std::string results;
  std::vector<std::string> against;
  std::string out;
  bool paper = false;
};

int report_command(const ReportArgs& args) {
  std::vector<nlohmann::json> results = {load_results(args.results)};
  for (const auto& dir : args.against) results.push_back(load_results(dir));
  nlohmann::json rows = merge_rows(results);
  if (args.paper) annotate_with_paper(rows);
  const std::filesystem::path out = args.out.empty() ? args.results : args.out;
  std::filesystem::create_directories(out);
  write_file_atomically(out / "table.md", table_markdown(rows, args.paper));
  write_file_atomically(out / "table.tex", table_latex(rows, args.paper));
  write_file_atomically(out / "table.csv", table_csv(rows));
  std::cout << table_markdown(rows, args.paper);
  std::cerr << "wrote " << (out / "table.md").string() << ", table.tex, table.csv from "
            << results.size() << " run(s), " << rows.size() << " rows\n";
  return kExitOk;
}

}  // namespace

Command add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* report = app.add_subcommand("report", "Rebuild table.md/.tex/.csv from result folders");
  report->add_option("results", args->results, "Result folder")->required();
  report->add_option("--against", args->against,
                     "More result folders merged in order; a later one replaces the same row");
  report->add_option("--out", args->out, "Output folder (default: the first result folder)");
  report->add_flag("--paper", args->paper,
                   "Add the paper's Table 1 raw rate and the difference to each cell");

  return {report, [args](const Invocation&) { return report_command(*args); }};
}

}  // namespace lmc
