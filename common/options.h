// Typed, validated options for registry entries (compressors, dataset kinds). The same specs
// drive validation of a config, the defaults, and `bench list`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lmc {

enum class OptionType { Integer, Number, String, Boolean, Path, StringList };

struct OptionSpec {
  std::string name;
  OptionType type;
  nlohmann::json default_value;  // null = required
  std::string help;
};

std::string_view to_string(OptionType type);

// A validated set of options: every key known, every value of its declared type, defaults
// filled in. Remembers where it came from so errors can name the config key
// ("datasets[1].path: ...").
class Options {
 public:
  Options() = default;
  Options(nlohmann::json values, std::string key_path);

  // Validates `object` against `specs`; keys listed in `reserved` (handled by the caller,
  // e.g. "name", "kind") are accepted and skipped. Throws InputError naming the key path.
  static Options validate(const nlohmann::json& object, const std::vector<OptionSpec>& specs,
                          const std::string& key_path,
                          const std::vector<std::string>& reserved = {});

  bool has(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  double number(std::string_view key) const;
  std::string string(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::vector<std::string> strings(std::string_view key) const;

  // "datasets[1].path" for key "path": for error messages.
  std::string key_path(std::string_view key) const;
  const nlohmann::json& json() const { return values_; }

 private:
  const nlohmann::json& at(std::string_view key) const;
  nlohmann::json values_ = nlohmann::json::object();
  std::string key_path_;
};

}  // namespace lmc
