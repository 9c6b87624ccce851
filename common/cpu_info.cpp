#include "common/cpu_info.h"

#include <fstream>
#include <map>
#include <sstream>

namespace lmc {

std::string cpu_description() {
  // The first processor's fields: every core of a machine reports the same.
  std::map<std::string, std::string> fields;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line) && !line.empty();) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    fields[key] = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
  }
  if (fields.empty()) return "unknown";
  std::string text = fields.count("model name") ? fields["model name"] : "unknown model";
  text += " (" + fields["vendor_id"] + " family " + fields["cpu family"] + " model " +
          fields["model"] + " stepping " + fields["stepping"] + ";";
  std::istringstream flags(fields["flags"]);
  std::string listed;
  for (std::string flag; flags >> flag;) {
    for (const char* wanted : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl"}) {
      if (flag == wanted) listed += " " + flag;
    }
  }
  return text + (listed.empty() ? " no AVX2 or AVX-512" : listed) + ")";
}

}  // namespace lmc
