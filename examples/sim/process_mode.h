// nf-sim --processes M: a faithful small rehearsal with real programs. Makes
// a CA and certificates with `nf certs`, starts nf-aggregator and M nf-agent
// processes on loopback over mutual TLS, waits for the rounds, and reports
// what the aggregator's metrics file says.
#pragma once

#include "examples/sim/sim_options.h"

namespace nf::sim {

// Returns the process exit code. `argv0` locates the sibling programs in
// the build tree.
int run_process_mode(const SimOptions& options, const char* argv0);

}  // namespace nf::sim
