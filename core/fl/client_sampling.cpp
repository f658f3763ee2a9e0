#include "core/fl/client_sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/util/rng.h"

namespace nf {

namespace {
// A stream per round so that round r's choice does not depend on how many
// draws earlier rounds made.
Rng round_rng(uint64_t seed, int64_t round) {
  return Rng(seed ^ 0x5a3c11e7c0ffee00ULL, static_cast<uint64_t>(round));
}
}  // namespace

int32_t with_over_selection(int32_t clients_per_round, double over_selection) {
  if (over_selection <= 0.0) return clients_per_round;
  const double wanted = std::ceil(static_cast<double>(clients_per_round) * (1.0 + over_selection));
  return static_cast<int32_t>(std::min<double>(wanted, 1 << 30));
}

std::vector<int64_t> sample_client_indices(int64_t num_available, int32_t count, uint64_t seed,
                                           int64_t round) {
  std::vector<int64_t> ids(static_cast<size_t>(std::max<int64_t>(num_available, 0)));
  std::iota(ids.begin(), ids.end(), 0);
  const size_t take = std::min(ids.size(), static_cast<size_t>(std::max(count, 0)));
  Rng rng = round_rng(seed, round);
  // Partial Fisher-Yates: the first `take` positions are a uniform sample in random order.
  for (size_t i = 0; i < take; ++i) {
    const size_t j = i + static_cast<size_t>(rng.uniform(ids.size() - i));
    std::swap(ids[i], ids[j]);
  }
  ids.resize(take);
  return ids;
}

std::vector<std::string> sample_clients(std::span<const std::string> available, int32_t count,
                                        uint64_t seed, int64_t round) {
  std::vector<std::string> sorted(available.begin(), available.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const std::vector<int64_t> picks =
      sample_client_indices(static_cast<int64_t>(sorted.size()), count, seed, round);
  std::vector<std::string> chosen;
  chosen.reserve(picks.size());
  for (int64_t i : picks) chosen.push_back(sorted[static_cast<size_t>(i)]);
  return chosen;
}

}  // namespace nf
