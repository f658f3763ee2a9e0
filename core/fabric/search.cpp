#include "core/fabric/search.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>

namespace nf {

namespace {

int64_t uniform_in(Rng& rng, int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(hi - lo + 1)));
}

int64_t step_gene(int64_t value, int64_t lo, int64_t hi, Rng& rng) {
  const int64_t step = (value >= 8 && rng.uniform(2) == 0) ? value / 4 : 1;
  const int64_t moved = rng.uniform(2) == 0 ? value - step : value + step;
  return std::clamp<int64_t>(moved, lo, hi);
}

FabricSpec genome_of_kind(FabricKind kind, const SearchSpace& space, Rng& rng) {
  FabricSpec g;
  g.kind = kind;
  switch (kind) {
    case FabricKind::kClos:
      g.params.n = uniform_in(rng, 4, space.max_clos_n);
      break;
    case FabricKind::kButterfly:
    case FabricKind::kBenes:
      g.params.radix = uniform_in(rng, 2, space.max_radix);
      break;
    case FabricKind::kParallelButterfly:
      g.params.radix = uniform_in(rng, 2, std::min(space.max_radix, 16));
      break;
    case FabricKind::kRandomFanIn:
    case FabricKind::kErdosRenyi:
      g.params.depth = uniform_in(rng, 1, std::min(space.max_depth, 4));
      g.seed = 1 + rng.uniform(1000);
      break;
    default:
      break;  // hypercube, torus, RadiX-Net, dense, low-rank: size genes only
  }
  return g;
}

}  // namespace

SearchSpace default_search_space() {
  SearchSpace s;
  s.kinds = {FabricKind::kClos,        FabricKind::kButterfly, FabricKind::kParallelButterfly,
             FabricKind::kHypercube,   FabricKind::kTorus,     FabricKind::kRadixNet,
             FabricKind::kRandomFanIn, FabricKind::kErdosRenyi};
  return s;
}

FabricSpec random_genome(const SearchSpace& space, Rng& rng) {
  const FabricKind kind = space.kinds[rng.uniform(space.kinds.size())];
  return genome_of_kind(kind, space, rng);
}

FabricSpec mutate_genome(const FabricSpec& genome, const SearchSpace& space, Rng& rng) {
  if (space.kinds.size() > 1 && rng.uniform(5) == 0) {
    FabricKind kind = genome.kind;
    while (kind == genome.kind) kind = space.kinds[rng.uniform(space.kinds.size())];
    return genome_of_kind(kind, space, rng);
  }
  FabricSpec g = genome;
  switch (g.kind) {
    case FabricKind::kClos:
      g.params.n = step_gene(g.params.n, 2, space.max_clos_n, rng);
      break;
    case FabricKind::kButterfly:
    case FabricKind::kBenes:
      g.params.radix = step_gene(g.params.radix, 2, space.max_radix, rng);
      break;
    case FabricKind::kParallelButterfly:
      g.params.radix = step_gene(g.params.radix, 2, std::min(space.max_radix, 16), rng);
      break;
    case FabricKind::kRandomFanIn:
    case FabricKind::kErdosRenyi:
      if (rng.uniform(2) == 0) {
        g.params.depth = step_gene(g.params.depth, 1, std::min(space.max_depth, 4), rng);
      } else {
        g.seed = 1 + rng.uniform(1000);
      }
      break;
    default:
      break;
  }
  return g;
}

Result<std::vector<ScoredGenome>> evolve_fabrics(const SearchSpace& space,
                                                 const EvolutionOptions& options,
                                                 const FitnessFn& fitness,
                                                 const SearchProgressFn& progress) {
  if (space.kinds.empty()) return invalid_argument("the search space has no fabric kind");
  if (options.population < 2 || options.generations < 1 || options.survivors < 1 ||
      options.survivors > options.population) {
    return invalid_argument("evolution options: population " + std::to_string(options.population) +
                            ", generations " + std::to_string(options.generations) +
                            ", survivors " + std::to_string(options.survivors) +
                            " (need population >= 2, generations >= 1, "
                            "1 <= survivors <= population)");
  }
  Rng rng(options.seed, 0xe7e7);
  std::map<std::string, std::optional<double>>
      seen;  // canonical text -> fitness (none: infeasible)
  std::vector<ScoredGenome> feasible;
  Status last_error = invalid_argument("no genome evaluated");
  const int budget = options.population * options.generations;
  int evaluated = 0;

  auto evaluate = [&](const FabricSpec& g) {
    const std::string key = format_fabric_spec(g);
    if (seen.count(key)) return;
    Result<double> f = fitness(g);
    ++evaluated;
    if (f.is_ok()) {
      seen[key] = *f;
      feasible.push_back({g, *f});
    } else {
      seen[key] = std::nullopt;
      last_error = f.status().with_context(key);
    }
    if (progress) progress(evaluated, budget);
  };
  auto rank = [&] {
    std::sort(feasible.begin(), feasible.end(), [](const ScoredGenome& a, const ScoredGenome& b) {
      if (a.fitness != b.fitness) return a.fitness > b.fitness;
      return format_fabric_spec(a.genome) < format_fabric_spec(b.genome);
    });
  };

  // Initial population: each kind once where room allows, then random genomes.
  for (int i = 0; i < options.population; ++i) {
    if (static_cast<size_t>(i) < space.kinds.size()) {
      evaluate(genome_of_kind(space.kinds[static_cast<size_t>(i)], space, rng));
    } else {
      evaluate(random_genome(space, rng));
    }
  }
  for (int gen = 1; gen < options.generations; ++gen) {
    rank();
    if (feasible.empty()) {
      for (int i = 0; i < options.population; ++i) evaluate(random_genome(space, rng));
      continue;
    }
    const size_t parents = std::min(feasible.size(), static_cast<size_t>(options.survivors));
    const std::vector<ScoredGenome> elite(feasible.begin(),
                                          feasible.begin() + static_cast<ptrdiff_t>(parents));
    // Mutants; a genome already seen costs nothing, so allow a few retries.
    int made = 0;
    for (int tries = 0;
         made < options.population - options.survivors && tries < options.population * 4; ++tries) {
      const FabricSpec child = mutate_genome(elite[rng.uniform(elite.size())].genome, space, rng);
      if (seen.count(format_fabric_spec(child))) continue;
      evaluate(child);
      ++made;
    }
  }
  rank();
  if (feasible.empty()) return last_error;
  return feasible;
}

}  // namespace nf
