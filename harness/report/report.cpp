#include "harness/report/report.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "common/atomic_file.h"
#include "common/human_format.h"
#include "common/json.h"
#include "harness/report/paper_reference.h"

namespace lmc {

nlohmann::json row_to_json(const RowResult& row) {
  const RepeatedSeconds& compress = row.totals.compress_seconds;
  const RepeatedSeconds& decompress = row.totals.decompress_seconds;
  const double seconds = compress.median();
  const bool measured = row.totals.peak_rss_bytes > 0;  // else null: no window measured it
  nlohmann::json j = {
      {"dataset", row.dataset},
      {"compressor", row.compressor},
      {"mode", to_string(row.mode)},
      {"dataset_kind", row.dataset_kind},
      {"compressor_kind", row.compressor_kind},
      {"chunk_size", row.chunk_size},
      {"chunks", row.totals.chunks},
      {"raw_bytes", row.totals.raw_bytes},
      {"compressed_bytes", row.rates.compressed_bytes},
      {"output_bytes", row.totals.compressed_bytes},
      {"header_bytes_discounted", row.rule.discount_header && row.totals.chunks > 0
                                      ? (row.totals.chunks - 1) * row.rule.header_bytes
                                      : 0},
      {"header_bytes", row.rule.header_bytes},
      {"parameters", row.rule.parameter_count},
      {"raw_rate", row.rates.raw_rate},
      {"adjusted_rate", row.rates.adjusted_rate},
      {"bits_per_byte", row.rates.bits_per_byte},
      {"seconds", seconds},
      {"seconds_min", compress.min()},
      {"seconds_max", compress.max()},
      {"decompress_seconds", decompress.median()},
      {"decompress_seconds_min", decompress.min()},
      {"decompress_seconds_max", decompress.max()},
      {"repetitions", compress.repetitions()},
      {"mb_per_s", seconds > 0 ? row.totals.raw_bytes / seconds / 1e6 : 0.0},
      {"peak_rss_bytes", measured ? nlohmann::json(row.totals.peak_rss_bytes) : nullptr},
      {"peak_rss_growth_bytes",
       measured ? nlohmann::json(row.totals.peak_rss_growth_bytes) : nullptr},
      {"verified_chunks", row.totals.verified_chunks},
      {"verified", row.verified},
      {"decodable", row.decodable},
      {"counters", row.totals.counters},
      {"settings", row.settings},
  };
  std::string note;
  if (row.requested_chunks > row.available_chunks) {
    note = "dataset has only " + std::to_string(row.available_chunks) + " of the " +
           std::to_string(row.requested_chunks) + " chunks requested";
  }
  if (row.totals.chunks < row.dataset_chunks) {
    note += std::string(note.empty() ? "" : "; ") + "first " + std::to_string(row.totals.chunks) +
            " of " + std::to_string(row.dataset_chunks) + " chunks (compressor num_chunks)";
  }
  if (!row.decodable) note += std::string(note.empty() ? "" : "; ") + "estimate: not decoded";
  j["note"] = note;
  return j;
}

namespace {

// The row's note, then what its compressor asks every row of it to say (settings.row_note: the
// command kind's "timings include starting the processes").
std::string row_note(const nlohmann::json& row) {
  std::string note = row.value("note", "");
  if (row.contains("settings") && row["settings"].is_object() &&
      row["settings"].contains("row_note") && row["settings"]["row_note"].is_string()) {
    note += (note.empty() ? "" : "; ") + row["settings"]["row_note"].get<std::string>();
  }
  return note;
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string chunk_label(const nlohmann::json& row) {
  return row.at("mode") == "unchunked" ? "whole"
                                       : std::to_string(row.at("chunk_size").get<std::size_t>());
}

// Datasets in order of first appearance; rows keyed by (chunk label, compressor) in the order
// "whole" rows first, then chunked ones, each in order of first appearance.
struct TableLayout {
  std::vector<std::string> datasets;
  std::vector<std::pair<std::string, std::string>> row_keys;
  std::map<std::tuple<std::string, std::string, std::string>, const nlohmann::json*> cells;
  std::vector<std::string> notes;
};

TableLayout layout_table(const nlohmann::json& rows) {
  TableLayout layout;
  std::vector<std::pair<std::string, std::string>> whole, chunked;
  auto add_unique = [](auto& list, const auto& item) {
    if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
  };
  for (const auto& row : rows) {
    const std::string dataset = row.at("dataset");
    const std::string compressor = row.at("compressor");
    const std::string chunk = chunk_label(row);
    add_unique(layout.datasets, dataset);
    add_unique(chunk == "whole" ? whole : chunked, std::make_pair(chunk, compressor));
    layout.cells[{chunk, compressor, dataset}] = &row;
    if (const std::string note = row_note(row); !note.empty()) {
      add_unique(layout.notes, dataset + " / " + compressor + " / " + chunk + ": " + note);
    }
  }
  layout.row_keys = whole;
  layout.row_keys.insert(layout.row_keys.end(), chunked.begin(), chunked.end());
  return layout;
}

std::string rate_cell(const nlohmann::json* row, const char* key) {
  return row == nullptr ? "-" : format("%.1f", row->at(key).get<double>());
}

const nlohmann::json* find_cell(const TableLayout& layout, const std::string& chunk,
                                const std::string& compressor, const std::string& dataset) {
  auto it = layout.cells.find({chunk, compressor, dataset});
  return it == layout.cells.end() ? nullptr : it->second;
}

bool has_paper_value(const nlohmann::json* row) {
  return row != nullptr && row->contains("paper_raw_rate") && row->at("paper_raw_rate").is_number();
}

std::string paper_cell(const nlohmann::json* row) {
  return has_paper_value(row) ? format("%.1f", row->at("paper_raw_rate").get<double>()) : "-";
}

std::string difference_cell(const nlohmann::json* row) {
  if (!has_paper_value(row)) return "-";
  return format("%+.1f",
                row->at("raw_rate").get<double>() - row->at("paper_raw_rate").get<double>());
}

// A row's number, or nullopt when the row lacks it (results of a build before it was recorded) or
// holds null (a peak that was not measured).
std::optional<double> number_at(const nlohmann::json& row, const char* key) {
  if (!row.contains(key) || !row[key].is_number()) return std::nullopt;
  return row[key].get<double>();
}
std::optional<std::uint64_t> count_at(const nlohmann::json& row, const char* key) {
  return row.contains(key) ? exact_integer<std::uint64_t>(row[key]) : std::nullopt;
}

// Three significant digits below 100 ("0.27", "45.2"), whole numbers above.
std::string short_number(double value) { return format(value >= 100 ? "%.0f" : "%.3g", value); }

// "112 ms (74.5-126)": the median of the repetitions in a unit chosen by it, and their range in
// the same unit; the median alone for one repetition or a row recorded before repetitions.
std::string seconds_cell(const nlohmann::json& row, const std::string& key, const char* dash) {
  const auto median = number_at(row, key.c_str());
  if (!median) return "-";
  const auto [scale, unit] = *median >= 1      ? std::pair{1.0, " s"}
                             : *median >= 1e-3 ? std::pair{1e3, " ms"}
                                               : std::pair{1e6, " us"};
  std::string cell = short_number(*median * scale) + unit;
  const auto low = number_at(row, (key + "_min").c_str());
  const auto high = number_at(row, (key + "_max").c_str());
  const auto repetitions = count_at(row, "repetitions");
  if (low && high && repetitions && *repetitions > 1) {
    cell += " (" + short_number(*low * scale) + dash + short_number(*high * scale) + ")";
  }
  return cell;
}

// The time and memory columns of one row: repetitions, compress and decompress seconds, MB/s and
// peak resident memory. `dash` separates a range ("-" in Markdown, "--" in LaTeX).
std::vector<std::string> timing_cells(const nlohmann::json& row, const char* dash) {
  const auto repetitions = count_at(row, "repetitions");
  const auto speed = number_at(row, "mb_per_s");
  const auto peak = count_at(row, "peak_rss_bytes");
  const auto growth = count_at(row, "peak_rss_growth_bytes");
  const bool decoded = row.value("verified", true);
  return {repetitions ? std::to_string(*repetitions) : "-", seconds_cell(row, "seconds", dash),
          decoded ? seconds_cell(row, "decompress_seconds", dash) : "-",
          speed ? short_number(*speed) : "-",
          peak ? format_bytes(*peak) + (growth ? " (+" + format_bytes(*growth) + ")" : "") : "-"};
}

constexpr const char* kTimingColumns[] = {"repetitions", "compress", "decompress", "MB/s",
                                          "peak RSS"};

// The rows of the timing table, dataset by dataset, each in the rate table's row order.
std::vector<std::pair<std::string, const nlohmann::json*>> timing_rows(const TableLayout& layout) {
  std::vector<std::pair<std::string, const nlohmann::json*>> rows;
  for (const auto& dataset : layout.datasets) {
    for (const auto& [chunk, compressor] : layout.row_keys) {
      if (const auto* cell = find_cell(layout, chunk, compressor, dataset)) {
        rows.emplace_back(chunk, cell);
      }
    }
  }
  return rows;
}

std::string latex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '_' || c == '%' || c == '&' || c == '#' || c == '$') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string results_csv(const nlohmann::json& rows) {
  std::ostringstream csv;
  csv << "dataset,compressor,mode,chunk_size,chunks,raw_bytes,compressed_bytes,raw_rate,"
         "adjusted_rate,bits_per_byte,seconds,verified_chunks,decompress_seconds,mb_per_s,"
         "parameters,output_bytes,note,seconds_min,seconds_max,decompress_seconds_min,"
         "decompress_seconds_max,repetitions,peak_rss_bytes,peak_rss_growth_bytes\n";
  for (const auto& row : rows) {
    csv << csv_field(row.at("dataset")) << ',' << csv_field(row.at("compressor")) << ','
        << row.at("mode").get<std::string>() << ',' << row.at("chunk_size") << ','
        << row.at("chunks") << ',' << row.at("raw_bytes") << ','
        << format("%.3f", row.at("compressed_bytes").get<double>()) << ','
        << format("%.4f", row.at("raw_rate").get<double>()) << ','
        << format("%.4f", row.at("adjusted_rate").get<double>()) << ','
        << format("%.5f", row.at("bits_per_byte").get<double>()) << ','
        << format("%.6f", row.at("seconds").get<double>()) << ',' << row.at("verified_chunks")
        << ',' << format("%.6f", row.at("decompress_seconds").get<double>()) << ','
        << format("%.3f", row.at("mb_per_s").get<double>()) << ',' << row.at("parameters") << ','
        << row.at("output_bytes") << ',' << csv_field(row_note(row));
    for (const char* key :
         {"seconds_min", "seconds_max", "decompress_seconds_min", "decompress_seconds_max"}) {
      const auto value = number_at(row, key);
      csv << ',' << (value ? format("%.6f", *value) : "");
    }
    for (const char* key : {"repetitions", "peak_rss_bytes", "peak_rss_growth_bytes"}) {
      const auto value = count_at(row, key);
      csv << ',' << (value ? std::to_string(*value) : "");
    }
    csv << '\n';
  }
  return csv.str();
}

std::string table_markdown(const nlohmann::json& rows, bool paper_columns) {
  const TableLayout layout = layout_table(rows);
  std::ostringstream md;
  md << "Compression rates in % (compressed / raw; lower is better). Each dataset: raw rate, then "
        "adjusted rate (adds 2 bytes per model parameter)"
     << (paper_columns ? ", the paper's Table 1 raw rate and our difference from it" : "")
     << ".\n\n";
  md << "| chunk | compressor |";
  for (const auto& d : layout.datasets) {
    md << ' ' << d << " raw | " << d << " adjusted |";
    if (paper_columns) md << ' ' << d << " paper | " << d << " diff |";
  }
  md << "\n|---|---|";
  for (std::size_t i = 0; i < layout.datasets.size(); ++i) {
    md << (paper_columns ? "---:|---:|---:|---:|" : "---:|---:|");
  }
  md << '\n';
  for (const auto& [chunk, compressor] : layout.row_keys) {
    md << "| " << chunk << " | " << compressor << " |";
    for (const auto& d : layout.datasets) {
      const auto* cell = find_cell(layout, chunk, compressor, d);
      md << ' ' << rate_cell(cell, "raw_rate") << " | " << rate_cell(cell, "adjusted_rate") << " |";
      if (paper_columns) md << ' ' << paper_cell(cell) << " | " << difference_cell(cell) << " |";
    }
    md << '\n';
  }
  if (!layout.notes.empty()) {
    md << '\n';
    for (const auto& note : layout.notes) md << "- " << note << '\n';
  }
  md << "\nTime and memory per row: compress and decompress seconds are the median of the row's "
        "repetitions (min-max in brackets), summed over its chunks; MB/s = raw MB / median "
        "compress seconds; peak RSS = the process's peak resident memory in the row's first "
        "group of chunks or stream pass, run alone, harness and loaded models included, and in "
        "brackets its rise during that window (docs/PROTOCOL.md section 9).\n\n"
        "| dataset | chunk | compressor |";
  for (const char* column : kTimingColumns) md << ' ' << column << " |";
  md << "\n|---|---|---|";
  for (std::size_t i = 0; i < std::size(kTimingColumns); ++i) md << "---:|";
  md << '\n';
  for (const auto& [chunk, row] : timing_rows(layout)) {
    md << "| " << row->at("dataset").get<std::string>() << " | " << chunk << " | "
       << row->at("compressor").get<std::string>() << " |";
    for (const auto& cell : timing_cells(*row, "-")) md << ' ' << cell << " |";
    md << '\n';
  }
  return md.str();
}

std::string table_latex(const nlohmann::json& rows, bool paper_columns) {
  const TableLayout layout = layout_table(rows);
  std::ostringstream tex;
  const std::size_t n = layout.datasets.size();
  const std::size_t per = paper_columns ? 4 : 2;
  tex << "% Compression rates in % (lower is better); generated by lmc-bench.\n";
  tex << "\\begin{tabular}{ll" << std::string(per * n, 'r') << "}\n\\toprule\n";
  tex << " & ";
  for (const auto& d : layout.datasets) {
    tex << " & \\multicolumn{" << per << "}{c}{" << latex_escape(d) << "}";
  }
  tex << " \\\\\n";
  for (std::size_t i = 0; i < n; ++i) {
    tex << "\\cmidrule(lr){" << 3 + per * i << '-' << 2 + per * (i + 1) << "}";
  }
  tex << "\nChunk & Compressor";
  for (std::size_t i = 0; i < n; ++i)
    tex << (paper_columns ? " & Raw & Adj. & Paper & Diff." : " & Raw & Adj.");
  tex << " \\\\\n\\midrule\n";
  std::string previous_chunk;
  for (const auto& [chunk, compressor] : layout.row_keys) {
    if (!previous_chunk.empty() && chunk != previous_chunk) tex << "\\midrule\n";
    previous_chunk = chunk;
    tex << chunk << " & " << latex_escape(compressor);
    for (const auto& d : layout.datasets) {
      const auto* cell = find_cell(layout, chunk, compressor, d);
      tex << " & " << rate_cell(cell, "raw_rate") << " & " << rate_cell(cell, "adjusted_rate");
      if (paper_columns) tex << " & " << paper_cell(cell) << " & " << difference_cell(cell);
    }
    tex << " \\\\\n";
  }
  tex << "\\bottomrule\n\\end{tabular}\n\n";
  tex << "% Time (median of the repetitions, min--max) and peak resident memory per row.\n";
  tex << "\\begin{tabular}{lll" << std::string(std::size(kTimingColumns), 'r')
      << "}\n\\toprule\nDataset & Chunk & Compressor";
  for (const char* column : kTimingColumns) tex << " & " << latex_escape(column);
  tex << " \\\\\n\\midrule\n";
  for (const auto& [chunk, row] : timing_rows(layout)) {
    tex << latex_escape(row->at("dataset").get<std::string>()) << " & " << chunk << " & "
        << latex_escape(row->at("compressor").get<std::string>());
    for (const auto& cell : timing_cells(*row, "--")) tex << " & " << latex_escape(cell);
    tex << " \\\\\n";
  }
  tex << "\\bottomrule\n\\end{tabular}\n";
  return tex.str();
}

std::string table_csv(const nlohmann::json& rows) {
  std::ostringstream csv;
  csv << "chunk,compressor,dataset,raw_rate,adjusted_rate,paper_raw_rate,difference\n";
  for (const auto& row : rows) {
    const bool paper = has_paper_value(&row);
    csv << chunk_label(row) << ',' << csv_field(row.at("compressor")) << ','
        << csv_field(row.at("dataset")) << ',' << format("%.4f", row.at("raw_rate").get<double>())
        << ',' << format("%.4f", row.at("adjusted_rate").get<double>()) << ','
        << (paper ? format("%.1f", row.at("paper_raw_rate").get<double>()) : "") << ','
        << (paper ? format("%.4f", row.at("raw_rate").get<double>() -
                                       row.at("paper_raw_rate").get<double>())
                  : "")
        << '\n';
  }
  return csv.str();
}

void annotate_with_paper(nlohmann::json& rows) {
  for (auto& row : rows) {
    const auto column = paper_column(row.value("dataset_kind", ""));
    const auto paper = paper_row(row.value("compressor_kind", ""), row.value("parameters", 0ull));
    std::optional<double> rate;
    if (column && paper) rate = paper_raw_rate(*paper, row.at("mode"), *column);
    row["paper_raw_rate"] = rate ? nlohmann::json(*rate) : nlohmann::json(nullptr);
  }
}

void write_results(const std::filesystem::path& dir, const nlohmann::json& results) {
  const auto& rows = results.at("rows");
  write_file_atomically(dir / "results.json", results.dump(2) + "\n");
  write_file_atomically(dir / "results.csv", results_csv(rows));
  write_file_atomically(dir / "table.md", table_markdown(rows));
  write_file_atomically(dir / "table.tex", table_latex(rows));
}

}  // namespace lmc
