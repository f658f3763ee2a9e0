// Evolutionary search over fabric shapes.
//
// A genome is a FabricSpec holding a kind and only its *shape* parameters
// (Clos ingress size n, butterfly radix, random fan-in depth, ...); the
// parameters that set the size are left automatic, for the caller's budget
// solver to fill. So every genome can be judged at the same parameter budget,
// and the search explores topology, not size.
//
// The search is pure: fitness is the caller's function (data-free scores,
// short training runs, or both), returning an error for a genome that cannot
// be built or misses the budget. Deterministic for a given seed and fitness.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/fabric/fabric_spec.h"
#include "core/util/rng.h"
#include "core/util/status.h"

namespace nf {

struct SearchSpace {
  std::vector<FabricKind> kinds;  // kinds the search may use; must not be empty
  int max_depth = 6;              // largest depth for kinds with a depth gene
  int max_radix = 32;             // largest butterfly radix
  int max_clos_n = 64;            // largest Clos ingress switch size
};

// Every kind the search knows how to mutate: all but dense, low-rank and Benes.
SearchSpace default_search_space();

// A random genome of a random kind of `space`.
FabricSpec random_genome(const SearchSpace& space, Rng& rng);

// A neighbour of `genome`: with probability 1/5 a random genome of another
// kind, else one shape gene moved by a small step (or, for kinds without a
// shape gene, a fresh mask seed for random kinds or the genome unchanged).
FabricSpec mutate_genome(const FabricSpec& genome, const SearchSpace& space, Rng& rng);

struct ScoredGenome {
  FabricSpec genome;
  double fitness = 0;  // higher is better
};

struct EvolutionOptions {
  int population = 12;
  int generations = 5;
  int survivors = 4;  // best genomes kept as parents each generation
  uint64_t seed = 1;
};

using FitnessFn = std::function<Result<double>(const FabricSpec&)>;
// Called once per evaluated genome (also infeasible ones), for progress.
using SearchProgressFn = std::function<void(int evaluated, int budget)>;

// (mu + lambda) evolution: an initial random population, then each
// generation keeps the `survivors` fittest and fills the population with
// mutants of them. Each distinct genome is evaluated once (memoised by its
// canonical text). Returns every feasible genome evaluated, fittest first
// (ties by canonical text). Errors: bad options or an empty space, or no
// feasible genome at all (the message quotes the last fitness error).
Result<std::vector<ScoredGenome>> evolve_fabrics(const SearchSpace& space,
                                                 const EvolutionOptions& options,
                                                 const FitnessFn& fitness,
                                                 const SearchProgressFn& progress = {});

}  // namespace nf
