#include "examples/sim/mpi_simulation.h"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <thread>
#include <vector>

#include "aggregator/metrics.h"
#include "core/data/idx_reader.h"
#include "core/data/partition.h"
#include "core/engine/model.h"
#include "core/engine/trainer.h"
#include "core/fl/client_sampling.h"
#include "core/fl/robust.h"
#include "core/fl/server_optimizer.h"
#include "core/fl/strategy_factory.h"
#include "core/fl/update_check.h"
#include "core/fl/update_encoding.h"
#include "core/fl/weighted_sum.h"
#include "core/util/rng.h"
#include "device_agent/engine_runner.h"
#include "device_agent/footprint.h"
#include "examples/sim/simulation.h"
#include "examples/sim/virtual_clients.h"

namespace nf::sim {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// True on every rank when `ok` is true on every rank. Errors are reported by
// the rank that has them; the others stop with a short message.
bool all_ok(bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

// One sampled client's update, trained, decoded and checked on this rank.
struct Trained {
  Status status;              // training, decoding or a check failed
  std::vector<float> values;  // the decoded update
  double examples = 0;        // its weight
  double scale = 1;           // clipping factor
  double loss = 0;
  uint64_t bytes_up = 0;
};

// The running fold of a round, passed from rank to rank: the weighted sum of
// the clipped deltas (core/fl's WeightedSum, resumed from the received one so
// the chain is exactly the aggregator's one sequential fold), and what the
// aggregator's round record counts. Packed as doubles for MPI (counts stay
// exact below 2^53).
struct Fold {
  WeightedSum sum;
  double loss_sum = 0;
  int64_t examples = 0;
  uint64_t bytes_up = 0;

  static constexpr size_t kTail = 5;

  explicit Fold(size_t n) : sum(n) {}

  int64_t accepted() const { return sum.count(); }

  std::vector<double> pack() const {
    std::vector<double> out(sum.sum().begin(), sum.sum().end());
    out.insert(out.end(), {sum.total_weight(), loss_sum, static_cast<double>(examples),
                           static_cast<double>(sum.count()), static_cast<double>(bytes_up)});
    return out;
  }
  void unpack(const std::vector<double>& in) {
    const size_t n = sum.size();
    sum.resume(std::span<const double>(in.data(), n), in[n], static_cast<int64_t>(in[n + 3]));
    loss_sum = in[n + 1];
    examples = static_cast<int64_t>(in[n + 2]);
    bytes_up = static_cast<uint64_t>(in[n + 4]);
  }
};

}  // namespace

Block rank_block(int64_t sampled, int rank, int ranks) {
  Block b;
  b.begin = sampled * rank / ranks;
  b.end = sampled * (rank + 1) / ranks;
  return b;
}

Result<SimSummary> run_mpi_simulation(const SimOptions& o,
                                      const std::function<void(const RoundRecord&)>& progress) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const auto start = Clock::now();
  const double start_unix = unix_now();
  SimSummary summary;
  summary.label = o.label;
  summary.mode = "mpi";
  summary.processes = ranks;
  summary.clients = o.clients;
  summary.per_round = o.per_round;
  summary.threads =
      o.threads > 0 ? o.threads : std::max<int64_t>(1, std::thread::hardware_concurrency());

  // ---- set-up, the same on every rank (all derived from the seed) ----
  struct Setup {
    Dataset train;
    std::shared_ptr<Dataset> test;
    std::vector<int64_t> test_indices;
    Partition partition;
    ModelSpec spec;
    std::unique_ptr<Model> model;  // rank 0 evaluates with it
    StrategyParams strategy;
    std::unique_ptr<Strategy> config;  // the real strategy, for configure_fit only
    Encoding encoding;
  };
  aggregator::MetricsLog metrics;  // rank 0: the aggregator's metrics lines, one per round
  auto make_setup = [&]() -> Result<Setup> {
    NF_RETURN_IF_ERROR(o.validate());
    if (o.dropout > 0 || o.stragglers > 0) {
      return invalid_argument("--dropout and --stragglers are injected in-process only");
    }
    if (o.processes > 0) return invalid_argument("--processes is a mode of nf-sim, not nf-sim-mpi");
    Setup s;
    NF_ASSIGN_OR_RETURN(s.strategy, parse_strategy_spec(o.strategy));
    if (s.strategy.combine != CombineRule::kMean) {
      return invalid_argument("--strategy " + o.strategy +
                              ": MPI mode combines weighted sums, and this rule needs every "
                              "update at once (use nf-sim in one process)");
    }
    StrategyOptions so;
    so.clients_per_round = static_cast<int32_t>(o.per_round);
    so.min_fit_results = 1;
    so.local_epochs = static_cast<int32_t>(o.epochs);
    so.batch_size = static_cast<int32_t>(o.batch);
    so.learning_rate = static_cast<float>(o.lr);
    s.config = make_strategy(s.strategy, so);
    NF_ASSIGN_OR_RETURN(s.encoding, parse_encoding(o.encoding));
    NF_ASSIGN_OR_RETURN(s.train, load_fashion_mnist(FashionMnistSplit::kTrain, o.data_dir));
    NF_ASSIGN_OR_RETURN(PartitionSpec pspec, parse_partition_spec(o.partition));
    NF_ASSIGN_OR_RETURN(s.partition,
                        make_partition(pspec, s.train, static_cast<int32_t>(o.clients), o.seed));
    NF_ASSIGN_OR_RETURN(s.spec, sim_model_spec(o));
    NF_ASSIGN_OR_RETURN(s.model, Model::create(s.spec));
    if (rank == 0) {
      if (!o.metrics.empty()) NF_RETURN_IF_ERROR(metrics.open(o.metrics).with_context("--metrics"));
      NF_ASSIGN_OR_RETURN(Dataset test, load_fashion_mnist(FashionMnistSplit::kTest, o.data_dir));
      s.test = std::make_shared<Dataset>(std::move(test));
      s.test_indices.resize(static_cast<size_t>(
          o.max_test > 0 ? std::min<int64_t>(o.max_test, s.test->size) : s.test->size));
      std::iota(s.test_indices.begin(), s.test_indices.end(), int64_t{0});
    }
    return s;
  };
  auto made = make_setup();
  if (!all_ok(made.is_ok())) {
    if (!made.is_ok()) return made.status();
    return unavailable("another MPI rank failed to set up (its error is on its stderr)");
  }
  Setup& setup = *made;
  describe_model(*setup.model, setup.spec, summary);
  const std::string spec_text = format_model_spec(setup.spec);
  const size_t n = static_cast<size_t>(setup.model->parameter_count());
  std::vector<float> global(setup.model->parameters().begin(), setup.model->parameters().end());
  ServerOptimizer server_optimizer(setup.strategy.optimizer);

  // Every client as the in-process fleet makes it (same shard, same seed), so
  // a client trains the same wherever it runs.
  std::vector<std::string> ids;
  for (int64_t i = 0; i < o.clients; ++i) ids.push_back(client_name(i, o.clients));
  auto client_data = [&](int64_t i) {
    return ClientData{&setup.train, setup.partition[static_cast<size_t>(i)],
                      mix64(o.seed * 0x9E3779B97F4A7C15ULL + uint64_t(i)), 0};
  };
  ModelPool pool(1);
  const Status loaded = pool.load(spec_text).status();
  if (!all_ok(loaded.is_ok())) {
    return loaded.is_ok() ? unavailable("another MPI rank failed to load the model") : loaded;
  }
  const int workers = static_cast<int>(summary.threads);

  for (int64_t round = 1; round <= o.rounds; ++round) {
    const auto round_start = Clock::now();
    const FitConfig fit = setup.config->configure_fit(round);
    // The aggregator's sampling, attempt 0 (nf::aggregator::Server::run_attempt).
    std::vector<std::string> sampled =
        sample_clients(ids, fit.clients_to_sample, o.seed + mix64(0), round);
    std::sort(sampled.begin(), sampled.end());  // ordered aggregation: client-id order
    const auto wanted =
        static_cast<size_t>(std::min<int64_t>(fit.clients_per_round, std::ssize(sampled)));

    TrainTask task;
    task.round = static_cast<uint64_t>(round);
    task.task_id = static_cast<uint64_t>(round);
    NF_ASSIGN_OR_RETURN(task.global_values,
                        encode_values(global, {}, Encoding{ValueType::kF32, false}));
    task.hyper.epochs = static_cast<uint32_t>(fit.local_epochs);
    task.hyper.batch_size = static_cast<uint32_t>(fit.batch_size);
    task.hyper.learning_rate = fit.learning_rate;
    task.hyper.prox_mu = fit.proximal_mu;
    task.hyper.optimizer = o.optimizer;
    task.deadline_ms = static_cast<uint32_t>(o.deadline_ms);

    // This rank's block of the sampled clients, trained on `workers` threads,
    // each update decoded and checked as the aggregator's fold and
    // StandardStrategy::check do, all before the ordered reduction, which
    // then cannot fail half-way.
    const Block block = rank_block(std::ssize(sampled), rank, ranks);
    const double global_norm = l2_norm(global);
    std::vector<Trained> trained(static_cast<size_t>(block.end - block.begin));
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t j = next++; j < trained.size(); j = next++) {
        Trained& t = trained[j];
        const std::string& id = sampled[static_cast<size_t>(block.begin) + j];
        const int64_t index = std::stoll(id.substr(id.find('-') + 1));
        EngineTaskRunner runner(pool, client_data(index));
        auto u = runner.train(task, setup.encoding);
        if (!u.is_ok()) {
          t.status = u.status().with_context(id);
          continue;
        }
        if (u->values.count != n) {
          t.status = invalid_argument(id + ": length " + std::to_string(u->values.count) +
                                      " differs from the model's " + std::to_string(n));
          continue;
        }
        t.values.resize(n);
        t.status = decode_values(u->values, global, t.values);
        if (!t.status.is_ok()) continue;
        auto norm = check_update(global, global_norm, t.values, false, StrategyOptions{}.bounds);
        if (!norm.is_ok()) {
          t.status = norm.status().with_context("update of " + id + " rejected");
          continue;
        }
        t.scale = clip_factor(*norm, setup.strategy.clip_norm);
        t.examples = static_cast<double>(u->example_count);
        t.loss = static_cast<double>(u->metrics.loss);
        t.bytes_up = u->values.bytes.size();
      }
    };
    std::vector<std::thread> threads;
    for (int t = 1; t < std::min<int>(workers, std::ssize(trained)); ++t)
      threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    Status trained_ok;
    for (const Trained& t : trained) {
      if (trained_ok.is_ok()) trained_ok = t.status;
    }
    if (!all_ok(trained_ok.is_ok())) {
      if (!trained_ok.is_ok()) {
        return trained_ok.with_context("round " + std::to_string(round) +
                                       " (MPI mode runs without client failures)");
      }
      return unavailable("round " + std::to_string(round) +
                         ": another MPI rank failed (its error is on its stderr)");
    }

    // The reduction in a fixed order: receive the fold of ranks 0..rank-1,
    // continue it with this rank's clients in id order, pass it on.
    Fold fold(n);
    if (rank > 0) {
      std::vector<double> in(n + Fold::kTail);
      MPI_Recv(in.data(), static_cast<int>(in.size()), MPI_DOUBLE, rank - 1, 0, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      fold.unpack(in);
    }
    for (const Trained& t : trained) {
      if (static_cast<size_t>(fold.accepted()) >= wanted) break;
      fold.sum.add_difference(t.values, global, t.examples, t.scale);
      fold.examples += static_cast<int64_t>(t.examples);
      fold.loss_sum += t.loss * t.examples;
      fold.bytes_up += t.bytes_up;
    }
    if (ranks > 1) {
      const std::vector<double> out = fold.pack();
      const int to = rank + 1 < ranks ? rank + 1 : -1;
      if (to > 0) {
        MPI_Send(out.data(), static_cast<int>(out.size()), MPI_DOUBLE, to, 0, MPI_COMM_WORLD);
      }
      if (rank == ranks - 1) {
        MPI_Send(out.data(), static_cast<int>(out.size()), MPI_DOUBLE, 0, 1, MPI_COMM_WORLD);
      }
      if (rank == 0) {
        std::vector<double> in(n + Fold::kTail);
        MPI_Recv(in.data(), static_cast<int>(in.size()), MPI_DOUBLE, ranks - 1, 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        fold.unpack(in);
      }
    }

    // Rank 0: the strategy's server update (StandardStrategy::finish_fit's
    // steps), evaluation, the round's record; then every rank gets the model.
    Status stepped;
    aggregator::RoundMetrics m;
    if (rank == 0) {
      m.round = round;
      m.outcome = "completed";
      m.sampled = std::ssize(sampled);
      m.participants = fold.accepted();
      m.examples = fold.examples;
      m.train_loss = fold.examples > 0 ? fold.loss_sum / static_cast<double>(fold.examples) : 0.0;
      m.bytes_in = fold.bytes_up;
      m.bytes_out = task.global_values.bytes.size() * sampled.size();
      m.round_seconds = seconds_since(round_start);
      const auto t_agg = Clock::now();
      std::vector<double> delta(n);
      for (size_t i = 0; i < n; ++i) delta[i] = fold.sum.sum()[i] / fold.sum.total_weight();
      std::vector<float> next_global(n);
      stepped = fold.accepted() >= 1 ? server_optimizer.step(global, delta, next_global)
                                     : failed_precondition("no update accepted");
      if (stepped.is_ok()) global = std::move(next_global);
      m.aggregate_seconds = seconds_since(t_agg);
    }
    if (!all_ok(stepped.is_ok())) {
      if (!stepped.is_ok()) return stepped.with_context("round " + std::to_string(round));
      return unavailable("another MPI rank (0) failed to aggregate round " + std::to_string(round));
    }
    MPI_Bcast(global.data(), static_cast<int>(n), MPI_FLOAT, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      m.unix_time = unix_now();
      if (o.eval_every > 0 && round % o.eval_every == 0) {
        const auto t_eval = Clock::now();
        std::copy(global.begin(), global.end(), setup.model->parameters().begin());
        const EvalStats e = evaluate(*setup.model, *setup.test, setup.test_indices);
        m.eval_accuracy = e.accuracy;
        m.eval_loss = e.loss;
        m.eval_seconds = seconds_since(t_eval);
      }
      summary.history.push_back(round_record_from(m));
      if (!o.metrics.empty()) {
        // Like the aggregator: a metrics line that cannot be written is said, not fatal.
        if (Status st = metrics.append(aggregator::to_json_line(m)); !st.is_ok()) {
          std::fprintf(stderr, "nf-sim-mpi: %s\n", st.to_string().c_str());
        }
      }
      if (progress) progress(summary.history.back());
    }
  }

  summary.wall_seconds = seconds_since(start);
  summarize_rounds(summary, start_unix);
  summary.final_model_hash = values_hash(global);
  int64_t rss = peak_rss_bytes(), max_rss = 0;
  MPI_Reduce(&rss, &max_rss, 1, MPI_INT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
  summary.peak_rss_bytes = max_rss;
  return summary;
}

}  // namespace nf::sim
