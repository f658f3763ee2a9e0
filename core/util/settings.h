// A program's settings as one table: each setting's key in the TOML file, its
// help text and where its value lives. One reader and one writer of TOML serve
// every program (nf-aggregator, nf-sim), so unknown keys, mistyped values and
// --print-config behave the same everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/util/status.h"

namespace nf {

// One setting. `key` is "name" (a top-level key) or "section.name" (a key of
// the [section] table).
struct Setting {
  std::string key;
  std::string help;
  std::variant<std::string*, int64_t*, uint64_t*, double*, bool*> target;
  std::string flag = "";  // the command-line flag, when not the one derived from `key`
};

// The command-line flag of `key`: the setting's own `flag` if it names one,
// else "--" + its name with '_' as '-' ("rounds.min_completion" ->
// "--min-completion"), or "--" + section + name when two sections share the
// name ("rounds.seed" -> "--rounds-seed").
std::string setting_flag(const std::string& key, const std::vector<Setting>& all);

// Applies a TOML document to the settings' targets. Unknown keys, values of
// the wrong type (an integer is fine where a number is expected; negative
// values are refused for unsigned settings) and syntax errors are errors
// naming `origin`, the line and the key, so a typo never silently leaves a
// default in place.
Status apply_settings_toml(std::string_view toml_text, const std::string& origin,
                           const std::vector<Setting>& settings);

// Every setting's current value as a TOML document that apply_settings_toml
// reads back to the same values: top-level keys first, then one [section] per
// section in the order the settings list them.
std::string settings_to_toml(const std::vector<Setting>& settings);

}  // namespace nf
