// nf-sim: many federated clients on one host, running the real aggregator
// and agent code over the in-process transport (docs/simulation.md).
//
//   nf-sim                                   # the default: 100 clients, Dirichlet(0.5)
//   nf-sim --partition iid --metrics iid.jsonl --svg iid.svg
//   nf-sim --compare iid.jsonl dirichlet.jsonl --svg both.svg
//   nf-sim --processes 4                     # real processes over TLS on loopback
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "core/util/command_line.h"
#include "core/util/file.h"
#include "examples/sim/plot.h"
#include "examples/sim/process_mode.h"
#include "examples/sim/sim_options.h"
#include "examples/sim/simulation.h"

namespace {

int fail(const nf::Status& s) {
  std::fprintf(stderr, "nf-sim: %s\n", s.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  nf::sim::SimOptions options;
  const std::string config_path = nf::config_path_in_args(argc, argv);
  if (!config_path.empty()) {
    if (nf::Status s = nf::sim::load_sim_config(config_path, options); !s.is_ok()) return fail(s);
  }
  CLI::App app{
      "nf-sim: a federated simulation of many clients on one host, with the real aggregator and "
      "agent code"};
  std::string unused_config;
  bool print_config = false;
  app.add_option("--config", unused_config, "TOML file of settings (flags override it)");
  app.add_flag("--print-config", print_config, "Print the effective settings as TOML and exit");
  nf::sim::add_sim_flags(app, options);
  app.set_version_flag("--version", "nf-sim 0.1.0");
  CLI11_PARSE(app, argc, argv);

  if (print_config) {
    std::fputs(nf::sim::format_sim_config(options).c_str(), stdout);
    return 0;
  }
  if (!options.compare.empty()) {
    if (options.svg.empty()) return fail(nf::invalid_argument("--compare needs --svg FILE"));
    std::vector<nf::sim::Series> series;
    for (const std::string& path : options.compare) {
      auto s = nf::sim::read_metrics_series(path);
      if (!s.is_ok()) return fail(s.status());
      series.push_back(std::move(s).value());
    }
    const std::string svg = nf::sim::render_accuracy_svg(series, "test accuracy per round");
    if (nf::Status s = nf::write_file_atomic(options.svg, svg); !s.is_ok()) return fail(s);
    std::fprintf(stderr, "nf-sim: wrote %s (%zu runs)\n", options.svg.c_str(), series.size());
    return 0;
  }
  if (nf::Status s = options.validate(); !s.is_ok()) return fail(s);

  // Progress goes to stderr when stdout is reserved for the JSON summary.
  std::FILE* progress_out = options.json ? stderr : stdout;
  auto progress = [&](const nf::sim::RoundRecord& r) {
    if (options.quiet) return;
    std::fprintf(progress_out, "%s\n", nf::sim::format_progress_line(r, options.rounds).c_str());
    std::fflush(progress_out);
  };
  if (!options.quiet) {
    std::string banner = nf::sim::format_run_banner(options);
    if (options.processes > 0) {
      banner += "\nnf-sim: process mode: nf-aggregator and " + std::to_string(options.processes) +
                " nf-agent processes on 127.0.0.1 over mutual TLS";
    }
    std::fprintf(progress_out, "%s\n", banner.c_str());
  }
  auto summary = options.processes > 0 ? nf::sim::run_process_simulation(options, argv[0], progress)
                                       : nf::sim::run_simulation(options, progress);
  if (!summary.is_ok()) {
    const int code = fail(summary.status());
    return nf::sim::process_mode_signal() != 0 ? 128 + nf::sim::process_mode_signal() : code;
  }
  if (nf::Status s = nf::sim::write_run_outputs(options, *summary); !s.is_ok()) return fail(s);
  return 0;
}
