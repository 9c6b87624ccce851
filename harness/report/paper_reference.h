// Table 1 of the paper (docs/PROTOCOL.md section 6.1): reproduction-gap columns of `bench report`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lmc {

// The paper's column for a dataset kind: enwik -> "enwik9", imagenet -> "ImageNet", ...
std::optional<std::string> paper_column(const std::string& dataset_kind);

// The paper's row for a compressor, from its kind and parameter count: gzip -> "gzip",
// flac and flac-paper -> "FLAC", an LM with 231,936 parameters -> "Transformer 200K", ...
std::optional<std::string> paper_row(const std::string& compressor_kind, std::uint64_t parameters);

// Raw rate in % for (row, mode, column), if the paper reports it. Mode: "chunked"/"unchunked".
std::optional<double> paper_raw_rate(const std::string& row, const std::string& mode,
                                     const std::string& column);

}  // namespace lmc
