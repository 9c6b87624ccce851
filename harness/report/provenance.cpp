#include "harness/report/provenance.h"

#include <sndfile.h>
#include <unistd.h>

#include <array>
#include <ctime>
#include <fstream>

#include "common/cpu_info.h"
#include "common/options.h"
#include "compressors/compressor.h"
#include "datasets/jpeg_image.h"
#include "harness/source_revision.h"
#include "harness/version.h"

namespace lmc {

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

namespace {

std::string host_name() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return name.data();
}

}  // namespace

std::string program_banner() {
  return std::string("bench ") + LMC_VERSION + " (" + source_revision() + ")";
}

nlohmann::json run_provenance(const std::vector<std::string>& command_line) {
  return {{"program", "lmc-bench"},
          {"version", LMC_VERSION},
          {"git_revision", source_revision()},
          {"host", host_name()},
          {"cpu", cpu_description()},
          {"hardware_threads", sysconf(_SC_NPROCESSORS_ONLN)},
          {"command", command_line},
          {"started_utc", utc_timestamp()}};
}

nlohmann::json library_versions() {
  nlohmann::json versions = nlohmann::json::object();
  // Each codec's settings() names its library and version; codecs that need options without
  // defaults (a model checkpoint) are skipped.
  for (const auto& kind : compressor_kinds()) {
    try {
      const auto codec = kind.make(
          Options::validate(nlohmann::json::object(), kind.options, kind.name), CodecContext{});
      // Convention of settings(): "library" + "library_version", or "<library>_version".
      const auto settings = codec->settings();
      for (const auto& [key, value] : settings.items()) {
        const auto suffix = key.rfind("_version");
        if (suffix == std::string::npos || suffix + 8 != key.size()) continue;
        const bool named = settings.contains("library") && settings["library"].is_string();
        std::string library = key.substr(0, suffix);
        if (named && key == "library_version") {
          library = settings["library"].get<std::string>();
        } else if (named && (library == "encoder" || library == "decoder")) {
          // Two libraries version their halves apart (brotli, libwebp): "libwebp decoder".
          library = settings["library"].get<std::string>() + " " + library;
        }
        versions[library] = value;
      }
    } catch (const std::exception&) {
    }
  }
  std::array<char, 128> sndfile{};
  sf_command(nullptr, SFC_GET_LIB_VERSION, sndfile.data(), static_cast<int>(sndfile.size()));
  versions["libsndfile"] = sndfile.data();
  versions["stb_image"] = "Debian libstb";
  versions["libjpeg-turbo"] = libjpeg_turbo_version();
  versions["nlohmann_json"] = std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_PATCH);
  return versions;
}

}  // namespace lmc
