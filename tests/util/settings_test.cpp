#include "core/util/settings.h"

#include <doctest/doctest.h>

namespace nf {
namespace {

struct Example {
  std::string name = "a";
  int64_t count = 3;
  uint64_t seed = 7;
  double rate = 0.5;
  bool on = false;
  int64_t other_count = 1;
};

std::vector<Setting> settings_of(Example& e) {
  return {{"name", "top-level text", &e.name},
          {"run.count", "an integer", &e.count},
          {"run.seed", "unsigned", &e.seed},
          {"run.rate", "a number", &e.rate},
          {"flags.on", "a boolean", &e.on},
          {"flags.count", "shares its name with run.count", &e.other_count}};
}

TEST_CASE("settings: a TOML file sets top-level and section keys; printing reads back") {
  Example e;
  auto s = settings_of(e);
  REQUIRE(apply_settings_toml("name = \"b\"\n[run]\ncount = 9\nrate = 2\nseed = 12\n"
                              "[flags]\non = true\n",
                              "t.toml", s)
              .is_ok());
  CHECK(e.name == "b");
  CHECK(e.count == 9);
  CHECK(e.rate == 2.0);  // an integer where a number is expected
  CHECK(e.seed == 12);
  CHECK(e.on);
  e.rate = 0.1234567890123;
  e.name = "quote \" and \\ backslash";
  Example back;
  auto b = settings_of(back);
  const std::string printed = settings_to_toml(s);
  REQUIRE(apply_settings_toml(printed, "printed", b).is_ok());
  CHECK(settings_to_toml(b) == printed);
  CHECK(back.rate == e.rate);
  CHECK(back.name == e.name);
  // Top-level keys come before the first [section], sections in table order.
  CHECK(printed.find("name") < printed.find("[run]"));
  CHECK(printed.find("[run]") < printed.find("[flags]"));
}

TEST_CASE("settings: unknown keys, wrong types, negative unsigned and bad syntax are named") {
  Example e;
  auto s = settings_of(e);
  auto message = [&](const char* text) { return apply_settings_toml(text, "c.toml", s).message(); };
  CHECK(message("[run]\ncuont = 1\n").find("unknown key 'run.cuont'") != std::string::npos);
  CHECK(message("nmae = \"x\"\n").find("unknown key 'nmae'") != std::string::npos);
  CHECK(message("[run]\ncount = \"many\"\n").find("'run.count' must be an integer") !=
        std::string::npos);
  CHECK(message("[run]\nseed = -1\n").find("'run.seed' must be an integer >= 0") !=
        std::string::npos);
  CHECK(message("[flags]\non = 1\n").find("true or false") != std::string::npos);
  CHECK(message("[run\n").find("c.toml:1") != std::string::npos);
  CHECK(e.count == 3);  // nothing applied by the failed documents' bad keys
}

TEST_CASE("settings: flags derive from keys, qualified where two sections share a name") {
  Example e;
  const auto s = settings_of(e);
  CHECK(setting_flag("name", s) == "--name");
  CHECK(setting_flag("run.rate", s) == "--rate");
  CHECK(setting_flag("run.count", s) == "--run-count");
  CHECK(setting_flag("flags.count", s) == "--flags-count");
  std::vector<Setting> named = s;
  named[3].flag = "--learning-rate";  // run.rate, under a flag of its own
  CHECK(setting_flag("run.rate", named) == "--learning-rate");
  CHECK(setting_flag("run.seed", named) == "--seed");
}

}  // namespace
}  // namespace nf
