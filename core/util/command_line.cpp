#include "core/util/command_line.h"

#include <string_view>

namespace nf {

std::string config_path_in_args(int argc, const char* const* argv) {
  constexpr std::string_view kFlag = "--config";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == kFlag && i + 1 < argc) return argv[i + 1];
    if (arg.starts_with(kFlag) && arg.size() > kFlag.size() && arg[kFlag.size()] == '=')
      return std::string(arg.substr(kFlag.size() + 1));
  }
  return "";
}

}  // namespace nf
