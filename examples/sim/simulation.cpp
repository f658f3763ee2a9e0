#include "examples/sim/simulation.h"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <thread>

#include "aggregator/model_setup.h"
#include "aggregator/server.h"
#include "core/data/idx_reader.h"
#include "core/data/partition.h"
#include "core/engine/model.h"
#include "core/engine/trainer.h"
#include "core/fl/strategy_factory.h"
#include "core/util/hash.h"
#include "device_agent/footprint.h"
#include "examples/sim/virtual_clients.h"
#include "transports/inproc.h"

namespace nf::sim {
namespace {

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

}  // namespace

Result<ModelSpec> sim_model_spec(const SimOptions& o) {
  if (!o.model.empty()) {
    auto spec = parse_model_spec(o.model);
    if (!spec.is_ok()) return spec.status().with_context("--model");
    return spec;
  }
  auto kind = parse_fabric_kind(o.fabric);
  if (!kind.is_ok()) return kind.status().with_context("--fabric");
  auto spec = standard_mlp_spec_for_fraction(*kind, o.budget, o.seed);
  if (!spec.is_ok()) return spec.status().with_context("--fabric/--budget");
  return spec;
}

uint64_t values_hash(std::span<const float> values) {
  return Hasher()
      .bytes({reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(float)})
      .digest();
}

void describe_model(const Model& model, const ModelSpec& spec, SimSummary& summary) {
  summary.model_spec = format_model_spec(spec);
  summary.model_identity = model.identity();
  summary.model_parameters = model.parameter_count();
  summary.dense_parameters = model.dense_equivalent_count();
  summary.weight_fraction =
      static_cast<double>(summary.model_parameters) / static_cast<double>(summary.dense_parameters);
  summary.dense_update_bytes = summary.dense_parameters * 4;
}

Result<SimSummary> run_simulation(const SimOptions& o,
                                  const std::function<void(const RoundRecord&)>& progress) {
  NF_RETURN_IF_ERROR(o.validate());
  const auto start = SteadyClock::now();
  const double start_unix = unix_now();
  SimSummary summary;
  summary.label = o.label;
  summary.clients = o.clients;
  summary.per_round = o.per_round;
  summary.threads =
      o.threads > 0 ? o.threads : std::max<int64_t>(1, std::thread::hardware_concurrency());

  // Data: the whole training set once, shared read-only by every client.
  NF_ASSIGN_OR_RETURN(Dataset train, load_fashion_mnist(FashionMnistSplit::kTrain, o.data_dir));
  NF_ASSIGN_OR_RETURN(auto test_loaded, load_fashion_mnist(FashionMnistSplit::kTest, o.data_dir));
  auto test = std::make_shared<Dataset>(std::move(test_loaded));
  const int64_t test_examples =
      o.max_test > 0 ? std::min<int64_t>(o.max_test, test->size) : test->size;
  NF_ASSIGN_OR_RETURN(PartitionSpec pspec, parse_partition_spec(o.partition));
  NF_ASSIGN_OR_RETURN(Partition partition,
                      make_partition(pspec, train, static_cast<int32_t>(o.clients), o.seed));

  // The model and the strategy, as nf-aggregator builds them.
  NF_ASSIGN_OR_RETURN(ModelSpec spec, sim_model_spec(o));
  NF_ASSIGN_OR_RETURN(std::unique_ptr<Model> built, Model::create(spec));
  std::shared_ptr<Model> eval_model = std::move(built);
  aggregator::ModelDescription description;
  description.spec_text = format_model_spec(spec);
  description.identity = eval_model->identity();
  description.initial_values.assign(eval_model->parameters().begin(),
                                    eval_model->parameters().end());
  describe_model(*eval_model, spec, summary);

  NF_ASSIGN_OR_RETURN(Encoding encoding, parse_encoding(o.encoding));
  StrategyOptions so;
  so.clients_per_round = static_cast<int32_t>(o.per_round);
  so.min_fit_results = 1;
  so.local_epochs = static_cast<int32_t>(o.epochs);
  so.batch_size = static_cast<int32_t>(o.batch);
  so.learning_rate = static_cast<float>(o.lr);
  auto strategy_made = make_strategy(o.strategy, so);
  if (!strategy_made.is_ok()) return strategy_made.status().with_context("--strategy");
  std::unique_ptr<Strategy> strategy = std::move(strategy_made).value();
  strategy->set_centralized_evaluator(
      aggregator::centralized_evaluator(eval_model, test, test_examples));

  aggregator::ServerOptions server_options;
  server_options.rounds = o.rounds;
  server_options.clients_per_round = static_cast<int32_t>(o.per_round);
  server_options.min_clients = static_cast<int32_t>(o.clients);  // start once all are connected
  server_options.min_completion = 0.5;
  server_options.round_deadline = std::chrono::milliseconds(o.deadline_ms);
  server_options.wait_for_clients = std::chrono::minutes(10);
  server_options.hello_timeout = std::chrono::minutes(2);
  server_options.heartbeat = std::chrono::hours(1);  // in-process links do not go stale
  server_options.seed = o.seed;
  server_options.hyper.epochs = static_cast<uint32_t>(o.epochs);
  server_options.hyper.batch_size = static_cast<uint32_t>(o.batch);
  server_options.hyper.learning_rate = static_cast<float>(o.lr);
  server_options.hyper.prox_mu = static_cast<float>(o.prox_mu);
  server_options.hyper.optimizer = o.optimizer;
  server_options.encodings = {encoding};
  server_options.max_connections = static_cast<size_t>(o.clients) + 16;
  server_options.ordered_aggregation = true;  // same seed, same model, whatever the threads
  server_options.eval_every = o.eval_every;
  server_options.metrics_file = o.metrics;
  server_options.strategy_spec = o.strategy;

  asio::io_context io;
  asio::thread_pool server_work(1);
  auto server_made = aggregator::Server::create(
      io.get_executor(), server_options, std::move(description), std::move(strategy),
      [&server_work](std::function<void()> job) { asio::post(server_work, std::move(job)); });
  if (!server_made.is_ok()) return server_made.status().with_context("aggregator");
  std::unique_ptr<aggregator::Server> server = std::move(server_made).value();

  InprocNetwork network(io.get_executor());
  NF_ASSIGN_OR_RETURN(std::unique_ptr<Listener> listener, network.listen("aggregator"));
  server->serve(std::move(listener));

  FleetOptions fleet_options;
  fleet_options.seed = o.seed;
  fleet_options.dropout = o.dropout;
  fleet_options.stragglers = o.stragglers;
  fleet_options.workers = static_cast<int>(summary.threads);
  fleet_options.encoding = encoding;
  VirtualFleet fleet(io, network, train, std::move(partition), fleet_options);

  server->set_round_callback([&](const aggregator::RoundMetrics& m) {
    summary.history.push_back(round_record_from(m));
    if (progress) progress(summary.history.back());
  });

  Status run_status = internal_error("the round loop did not finish");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        run_status = co_await server->run();
        fleet.stop();
        server->stop();
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  fleet.start();
  io.run();
  fleet.wait_workers();
  server_work.join();
  if (!run_status.is_ok()) return run_status.with_context("simulation");

  summary.wall_seconds = seconds_since(start);
  summarize_rounds(summary, start_unix);
  summary.final_model_hash = values_hash(server->global_values());
  summary.dropouts = fleet.dropouts();
  summary.stragglers = fleet.stragglers();
  summary.peak_rss_bytes = peak_rss_bytes();
  return summary;
}

}  // namespace nf::sim
