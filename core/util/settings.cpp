#include "core/util/settings.h"

#include <toml++/toml.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace nf {

std::string setting_flag(const std::string& key, const std::vector<Setting>& all) {
  for (const auto& s : all) {
    if (s.key == key && !s.flag.empty()) return s.flag;
  }
  auto name_of = [](const std::string& k) { return k.substr(k.find('.') + 1); };
  const std::string name = name_of(key);
  const auto same = std::count_if(all.begin(), all.end(),
                                  [&](const Setting& s) { return name_of(s.key) == name; });
  std::string flag = "--" + (same > 1 ? key : name);
  std::replace(flag.begin(), flag.end(), '.', '-');
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

namespace {

Status assign(const toml::node& node, const std::string& key, const Setting& setting) {
  auto type_error = [&](const char* want) {
    return invalid_argument("key '" + key + "' must be " + want);
  };
  if (auto* s = std::get_if<std::string*>(&setting.target)) {
    if (!node.is_string()) return type_error("a string");
    **s = *node.value<std::string>();
  } else if (auto* i = std::get_if<int64_t*>(&setting.target)) {
    if (!node.is_integer()) return type_error("an integer");
    **i = *node.value<int64_t>();
  } else if (auto* u = std::get_if<uint64_t*>(&setting.target)) {
    if (!node.is_integer() || *node.value<int64_t>() < 0) return type_error("an integer >= 0");
    **u = static_cast<uint64_t>(*node.value<int64_t>());
  } else if (auto* d = std::get_if<double*>(&setting.target)) {
    if (!node.is_number()) return type_error("a number");
    **d = *node.value<double>();
  } else if (auto* b = std::get_if<bool*>(&setting.target)) {
    if (!node.is_boolean()) return type_error("true or false");
    **b = *node.value<bool>();
  }
  return Status::ok();
}

void insert_value(toml::table& table, const std::string& name, const Setting& setting) {
  std::visit(
      [&](auto* p) {
        if constexpr (std::is_same_v<decltype(p), uint64_t*>) {
          table.insert(name, static_cast<int64_t>(*p));
        } else {
          table.insert(name, *p);
        }
      },
      setting.target);
}

}  // namespace

Status apply_settings_toml(std::string_view toml_text, const std::string& origin,
                           const std::vector<Setting>& settings) {
  toml::table table;
  try {  // Debian's toml++ is built with exceptions: keep them inside this function
    table = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return invalid_argument(msg.str());
  }
  std::map<std::string, const Setting*> by_key;
  for (const auto& s : settings) by_key[s.key] = &s;
  auto apply = [&](const std::string& key, const toml::node& node) -> Status {
    auto it = by_key.find(key);
    if (it == by_key.end()) return invalid_argument(origin + ": unknown key '" + key + "'");
    return assign(node, key, *it->second).with_context(origin);
  };
  for (auto&& [top_key, top_node] : table) {
    const std::string top(top_key.str());
    const toml::table* section = top_node.as_table();
    if (section == nullptr) {
      NF_RETURN_IF_ERROR(apply(top, top_node));
      continue;
    }
    for (auto&& [name_key, node] : *section) {
      NF_RETURN_IF_ERROR(apply(top + "." + std::string(name_key.str()), node));
    }
  }
  return Status::ok();
}

std::string settings_to_toml(const std::vector<Setting>& settings) {
  toml::table top;
  std::map<std::string, toml::table> sections;
  std::vector<std::string> order;
  for (const auto& s : settings) {
    const auto dot = s.key.find('.');
    if (dot == std::string::npos) {
      insert_value(top, s.key, s);
      continue;
    }
    const std::string section = s.key.substr(0, dot);
    if (!sections.count(section)) order.push_back(section);
    insert_value(sections[section], s.key.substr(dot + 1), s);
  }
  std::ostringstream out;
  if (!top.empty()) out << top << "\n\n";
  for (const auto& section : order) out << "[" << section << "]\n" << sections[section] << "\n\n";
  return out.str();
}

}  // namespace nf
