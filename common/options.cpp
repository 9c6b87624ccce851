#include "common/options.h"

#include <algorithm>

#include "common/error.h"

namespace lmc {

std::string_view to_string(OptionType type) {
  switch (type) {
    case OptionType::Integer:
      return "integer";
    case OptionType::Number:
      return "number";
    case OptionType::String:
      return "string";
    case OptionType::Boolean:
      return "boolean";
    case OptionType::Path:
      return "path";
    case OptionType::StringList:
      return "list of strings";
  }
  return "?";
}

namespace {

bool has_type(const nlohmann::json& value, OptionType type) {
  switch (type) {
    case OptionType::Integer:
      return value.is_number_integer();
    case OptionType::Number:
      return value.is_number();
    case OptionType::String:
    case OptionType::Path:
      return value.is_string();
    case OptionType::Boolean:
      return value.is_boolean();
    case OptionType::StringList:
      return value.is_array() &&
             std::all_of(value.begin(), value.end(), [](const auto& v) { return v.is_string(); });
  }
  return false;
}

std::string join_path(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : base + "." + std::string(key);
}

}  // namespace

Options::Options(nlohmann::json values, std::string key_path)
    : values_(std::move(values)), key_path_(std::move(key_path)) {}

Options Options::validate(const nlohmann::json& object, const std::vector<OptionSpec>& specs,
                          const std::string& key_path, const std::vector<std::string>& reserved) {
  if (!object.is_object()) {
    throw InputError(key_path + ": expected a JSON object, got " + object.dump());
  }
  nlohmann::json values = nlohmann::json::object();
  for (const auto& item : object.items()) {
    // Not a structured binding: clang before 16 (the fuzz build) cannot capture one in a lambda.
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    if (std::find(reserved.begin(), reserved.end(), key) != reserved.end()) continue;
    auto spec =
        std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == key; });
    if (spec == specs.end()) {
      std::string known;
      for (const auto& s : specs) known += (known.empty() ? "" : ", ") + s.name;
      for (const auto& r : reserved) known += (known.empty() ? "" : ", ") + r;
      throw InputError(join_path(key_path, key) + ": unknown key (known keys: " + known + ")");
    }
    if (!has_type(value, spec->type)) {
      throw InputError(join_path(key_path, key) + ": expected " +
                       std::string(to_string(spec->type)) + ", got " + value.dump());
    }
    values[key] = value;
  }
  for (const auto& spec : specs) {
    if (values.contains(spec.name)) continue;
    if (spec.default_value.is_null()) {
      throw InputError(join_path(key_path, spec.name) + ": required key is missing (" + spec.help +
                       ")");
    }
    values[spec.name] = spec.default_value;
  }
  return Options(std::move(values), key_path);
}

bool Options::has(std::string_view key) const { return values_.contains(std::string(key)); }

const nlohmann::json& Options::at(std::string_view key) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) throw InputError(key_path(key) + ": option not set");
  return *it;
}

std::int64_t Options::integer(std::string_view key) const { return at(key).get<std::int64_t>(); }
double Options::number(std::string_view key) const { return at(key).get<double>(); }
std::string Options::string(std::string_view key) const { return at(key).get<std::string>(); }
bool Options::boolean(std::string_view key) const { return at(key).get<bool>(); }
std::vector<std::string> Options::strings(std::string_view key) const {
  return at(key).get<std::vector<std::string>>();
}

std::string Options::key_path(std::string_view key) const { return join_path(key_path_, key); }

}  // namespace lmc
