#include <doctest/doctest.h>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <string>

#include <filesystem>

#include "aggregator/metrics.h"
#include "core/util/file.h"
#include "examples/sim/plot.h"
#include "examples/sim/process_mode.h"
#include "examples/sim/sim_options.h"
#include "examples/sim/summary.h"

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
  o.budget = 0.123456789;  // printed in full, not to 6 digits
  o.label = "say \"hi\"";
  REQUIRE(apply_sim_config_toml(format_sim_config(o), "printed", back).is_ok());
  CHECK(format_sim_config(back) == format_sim_config(o));
  CHECK(back.budget == o.budget);
  CHECK(back.label == o.label);
  CHECK(back.per_round == 7);
  CHECK(apply_sim_config_toml("rounds = \"ten\"\n", "t.toml", back).message().find("'rounds'") !=
        std::string::npos);

  CHECK(apply_sim_config_toml("clinets = 3\n", "t.toml", o).message().find("'clinets'") !=
        std::string::npos);
  o.per_round = 50;
  CHECK(o.validate().message().find("--per-round 50") != std::string::npos);
  o.per_round = 7;
  o.prox_mu = 0.01;
  CHECK(o.validate().message().find("--strategy fedprox:mu=") != std::string::npos);
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
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("round") != std::string::npos);
  CHECK(svg.find("test accuracy (%)") != std::string::npos);
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
  std::filesystem::remove_all(dir);
}

TEST_CASE("updates per second count only the rounds' time, not a long set-up or teardown") {
  // A run that started at t = 1000, spent 30 s connecting 10,000 clients,
  // then ran 3 rounds of 2 s (1.5 s training, 0.2 s aggregating, 0.3 s
  // evaluating) back to back, 10 updates each, and took 40 s to tear down.
  SimSummary s;
  for (int64_t r = 1; r <= 3; ++r) {
    RoundRecord rec;
    rec.round = r;
    rec.outcome = "completed";
    rec.sampled = 10;
    rec.participants = 10;
    rec.bytes_up = 1000;
    rec.bytes_down = 2000;
    rec.seconds = 1.5;
    rec.aggregate_seconds = 0.2;
    rec.eval_seconds = 0.3;
    const double round_start = 1030.0 + 2.0 * static_cast<double>(r - 1);
    rec.unix_time = round_start + 1.5 + 0.2;
    rec.accuracy = 0.5 + 0.1 * static_cast<double>(r % 3);  // 0.6, 0.7, 0.5
    s.history.push_back(rec);
  }
  s.wall_seconds = 76;
  summarize_rounds(s, 1000.0);
  CHECK(s.setup_seconds == doctest::Approx(30.0));
  CHECK(s.rounds_seconds == doctest::Approx(6.0));
  CHECK(s.client_updates == 30);
  CHECK(s.updates_per_second == doctest::Approx(5.0));  // not 30 / (76 - 30)
  CHECK(s.rounds == 3);
  CHECK(s.final_accuracy == doctest::Approx(0.5));
  CHECK(s.best_accuracy == doctest::Approx(0.7));
  CHECK(s.best_round == 2);
  CHECK(s.bytes_up_per_client_round == doctest::Approx(100.0));
  CHECK(s.bytes_down_per_client_round == doctest::Approx(200.0));
  const std::string json = format_summary_json(s);
  CHECK(json.find("\"rounds_seconds\":6.000") != std::string::npos);
  CHECK(json.find("\"updates_per_second\":5.000") != std::string::npos);

  SimSummary none;
  summarize_rounds(none, 1000.0);
  CHECK(none.updates_per_second == 0);
}

TEST_CASE("the aggregator's metrics lines read back as the records nf-sim keeps") {
  aggregator::RoundMetrics m;
  m.round = 4;
  m.outcome = "completed";
  m.sampled = 5;
  m.participants = 4;
  m.failures = {{"client-3", "timeout after 60.0 s"}};
  m.train_loss = 0.25;
  m.eval_accuracy = 0.8125;
  m.eval_loss = 0.5;
  m.bytes_in = 455984;
  m.bytes_out = 569980;
  m.round_seconds = 1.25;
  m.aggregate_seconds = 0.125;
  m.eval_seconds = 0.5;
  m.unix_time = 1790000000.5;
  const RoundRecord r = parse_metrics_line(aggregator::to_json_line(m)).value();
  const RoundRecord direct = round_record_from(m);
  CHECK(r.round == 4);
  CHECK(r.outcome == "completed");
  CHECK(r.sampled == 5);
  CHECK(r.participants == 4);
  CHECK(r.failures == 1);
  CHECK(r.failures == direct.failures);
  CHECK(r.accuracy == doctest::Approx(direct.accuracy));
  CHECK(r.train_loss == doctest::Approx(0.25));
  CHECK(r.bytes_up == 455984);
  CHECK(r.bytes_down == 569980);
  CHECK(r.seconds == doctest::Approx(1.25));
  CHECK(r.aggregate_seconds == doctest::Approx(0.125));
  CHECK(r.eval_seconds == doctest::Approx(0.5));
  CHECK(r.unix_time == doctest::Approx(1790000000.5));

  // A federated evaluation's bytes and failures are its own, not the round's.
  m.federated.sampled = 3;
  m.federated.results = 2;
  m.federated.failures = {{"client-1", "disconnected"}};
  m.federated.bytes_in = 200;
  m.federated.bytes_out = 341000;
  const RoundRecord with_eval = parse_metrics_line(aggregator::to_json_line(m)).value();
  CHECK(with_eval.bytes_up == 455984);
  CHECK(with_eval.bytes_down == 569980);
  CHECK(with_eval.failures == 1);
  CHECK(with_eval.failures == round_record_from(m).failures);

  m.eval_accuracy = -1;  // not evaluated: null in the line
  m.eval_loss = -1;
  CHECK(parse_metrics_line(aggregator::to_json_line(m)).value().accuracy < 0);
  const auto bad = parse_metrics_line("{\"round\":1}");
  REQUIRE(!bad.is_ok());
  CHECK(bad.status().message().find("outcome") != std::string::npos);
}

TEST_CASE("process mode finds its programs next to nf-sim, or says where it looked") {
  char tmpl[] = "/tmp/nf_sim_bin_XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  std::filesystem::create_directories(root + "/examples");
  std::filesystem::create_directories(root + "/aggregator");
  const std::string program = root + "/aggregator/nf-aggregator";
  REQUIRE(write_file_atomic(program, std::string_view("#!/bin/sh\n"), 0755).is_ok());
  // The build tree's layout: examples/nf-sim beside aggregator/nf-aggregator.
  CHECK(find_program("", "--aggregator-bin", "nf-aggregator", "aggregator", root + "/examples")
            .value() == program);
  const auto missing =
      find_program("", "--agent-bin", "nf-agent", "device_agent", root + "/examples");
  REQUIRE(!missing.is_ok());
  CHECK(missing.status().message().find(root + "/device_agent/nf-agent") != std::string::npos);
  CHECK(missing.status().message().find("--agent-bin") != std::string::npos);
  const auto flagged = find_program(root + "/nope", "--nf-bin", "nf", "tools/nf", root);
  REQUIRE(!flagged.is_ok());
  CHECK(flagged.status().message().find("--nf-bin '" + root + "/nope'") != std::string::npos);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace nf::sim
