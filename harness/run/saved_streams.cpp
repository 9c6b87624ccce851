#include "harness/run/saved_streams.h"

#include "common/cpu_info.h"
#include "harness/report/provenance.h"
#include "harness/source_revision.h"
#include "models/kernels/step_kernels.h"

namespace lmc {

nlohmann::json saved_stream_header(const CompressorEntry& entry, const Compressor& compressor,
                                   std::size_t chunk_size, SevenBitMapping mapping,
                                   nlohmann::json data) {
  const nlohmann::json settings = compressor.settings();
  nlohmann::json model = nullptr;
  if (const auto hashes = model_file_hashes(settings); !hashes.empty()) {
    model = {{"hashes", hashes}, {"files", nlohmann::json::object()}};
    if (const CompressorKind* kind = find_compressor_kind(entry.kind)) {
      for (const std::string& option : model_path_options(*kind, entry.options.json())) {
        model["files"][option] = entry.options.json().at(option);
      }
    }
  }
  return {
      {"format", "lmc-bench saved streams"},
      {"compressor",
       {{"name", entry.name},
        {"kind", entry.kind},
        {"options", entry.options.json()},
        {"settings", settings}}},
      {"model", model},
      {"kernel_contract", step_kernels::kContractVersion},
      {"chunk_size", chunk_size},
      {"mapping", to_string(mapping)},
      {"data", std::move(data)},
      {"writer",
       {{"program", program_banner()},
        {"revision", source_revision()},
        {"cpu", cpu_description()},
        {"utc", utc_timestamp()}}},
  };
}

std::string saved_stream_file_name(const std::string& dataset, const std::string& compressor) {
  std::string name = dataset + "__" + compressor;
  for (char& c : name) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    if (!safe) c = '_';
  }
  return name + ".lmcs";
}

}  // namespace lmc
