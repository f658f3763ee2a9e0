// Partitioners: which examples each federated client holds.
//
// Every partition is a pure function of (spec, labels, number of clients,
// seed): the aggregator, a simulation and each device agent compute the same
// shards, bit for bit on every CPU (integer Rng draws and the portable
// floating point of core/data/portable_random.h). A client's indices are in
// increasing order; every example belongs to exactly one client.
//
// Specs (parse_partition_spec):
//   iid                         shuffle, then equal contiguous slices
//   dirichlet:alpha=0.5         label skew: each class is split across
//                               clients by proportions ~ Dirichlet(alpha)
//                               (Hsu et al. 2019); small alpha = few classes
//                               per client
//   shards:k=2                  pathological non-IID (McMahan et al. 2017):
//                               sort by label, cut into clients * k shards,
//                               give each client k random shards
//   quantity:alpha=1            quantity skew: client sizes ~ Dirichlet(alpha),
//                               labels IID
// dirichlet and quantity also take min=<n> (default 1): draws are repeated
// (up to 100 times) until every client has at least n examples.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/data/dataset.h"
#include "core/util/status.h"

namespace nf {

enum class PartitionKind { kIid, kDirichlet, kShards, kQuantity };

struct PartitionSpec {
  PartitionKind kind = PartitionKind::kIid;
  double alpha = 0.5;             // kDirichlet, kQuantity: concentration, > 0
  int32_t shards_per_client = 2;  // kShards
  int64_t min_size = 1;           // kDirichlet, kQuantity

  // Canonical text, e.g. "dirichlet:alpha=0.5,min=1"; parses back to the same spec.
  std::string to_string() const;
};

// Parses "iid", "dirichlet:alpha=0.5", "shards:k=2", "quantity:alpha=1",
// with errors naming the unknown kind or key, or the bad value.
Result<PartitionSpec> parse_partition_spec(std::string_view text);

// Client c's example indices are partition[c].
using Partition = std::vector<std::vector<int64_t>>;

// Splits examples with these labels (each in [0, num_classes)) among
// num_clients clients. Fails with invalid_argument when it cannot (more
// clients or shards than examples, min not reachable in 100 draws).
Result<Partition> make_partition(const PartitionSpec& spec, std::span<const int32_t> labels,
                                 int32_t num_classes, int32_t num_clients, uint64_t seed);
Result<Partition> make_partition(const PartitionSpec& spec, const Dataset& data,
                                 int32_t num_clients, uint64_t seed);

// Only client `client`'s indices, identical to make_partition(...)[client]
// (an agent computes its own shard). It computes the whole partition, O(examples),
// so a simulation holding many clients calls make_partition once instead.
// Precondition: 0 <= client < num_clients.
Result<std::vector<int64_t>> partition_for_client(const PartitionSpec& spec,
                                                  std::span<const int32_t> labels,
                                                  int32_t num_classes, int32_t num_clients,
                                                  uint64_t seed, int32_t client);

// histogram[c][k] = number of examples of class k held by client c.
std::vector<std::vector<int64_t>> label_histograms(const Partition& partition,
                                                   std::span<const int32_t> labels,
                                                   int32_t num_classes);

// How far clients' label distributions are from the whole data set's:
// the example-weighted mean total-variation distance, in [0, 1] (0 = IID).
double label_skew(const Partition& partition, std::span<const int32_t> labels, int32_t num_classes);

// A text table, one row per client: its example count and per-class counts,
// then the skew. Shows the first max_clients rows (0 = all) and says how many
// were left out.
std::string label_histogram_table(const Partition& partition, std::span<const int32_t> labels,
                                  int32_t num_classes, int32_t max_clients = 0);

}  // namespace nf
