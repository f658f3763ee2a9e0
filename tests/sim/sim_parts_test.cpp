#include <doctest/doctest.h>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <string>

#include "core/util/file.h"
#include "examples/sim/plot.h"
#include "examples/sim/sim_options.h"

namespace nf::sim {
namespace {

TEST_CASE("sim options: defaults are the main job, TOML then flags override") {
  SimOptions o;
  CHECK(o.clients == 100);
  CHECK(o.per_round == 10);
  CHECK(o.partition == "dirichlet:alpha=0.5");
  CHECK(o.validate().is_ok());
  REQUIRE(apply_sim_config_toml("clients = 20\nper_round = 5\nlr = 0.1\n", "t.toml", o).is_ok());
  CLI::App app;
  add_sim_flags(app, o);
  const char* argv[] = {"nf-sim", "--per-round", "7"};
  app.parse(3, argv);
  CHECK(o.clients == 20);   // from the file
  CHECK(o.per_round == 7);  // the flag wins
  CHECK(o.lr == doctest::Approx(0.1));

  SimOptions back;
  REQUIRE(apply_sim_config_toml(format_sim_config(o), "printed", back).is_ok());
  CHECK(format_sim_config(back) == format_sim_config(o));

  CHECK(apply_sim_config_toml("clinets = 3\n", "t.toml", o).message().find("'clinets'") !=
        std::string::npos);
  o.per_round = 50;
  CHECK(o.validate().message().find("--per-round 50") != std::string::npos);
}

TEST_CASE("metrics lines become a series and a figure with one line per run") {
  char tmpl[] = "/tmp/nf_sim_test_XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string a = dir + "/iid.jsonl";
  REQUIRE(write_file_atomic(a, std::string_view("{\"round\":1,\"accuracy\":0.5,\"bytes_up\":10}\n"
                                                "{\"event\":\"failure\",\"round\":1}\n"
                                                "{\"round\":2,\"accuracy\":0.75}\n"))
              .is_ok());
  Series s = read_metrics_series(a).value();
  CHECK(s.name == "iid");
  REQUIRE(s.points.size() == 2);
  CHECK(s.points[1].first == 2);
  CHECK(s.points[1].second == doctest::Approx(0.75));
  Series t{"dirichlet <0.5>", {{1, 0.4}, {2, 0.6}, {3, 0.8}}};
  const std::string svg = render_accuracy_svg({s, t}, "two runs");
  CHECK(svg.starts_with("<svg"));
  CHECK(svg.find("dirichlet &lt;0.5&gt;") != std::string::npos);
  size_t lines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1)) {
    ++lines;
  }
  CHECK(lines == 2);
  const std::string empty = dir + "/empty.jsonl";
  REQUIRE(write_file_atomic(empty, std::string_view("{}\n")).is_ok());
  CHECK(read_metrics_series(empty).status().message().find("empty.jsonl") != std::string::npos);
}

}  // namespace
}  // namespace nf::sim
