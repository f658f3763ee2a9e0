// Small helpers for the programs' command lines, shared so that every program
// reads them the same way.
#pragma once

#include <string>

namespace nf {

// The FILE of `--config FILE` or `--config=FILE` in argv, or "" when absent.
// Programs read it before their flag parser runs, so that the file's values
// become the defaults that flags then override.
std::string config_path_in_args(int argc, const char* const* argv);

}  // namespace nf
