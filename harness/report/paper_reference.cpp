#include "harness/report/paper_reference.h"

#include <array>
#include <map>
#include <tuple>

namespace lmc {

std::optional<std::string> paper_column(const std::string& dataset_kind) {
  static const std::map<std::string, std::string> columns = {{"enwik", "enwik9"},
                                                             {"imagenet", "ImageNet"},
                                                             {"librispeech", "LibriSpeech"},
                                                             {"random", "Random"}};
  auto it = columns.find(dataset_kind);
  if (it == columns.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> paper_row(const std::string& compressor_kind, std::uint64_t parameters) {
  static const std::map<std::string, std::string> classical = {{"gzip", "gzip"},
                                                               {"lzma2", "LZMA2"},
                                                               {"png", "PNG"},
                                                               {"flac", "FLAC"},
                                                               {"flac-paper", "FLAC"}};
  if (auto it = classical.find(compressor_kind); it != classical.end()) return it->second;
  static const std::map<std::uint64_t, std::string> transformers = {
      {231936, "Transformer 200K"}, {856832, "Transformer 800K"}, {3286272, "Transformer 3.2M"}};
  if (compressor_kind == "lm") {
    if (auto it = transformers.find(parameters); it != transformers.end()) return it->second;
  }
  return std::nullopt;
}

std::optional<double> paper_raw_rate(const std::string& row, const std::string& mode,
                                     const std::string& column) {
  // Columns: enwik9, ImageNet, LibriSpeech, Random.
  using Rates = std::array<double, 4>;
  static const std::map<std::pair<std::string, std::string>, Rates> table = {
      {{"gzip", "unchunked"}, {32.3, 70.7, 36.4, 100.0}},
      {{"LZMA2", "unchunked"}, {23.0, 57.9, 29.9, 100.0}},
      {{"PNG", "unchunked"}, {42.9, 58.5, 32.2, 100.0}},
      {{"FLAC", "unchunked"}, {89.5, 61.9, 30.9, 107.8}},
      {{"gzip", "chunked"}, {48.1, 68.6, 38.5, 100.1}},
      {{"LZMA2", "chunked"}, {50.0, 62.4, 38.2, 100.0}},
      {{"PNG", "chunked"}, {80.6, 61.7, 37.6, 103.2}},
      {{"FLAC", "chunked"}, {88.9, 60.9, 30.3, 107.2}},
      {{"Transformer 200K", "chunked"}, {30.9, 194.0, 146.6, 195.5}},
      {{"Transformer 800K", "chunked"}, {21.7, 185.1, 131.1, 200.1}},
      {{"Transformer 3.2M", "chunked"}, {17.0, 215.8, 228.2, 224.0}},
  };
  static const std::map<std::string, std::size_t> columns = {
      {"enwik9", 0}, {"ImageNet", 1}, {"LibriSpeech", 2}, {"Random", 3}};
  auto rates = table.find({row, mode});
  auto index = columns.find(column);
  if (rates == table.end() || index == columns.end()) return std::nullopt;
  return rates->second[index->second];
}

}  // namespace lmc
