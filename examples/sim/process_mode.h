// nf-sim --processes M: a faithful small rehearsal with the real programs.
// Makes a CA, a server certificate and M device certificates with `nf certs`,
// starts nf-aggregator and M nf-agent processes on 127.0.0.1 over mutual TLS,
// follows the aggregator's metrics file for progress, and summarizes the run
// from those metrics and the aggregator's last checkpoint.
//
// Every child is ended on every way out: success, error, SIGINT or SIGTERM
// (they get SIGTERM, then SIGKILL after a grace period), and they are asked by
// the kernel to die with nf-sim (PR_SET_PDEATHSIG) if nf-sim itself is killed.
#pragma once

#include <functional>
#include <string>

#include "examples/sim/sim_options.h"
#include "examples/sim/summary.h"

namespace nf::sim {

// Where a program is: `flag_value` when given (it must be an executable
// file), else `name` next to `self_dir` (installed side by side), else
// `self_dir`/../`build_subdir`/`name` (the build tree: examples/nf-sim next to
// aggregator/nf-aggregator). The error names every place looked at and the
// flag that overrides it.
Result<std::string> find_program(const std::string& flag_value, const std::string& flag,
                                 const std::string& name, const std::string& build_subdir,
                                 const std::string& self_dir);

// The directory of the running program (/proc/self/exe, else argv0's).
std::string self_directory(const char* argv0);

// Runs the rounds `options` describes with the real programs, M =
// options.processes agents holding shards 0..M-1 of a partition into
// options.clients shards (--clients M gives each agent one M-th of the data).
// `progress` is called once per metrics line of the aggregator.
Result<SimSummary> run_process_simulation(const SimOptions& options, const char* argv0,
                                          const std::function<void(const RoundRecord&)>& progress);

// The signal (SIGINT, SIGTERM) that stopped the last run_process_simulation,
// or 0.
int process_mode_signal();

}  // namespace nf::sim
