// Where a result came from: program version and source revision, machine, time, command line,
// and the versions of the libraries that produced the bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmc {

std::string utc_timestamp();  // 2026-11-27T10:51:19Z

// Program, revision, host, CPU, time and command line.
nlohmann::json run_provenance(const std::vector<std::string>& command_line);

// "bench 0.1.0 (bf62531cc02a)": how run logs start, naming the source that was built.
std::string program_banner();

// name -> version of every library the harness links for codecs and decoders.
nlohmann::json library_versions();

}  // namespace lmc
