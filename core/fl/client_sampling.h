// Seeded choice of the clients that take part in a round.
//
// The choice depends only on (seed, round, the set of available ids, count):
// ids are sorted before sampling, so the order in which clients connected
// does not matter, and rerunning a simulation from the same seed picks the
// same clients. Uses nf::Rng's integer functions only (bit-portable).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nf {

// Number of clients to contact so that `clients_per_round` are likely to
// answer: ceil(clients_per_round * (1 + over_selection)), at least clients_per_round.
int32_t with_over_selection(int32_t clients_per_round, double over_selection);

// `count` distinct ids from `available` in sampled order (callers that
// over-select keep the first answers). When fewer than `count` are
// available, all of them are returned, shuffled.
std::vector<std::string> sample_clients(std::span<const std::string> available, int32_t count,
                                        uint64_t seed, int64_t round);

// The same for clients numbered 0..num_available-1 (simulation).
std::vector<int64_t> sample_client_indices(int64_t num_available, int32_t count, uint64_t seed,
                                           int64_t round);

}  // namespace nf
