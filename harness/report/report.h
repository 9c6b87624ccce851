// Result files of a run (docs/RUNNING.md, "Output files"): results.json holds everything;
// results.csv, table.md and table.tex are derived from its rows, so `bench report` can rebuild
// them later.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/run/runner.h"

namespace lmc {

nlohmann::json row_to_json(const RowResult& row);

// One tidy row per dataset x compressor x mode; rates in percent.
std::string results_csv(const nlohmann::json& rows);

// Table 1 of the paper: rows = compressors by chunk mode ("whole" first), columns = datasets,
// raw and adjusted rate in percent with one decimal.
// With `paper_columns`, rows annotated by annotate_with_paper() also show the paper's raw rate
// and the difference, so reproduction gaps are visible at a glance.
std::string table_markdown(const nlohmann::json& rows, bool paper_columns = false);
std::string table_latex(const nlohmann::json& rows, bool paper_columns = false);

// One row per table cell: chunk, compressor, dataset, rates (and paper value, difference).
std::string table_csv(const nlohmann::json& rows);

// Adds "paper_raw_rate" (number or null) to every row, from its dataset and compressor kinds.
void annotate_with_paper(nlohmann::json& rows);

// Writes results.json, results.csv, table.md and table.tex into `dir`, each atomically.
void write_results(const std::filesystem::path& dir, const nlohmann::json& results);

}  // namespace lmc
