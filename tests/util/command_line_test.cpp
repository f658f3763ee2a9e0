#include "core/util/command_line.h"

#include <doctest/doctest.h>

#include <vector>

namespace nf {
namespace {

std::string config_of(std::vector<const char*> args) {
  args.insert(args.begin(), "prog");
  return config_path_in_args(static_cast<int>(args.size()), args.data());
}

TEST_CASE("config_path_in_args finds --config FILE and --config=FILE") {
  CHECK(config_of({}) == "");
  CHECK(config_of({"--rounds", "3"}) == "");
  CHECK(config_of({"--config", "a.toml"}) == "a.toml");
  CHECK(config_of({"--rounds", "3", "--config=b.toml"}) == "b.toml");
  CHECK(config_of({"--config=", "x"}) == "");
  // A flag that only starts with --config is not it, and a trailing --config
  // without a value is left to the flag parser to reject.
  CHECK(config_of({"--configure", "c.toml"}) == "");
  CHECK(config_of({"--config"}) == "");
  // The program's own name is never read as a flag.
  const char* argv[] = {"--config=self", "--config", "d.toml"};
  CHECK(config_path_in_args(3, argv) == "d.toml");
}

}  // namespace
}  // namespace nf
