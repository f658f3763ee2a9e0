// nf-sim-mpi: nf-sim's rounds spread over MPI ranks, bit-identical to one
// process (docs/simulation.md, "MPI mode").
//
//   mpirun -np 4 nf-sim-mpi --clients 1000 --per-round 100 --rounds 20
//   mpirun --oversubscribe -np 2 nf-sim-mpi --clients 12 --per-round 6 --rounds 2 --json
//
// Takes nf-sim's flags and TOML keys; only rank 0 prints and writes files.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "core/util/command_line.h"
#include "examples/sim/mpi_simulation.h"
#include "examples/sim/sim_options.h"
#include "examples/sim/summary.h"

namespace {

// Parses the flags; returns -1 to go on, else the exit code (--help, a bad flag).
int parse(int argc, char** argv, nf::sim::SimOptions& options, bool quiet_rank) {
  const std::string config_path = nf::config_path_in_args(argc, argv);
  if (!config_path.empty()) {
    if (nf::Status s = nf::sim::load_sim_config(config_path, options); !s.is_ok()) {
      if (!quiet_rank) std::fprintf(stderr, "nf-sim-mpi: %s\n", s.to_string().c_str());
      return 1;
    }
  }
  CLI::App app{
      "nf-sim-mpi: nf-sim's federated simulation spread over MPI ranks (run it with mpirun); "
      "ranks share the sampled clients and combine each round's weighted sums in a fixed "
      "order, so the result is bit-identical to nf-sim in one process"};
  std::string unused_config;
  app.add_option("--config", unused_config, "TOML file of settings (flags override it)");
  nf::sim::add_sim_flags(app, options);
  app.set_version_flag("--version", "nf-sim-mpi 0.1.0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (quiet_rank) return e.get_exit_code();
    return app.exit(e);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  nf::sim::SimOptions options;
  if (const int code = parse(argc, argv, options, rank != 0); code >= 0) {
    MPI_Finalize();
    return code;
  }
  // Progress on stderr when stdout is reserved for the JSON summary; rank 0 only.
  std::FILE* progress_out = options.json ? stderr : stdout;
  auto progress = [&](const nf::sim::RoundRecord& r) {
    if (options.quiet) return;
    std::fprintf(progress_out, "%s\n", nf::sim::format_progress_line(r, options.rounds).c_str());
    std::fflush(progress_out);
  };
  if (rank == 0 && !options.quiet) {
    int ranks = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    std::fprintf(progress_out, "%s\nnf-sim-mpi: %d MPI rank%s\n",
                 nf::sim::format_run_banner(options).c_str(), ranks, ranks == 1 ? "" : "s");
    std::fflush(progress_out);
  }
  auto summary = nf::sim::run_mpi_simulation(options, progress);
  int code = 0;
  if (!summary.is_ok()) {
    // Every rank stops together; the rank that failed says why, and rank 0
    // says it too when the failure was another rank's.
    const bool others = summary.status().code() == nf::StatusCode::kUnavailable &&
                        summary.status().message().find("another MPI rank") != std::string::npos;
    if (!others || rank == 0) {
      std::fprintf(stderr, "nf-sim-mpi (rank %d): %s\n", rank,
                   summary.status().to_string().c_str());
    }
    code = 1;
  } else if (rank == 0) {
    if (nf::Status s = nf::sim::write_run_outputs(options, *summary); !s.is_ok()) {
      std::fprintf(stderr, "nf-sim-mpi: %s\n", s.to_string().c_str());
      code = 1;
    }
  }
  MPI_Finalize();
  return code;
}
