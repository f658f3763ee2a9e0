#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/data/partition.h"
#include "core/data/portable_random.h"
#include "core/util/hash.h"

namespace nf {
namespace {

// 10 classes of 500 examples, interleaved like a real data set.
std::vector<int32_t> make_labels(int per_class = 500, int classes = 10) {
  std::vector<int32_t> labels;
  for (int i = 0; i < per_class * classes; ++i) labels.push_back(i % classes);
  return labels;
}

PartitionSpec spec_of(const char* text) {
  auto spec = parse_partition_spec(text);
  REQUIRE_MESSAGE(spec.is_ok(), spec.status().to_string());
  return *spec;
}

Partition partition_of(const char* text, const std::vector<int32_t>& labels, int clients,
                       uint64_t seed) {
  auto p = make_partition(spec_of(text), labels, 10, clients, seed);
  REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
  return *p;
}

void check_exact_cover(const Partition& p, size_t n) {
  std::vector<int> seen(n, 0);
  for (const auto& client : p) {
    CHECK(std::is_sorted(client.begin(), client.end()));
    for (int64_t i : client) {
      REQUIRE(i >= 0);
      REQUIRE(static_cast<size_t>(i) < n);
      ++seen[static_cast<size_t>(i)];
    }
  }
  CHECK(std::count(seen.begin(), seen.end(), 1) == static_cast<std::ptrdiff_t>(n));
}

uint64_t hash_of(const Partition& p) {
  Hasher h;
  for (const auto& client : p) {
    h.u64(client.size());
    for (int64_t i : client) h.i64(i);
  }
  return h.digest();
}

TEST_CASE("partition specs parse, print canonically and refuse nonsense") {
  CHECK(spec_of("iid").kind == PartitionKind::kIid);
  CHECK(spec_of("dirichlet:alpha=0.5").alpha == 0.5);
  CHECK(spec_of("shards:k=3").shards_per_client == 3);
  CHECK(spec_of("quantity:alpha=2,min=5").min_size == 5);
  CHECK(spec_of("dirichlet:alpha=0.1").to_string() == "dirichlet:alpha=0.1,min=1");
  CHECK(spec_of(spec_of("shards:k=4").to_string().c_str()).shards_per_client == 4);

  auto message = [](const char* text) { return parse_partition_spec(text).status().message(); };
  CHECK(message("zipf") ==
        "unknown partition 'zipf' (known: iid, dirichlet:alpha=A, shards:k=K, quantity:alpha=A)");
  CHECK(message("dirichlet:beta=1") ==
        "partition 'dirichlet:beta=1': unknown key 'beta' for dirichlet (keys: alpha, min)");
  CHECK(message("dirichlet:alpha=-1") == "partition 'dirichlet:alpha=-1': alpha=-1 must be > 0");
  CHECK(message("dirichlet:alpha=x") == "partition 'dirichlet:alpha=x': alpha='x' is not a number");
  CHECK(message("shards:k=0") == "partition 'shards:k=0': k=0 must be an integer >= 1");
  CHECK(message("shards:k=1.5") == "partition 'shards:k=1.5': k=1.5 must be an integer >= 1");
  CHECK(message("iid:k=1") == "partition 'iid:k=1': unknown key 'k' for iid (it takes none)");
  CHECK(message("shards:2") == "partition 'shards:2': '2' is not key=value");
}

TEST_CASE("every partition uses each example exactly once, with the right client count") {
  const auto labels = make_labels();
  for (const char* text : {"iid", "dirichlet:alpha=0.5", "dirichlet:alpha=0.05,min=0", "shards:k=2",
                           "quantity:alpha=1"}) {
    CAPTURE(text);
    const Partition p = partition_of(text, labels, 17, 5);
    CHECK(p.size() == 17u);
    check_exact_cover(p, labels.size());
  }
}

TEST_CASE("iid: sizes differ by at most one and each client sees every class") {
  const auto labels = make_labels();
  const Partition p = partition_of("iid", labels, 7, 1);
  for (const auto& client : p) CHECK((client.size() == 714u || client.size() == 715u));
  for (const auto& row : label_histograms(p, labels, 10)) {
    for (int64_t count : row) CHECK(count > 40);
  }
  CHECK(label_skew(p, labels, 10) < 0.1);
}

TEST_CASE("shards: each client holds at most k classes when shards do not straddle labels") {
  const auto labels = make_labels();  // 5000 examples, 50 shards of 100
  const Partition p = partition_of("shards:k=2", labels, 25, 3);
  for (const auto& row : label_histograms(p, labels, 10)) {
    CHECK(std::count_if(row.begin(), row.end(), [](int64_t c) { return c > 0; }) <= 2);
    CHECK(std::accumulate(row.begin(), row.end(), int64_t{0}) == 200);
  }
}

TEST_CASE("partitions are reproducible for a seed and change with it") {
  const auto labels = make_labels();
  for (const char* text : {"iid", "dirichlet:alpha=0.5", "shards:k=2", "quantity:alpha=1"}) {
    CAPTURE(text);
    CHECK(hash_of(partition_of(text, labels, 10, 11)) ==
          hash_of(partition_of(text, labels, 10, 11)));
    CHECK(hash_of(partition_of(text, labels, 10, 11)) !=
          hash_of(partition_of(text, labels, 10, 12)));
  }
}

TEST_CASE("partition_for_client returns exactly that client's share") {
  const auto labels = make_labels();
  const PartitionSpec spec = spec_of("dirichlet:alpha=0.3");
  const Partition all = partition_of("dirichlet:alpha=0.3", labels, 8, 99);
  for (int32_t c = 0; c < 8; ++c) {
    auto mine = partition_for_client(spec, labels, 10, 8, 99, c);
    REQUIRE(mine.is_ok());
    CHECK(*mine == all[static_cast<size_t>(c)]);
  }
}

TEST_CASE("dirichlet: skew grows as alpha shrinks") {
  const auto labels = make_labels();
  double previous = -1.0;
  for (const char* text : {"dirichlet:alpha=100", "dirichlet:alpha=1", "dirichlet:alpha=0.1"}) {
    const double skew = label_skew(partition_of(text, labels, 10, 4), labels, 10);
    CAPTURE(text);
    CHECK(skew > previous);
    previous = skew;
  }
  CHECK(label_skew(partition_of("dirichlet:alpha=100", labels, 10, 4), labels, 10) < 0.1);
  CHECK(label_skew(partition_of("dirichlet:alpha=0.1", labels, 10, 4), labels, 10) > 0.5);
}

TEST_CASE("quantity: sizes vary, labels stay balanced") {
  const auto labels = make_labels();
  const Partition p = partition_of("quantity:alpha=0.5", labels, 10, 8);
  size_t lo = labels.size(), hi = 0;
  for (const auto& client : p) {
    lo = std::min(lo, client.size());
    hi = std::max(hi, client.size());
  }
  CHECK(hi > 3 * lo);
  CHECK(label_skew(p, labels, 10) < 0.25);
}

TEST_CASE("impossible partitions fail with a reason") {
  const auto labels = make_labels(2, 10);  // 20 examples
  auto too_many = make_partition(spec_of("iid"), labels, 10, 21, 1);
  CHECK(too_many.status().message() ==
        "partition 'iid': 20 examples cannot give 21 clients at least 1 each");
  auto shards = make_partition(spec_of("shards:k=3"), labels, 10, 7, 1);
  CHECK(shards.status().message().find("needs 21 shards but there are only 20 examples") !=
        std::string::npos);
  auto min = make_partition(spec_of("dirichlet:alpha=0.01,min=2"), labels, 10, 10, 1);
  CHECK(min.status().message().find("raise alpha") != std::string::npos);
  const std::vector<int32_t> bad = {0, 1, 12};
  CHECK(make_partition(spec_of("iid"), bad, 10, 1, 1).status().message() ==
        "label[2] = 12 is outside [0, 10)");
}

TEST_CASE("histogram table shows counts per class and the skew") {
  const auto labels = make_labels();
  const Partition p = partition_of("shards:k=1", labels, 10, 2);
  const std::string table = label_histogram_table(p, labels, 10, 3);
  CHECK(table.find("client  examples") != std::string::npos);
  CHECK(table.find("... 7 more clients") != std::string::npos);
  CHECK(table.find("label skew") != std::string::npos);
}

TEST_CASE("golden: partitions are pinned bit for bit (portable across CPUs)") {
  // If one of these changes, agents built from older code would compute other
  // shards than the aggregator: a compatibility break, not a refactor.
  const auto labels = make_labels();
  CHECK(hash_hex(hash_of(partition_of("iid", labels, 10, 2026))) == "bc22db8871b7545c");
  CHECK(hash_hex(hash_of(partition_of("dirichlet:alpha=0.5", labels, 10, 2026))) ==
        "d4cb7ba2c773878f");
  CHECK(hash_hex(hash_of(partition_of("shards:k=2", labels, 10, 2026))) == "e8e121762e23c7ae");
  CHECK(hash_hex(hash_of(partition_of("quantity:alpha=0.7", labels, 10, 2026))) ==
        "2ddfec5d802ea766");
}

TEST_CASE("portable log and exp agree with libm to a few ulps") {
  for (double x :
       {1e-300, 1e-10, 0.001, 0.3, 0.70710678, 0.9999999, 1.0, 1.5, 2.0, 10.0, 1e10, 1e300}) {
    CAPTURE(x);
    CHECK(portable_log(x) == doctest::Approx(std::log(x)).epsilon(1e-15));
  }
  CHECK(portable_log(1.0) == 0.0);
  for (double x : {-700.0, -20.0, -1.0, -1e-9, 0.0, 0.5, 1.0, 3.7, 100.0, 700.0}) {
    CAPTURE(x);
    CHECK(portable_exp(x) == doctest::Approx(std::exp(x)).epsilon(2e-15));
  }
}

TEST_CASE("gamma draws have the right mean and variance") {
  for (double shape : {0.1, 0.5, 1.0, 3.0}) {
    CAPTURE(shape);
    Rng rng(17);
    const int n = 40000;
    double sum = 0.0, sum_sq = 0.0;
    for (int i = 0; i < n; ++i) {
      const double g = portable_exp(sample_log_gamma(rng, shape));
      sum += g;
      sum_sq += g * g;
    }
    const double mean = sum / n;
    const double var = sum_sq / n - mean * mean;
    // Gamma(k, 1): mean k, variance k. Tolerances are ~5 standard errors.
    CHECK(std::fabs(mean - shape) < 5.0 * std::sqrt(shape / n));
    CHECK(var == doctest::Approx(shape).epsilon(0.1));
  }
  Rng rng(3);
  const auto p = sample_symmetric_dirichlet(rng, 0.001, 50);
  double total = 0.0;
  for (double v : p) total += v;
  CHECK(total == doctest::Approx(1.0));
}

}  // namespace
}  // namespace nf
