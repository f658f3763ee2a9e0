// Compiled with -ffp-contract=off (core/data/CMakeLists.txt) so that the
// Dirichlet cut points are computed identically on every CPU.
#include "core/data/partition.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "core/data/portable_random.h"
#include "core/util/rng.h"

namespace nf {

namespace {

constexpr int kMaxDraws = 100;

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// Cuts `indices` into consecutive pieces with sizes proportional to `p`,
// appending piece j to clients[j]. Cut points are floor(cumulative * n).
void cut_by_proportions(std::span<const int64_t> indices, const std::vector<double>& p,
                        Partition& clients) {
  const double n = static_cast<double>(indices.size());
  double cumulative = 0.0;
  size_t start = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    cumulative += p[j];
    size_t end = j + 1 == p.size()
                     ? indices.size()
                     : std::min(indices.size(), static_cast<size_t>(std::floor(cumulative * n)));
    end = std::max(end, start);
    clients[j].insert(clients[j].end(), indices.begin() + static_cast<ptrdiff_t>(start),
                      indices.begin() + static_cast<ptrdiff_t>(end));
    start = end;
  }
}

int64_t smallest(const Partition& clients) {
  int64_t m = INT64_MAX;
  for (const auto& c : clients) m = std::min(m, static_cast<int64_t>(c.size()));
  return m;
}

Result<Partition> iid(int64_t n, int32_t num_clients, Rng& rng) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(std::span<int64_t>(order));
  Partition clients(static_cast<size_t>(num_clients));
  for (int32_t c = 0; c < num_clients; ++c) {
    const int64_t begin = n * c / num_clients;
    const int64_t end = n * (c + 1) / num_clients;
    clients[static_cast<size_t>(c)].assign(order.begin() + begin, order.begin() + end);
  }
  return clients;
}

Result<Partition> shards(std::span<const int32_t> labels, int32_t num_clients, int32_t k,
                         Rng& rng) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t num_shards = static_cast<int64_t>(num_clients) * k;
  if (num_shards > n) {
    return invalid_argument("shards:k=" + std::to_string(k) + " with " +
                            std::to_string(num_clients) + " clients needs " +
                            std::to_string(num_shards) + " shards but there are only " +
                            std::to_string(n) + " examples");
  }
  std::vector<int64_t> by_label(static_cast<size_t>(n));
  std::iota(by_label.begin(), by_label.end(), 0);
  std::stable_sort(by_label.begin(), by_label.end(),
                   [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
  std::vector<int64_t> shard_order(static_cast<size_t>(num_shards));
  std::iota(shard_order.begin(), shard_order.end(), 0);
  rng.shuffle(std::span<int64_t>(shard_order));
  Partition clients(static_cast<size_t>(num_clients));
  for (int64_t i = 0; i < num_shards; ++i) {
    const int64_t s = shard_order[static_cast<size_t>(i)];
    const int64_t begin = n * s / num_shards;
    const int64_t end = n * (s + 1) / num_shards;
    auto& client = clients[static_cast<size_t>(i / k)];
    client.insert(client.end(), by_label.begin() + begin, by_label.begin() + end);
  }
  return clients;
}

Result<Partition> dirichlet(std::span<const int32_t> labels, int32_t num_classes,
                            int32_t num_clients, const PartitionSpec& spec, Rng& rng) {
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) {
    by_class[static_cast<size_t>(labels[i])].push_back(static_cast<int64_t>(i));
  }
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    Partition clients(static_cast<size_t>(num_clients));
    for (auto& members : by_class) {
      std::vector<int64_t> shuffled = members;
      rng.shuffle(std::span<int64_t>(shuffled));
      cut_by_proportions(shuffled, sample_symmetric_dirichlet(rng, spec.alpha, num_clients),
                         clients);
    }
    if (smallest(clients) >= spec.min_size) return clients;
  }
  return invalid_argument(
      "partition '" + spec.to_string() + "': no draw in " + std::to_string(kMaxDraws) +
      " gave each of " + std::to_string(num_clients) + " clients at least " +
      std::to_string(spec.min_size) +
      " examples; raise alpha, use fewer clients or lower min (min=0 allows empty clients)");
}

Result<Partition> quantity(int64_t n, int32_t num_clients, const PartitionSpec& spec, Rng& rng) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(std::span<int64_t>(order));
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    Partition clients(static_cast<size_t>(num_clients));
    cut_by_proportions(order, sample_symmetric_dirichlet(rng, spec.alpha, num_clients), clients);
    if (smallest(clients) >= spec.min_size) return clients;
  }
  return invalid_argument(
      "partition '" + spec.to_string() + "': no draw in " + std::to_string(kMaxDraws) +
      " gave each of " + std::to_string(num_clients) + " clients at least " +
      std::to_string(spec.min_size) +
      " examples; raise alpha, use fewer clients or lower min (min=0 allows empty clients)");
}

}  // namespace

std::string PartitionSpec::to_string() const {
  switch (kind) {
    case PartitionKind::kIid:
      return "iid";
    case PartitionKind::kDirichlet:
      return "dirichlet:alpha=" + format_number(alpha) + ",min=" + std::to_string(min_size);
    case PartitionKind::kShards:
      return "shards:k=" + std::to_string(shards_per_client);
    case PartitionKind::kQuantity:
      return "quantity:alpha=" + format_number(alpha) + ",min=" + std::to_string(min_size);
  }
  return "?";
}

Result<PartitionSpec> parse_partition_spec(std::string_view text) {
  const std::string spec_text(text);
  const size_t colon = spec_text.find(':');
  const std::string kind = spec_text.substr(0, colon);
  PartitionSpec spec;
  std::vector<std::string> keys;
  if (kind == "iid") {
    spec.kind = PartitionKind::kIid;
  } else if (kind == "dirichlet" || kind == "quantity") {
    spec.kind = kind == "dirichlet" ? PartitionKind::kDirichlet : PartitionKind::kQuantity;
    keys = {"alpha", "min"};
  } else if (kind == "shards") {
    spec.kind = PartitionKind::kShards;
    keys = {"k"};
  } else {
    return invalid_argument("unknown partition '" + kind +
                            "' (known: iid, dirichlet:alpha=A, shards:k=K, quantity:alpha=A)");
  }
  if (colon == std::string::npos) return spec;
  const std::string rest = spec_text.substr(colon + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    if (comma == std::string::npos) comma = rest.size();
    const std::string item = rest.substr(start, comma - start);
    start = comma + 1;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    if (eq == std::string::npos || eq == 0) {
      return invalid_argument("partition '" + spec_text + "': '" + item + "' is not key=value");
    }
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      std::string list;
      for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
      return invalid_argument("partition '" + spec_text + "': unknown key '" + key + "' for " +
                              kind + (list.empty() ? " (it takes none)" : " (keys: " + list + ")"));
    }
    const std::string value = item.substr(eq + 1);
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v)) {
      return invalid_argument("partition '" + spec_text + "': " + key + "='" + value +
                              "' is not a number");
    }
    if (key == "alpha") {
      if (v <= 0) {
        return invalid_argument("partition '" + spec_text + "': alpha=" + value + " must be > 0");
      }
      spec.alpha = v;
    } else {
      const double lowest = key == "k" ? 1 : 0;
      if (v != std::floor(v) || v < lowest || v > 1e9) {
        return invalid_argument("partition '" + spec_text + "': " + key + "=" + value +
                                " must be an integer >= " + format_number(lowest));
      }
      if (key == "k") {
        spec.shards_per_client = static_cast<int32_t>(v);
      } else {
        spec.min_size = static_cast<int64_t>(v);
      }
    }
  }
  return spec;
}

Result<Partition> make_partition(const PartitionSpec& spec, std::span<const int32_t> labels,
                                 int32_t num_classes, int32_t num_clients, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(labels.size());
  if (num_clients < 1) {
    return invalid_argument("number of clients " + std::to_string(num_clients) + " must be >= 1");
  }
  if (num_classes < 1) {
    return invalid_argument("number of classes " + std::to_string(num_classes) + " must be >= 1");
  }
  const int64_t min_size =
      spec.kind == PartitionKind::kIid || spec.kind == PartitionKind::kShards ? 1 : spec.min_size;
  if (n < static_cast<int64_t>(num_clients) * min_size) {
    return invalid_argument("partition '" + spec.to_string() + "': " + std::to_string(n) +
                            " examples cannot give " + std::to_string(num_clients) +
                            " clients at least " + std::to_string(min_size) + " each");
  }
  for (int64_t i = 0; i < n; ++i) {
    if (labels[static_cast<size_t>(i)] < 0 || labels[static_cast<size_t>(i)] >= num_classes) {
      return invalid_argument("label[" + std::to_string(i) +
                              "] = " + std::to_string(labels[static_cast<size_t>(i)]) +
                              " is outside [0, " + std::to_string(num_classes) + ")");
    }
  }
  // The stream is tied to the kind so that, say, iid and quantity with one
  // seed do not share their shuffles by accident.
  Rng rng(seed, 0x9a27000ULL + static_cast<uint64_t>(spec.kind));
  Result<Partition> result = [&]() -> Result<Partition> {
    switch (spec.kind) {
      case PartitionKind::kIid:
        return iid(n, num_clients, rng);
      case PartitionKind::kShards:
        return shards(labels, num_clients, spec.shards_per_client, rng);
      case PartitionKind::kDirichlet:
        return dirichlet(labels, num_classes, num_clients, spec, rng);
      case PartitionKind::kQuantity:
        return quantity(n, num_clients, spec, rng);
    }
    return internal_error("unhandled partition kind");
  }();
  if (result.is_ok()) {
    for (auto& client : *result) std::sort(client.begin(), client.end());
  }
  return result;
}

Result<Partition> make_partition(const PartitionSpec& spec, const Dataset& data,
                                 int32_t num_clients, uint64_t seed) {
  return make_partition(spec, data.labels, data.num_classes, num_clients, seed);
}

Result<std::vector<int64_t>> partition_for_client(const PartitionSpec& spec,
                                                  std::span<const int32_t> labels,
                                                  int32_t num_classes, int32_t num_clients,
                                                  uint64_t seed, int32_t client) {
  assert(client >= 0 && client < num_clients);
  NF_ASSIGN_OR_RETURN(Partition all, make_partition(spec, labels, num_classes, num_clients, seed));
  return std::move(all[static_cast<size_t>(client)]);
}

std::vector<std::vector<int64_t>> label_histograms(const Partition& partition,
                                                   std::span<const int32_t> labels,
                                                   int32_t num_classes) {
  std::vector<std::vector<int64_t>> counts(partition.size(),
                                           std::vector<int64_t>(static_cast<size_t>(num_classes)));
  for (size_t c = 0; c < partition.size(); ++c) {
    for (int64_t i : partition[c]) ++counts[c][static_cast<size_t>(labels[static_cast<size_t>(i)])];
  }
  return counts;
}

double label_skew(const Partition& partition, std::span<const int32_t> labels,
                  int32_t num_classes) {
  const auto counts = label_histograms(partition, labels, num_classes);
  std::vector<double> global(static_cast<size_t>(num_classes), 0.0);
  double total = 0.0;
  for (const auto& row : counts) {
    for (size_t k = 0; k < row.size(); ++k) global[k] += static_cast<double>(row[k]);
  }
  for (double g : global) total += g;
  if (total == 0.0) return 0.0;
  double skew = 0.0;
  for (const auto& row : counts) {
    const double size = static_cast<double>(std::accumulate(row.begin(), row.end(), int64_t{0}));
    if (size == 0.0) continue;
    double tv = 0.0;
    for (size_t k = 0; k < row.size(); ++k) {
      tv += std::fabs(static_cast<double>(row[k]) / size - global[k] / total);
    }
    skew += size / total * tv / 2.0;
  }
  return skew;
}

std::string label_histogram_table(const Partition& partition, std::span<const int32_t> labels,
                                  int32_t num_classes, int32_t max_clients) {
  const auto counts = label_histograms(partition, labels, num_classes);
  std::string out;
  char cell[32];
  std::snprintf(cell, sizeof(cell), "%7s %9s", "client", "examples");
  out += cell;
  for (int32_t k = 0; k < num_classes; ++k) {
    std::snprintf(cell, sizeof(cell), " %7d", k);
    out += cell;
  }
  out += "\n";
  const size_t shown =
      max_clients > 0 ? std::min(counts.size(), static_cast<size_t>(max_clients)) : counts.size();
  for (size_t c = 0; c < shown; ++c) {
    const int64_t size = std::accumulate(counts[c].begin(), counts[c].end(), int64_t{0});
    std::snprintf(cell, sizeof(cell), "%7zu %9lld", c, static_cast<long long>(size));
    out += cell;
    for (int64_t v : counts[c]) {
      std::snprintf(cell, sizeof(cell), " %7lld", static_cast<long long>(v));
      out += cell;
    }
    out += "\n";
  }
  if (shown < counts.size()) {
    out += "... " + std::to_string(counts.size() - shown) + " more clients\n";
  }
  std::snprintf(cell, sizeof(cell), "%.3f", label_skew(partition, labels, num_classes));
  out += "label skew (mean total-variation distance to the global distribution): ";
  out += cell;
  out += "\n";
  return out;
}

}  // namespace nf
