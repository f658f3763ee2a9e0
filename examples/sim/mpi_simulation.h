// nf-sim-mpi: the simulation spread over MPI ranks (mpirun -np P nf-sim-mpi ...).
//
// Every rank loads the data and the partition (both derived from the seed),
// so a client's data never travels. Each round, every rank derives the same
// sample of clients with the aggregator's own sampling (core/fl), trains its
// contiguous block of the sampled clients (in client-id order) with the
// agent's own task runner (device_agent's EngineTaskRunner), checks and
// clips their updates with core/fl's check_update and clip_factor, and folds
// them into a weighted sum with the arithmetic of core/fl's WeightedSum. The
// partial sums are combined by a reduction in a
// fixed order: rank p receives the sum of ranks 0..p-1, continues it with its
// own clients and passes it on, so the additions happen in exactly the order
// of the in-process aggregator's ordered aggregation. Rank 0 then applies the
// strategy's server update (core/fl's ServerOptimizer), evaluates, and
// broadcasts the new global model. The result is bit-identical to nf-sim in
// one process with the same settings (tests/sim/mpi_test.cpp); why a plain
// MPI_Reduce(MPI_SUM) could not promise that is in docs/simulation.md.
//
// Strategies whose combine rule is a weighted mean (fedavg, fedprox,
// fedavgm, fedadam, fedyogi, fedadagrad, with or without clip) are
// supported; the robust ones (median, trimmed mean, Krum) must see every
// update at once and are refused. Failure injection is in-process only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "examples/sim/sim_options.h"
#include "examples/sim/summary.h"

namespace nf::sim {

// The sampled clients [begin, end) (positions in id order) that `rank` of
// `ranks` trains: contiguous blocks, sizes differing by at most one.
struct Block {
  int64_t begin = 0;
  int64_t end = 0;
};
Block rank_block(int64_t sampled, int rank, int ranks);

// Runs the simulation on every rank of MPI_COMM_WORLD (MPI must be
// initialized). `progress` is called on rank 0 after every round. Returns the
// summary on rank 0 (other ranks return theirs, with no history); an error on
// any rank is an error on every rank.
Result<SimSummary> run_mpi_simulation(const SimOptions& options,
                                      const std::function<void(const RoundRecord&)>& progress);

}  // namespace nf::sim
