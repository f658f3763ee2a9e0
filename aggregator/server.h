// Server: the aggregator's round loop and device sessions, independent of the
// transport (in-process, TCP or mutual TLS) and of the engine.
//
// The caller (nf-aggregator's main, nf-sim, a test) builds the model and the
// strategy, then:
//
//   auto server = Server::create(io.get_executor(), options, model,
//                                std::move(strategy), work_runner).value();
//   server->set_round_callback([](const RoundMetrics& m) { ... });
//   server->serve(std::move(listener));          // and/or add_connection(...)
//   asio::co_spawn(io, server->run(), [](std::exception_ptr, Status s) { ... });
//   io.run();
//
// Threading. Everything except the work below runs as coroutines on the one
// network executor given to create() (one io_context thread, or a strand):
// one reader and one writer coroutine per connection, one accept loop per
// listener, one round loop. Decoding and aggregating updates, centralized
// evaluation and checkpoint writes run through the caller's WorkRunner, off the
// network thread, one job at a time (the round loop awaits each job), so the
// Strategy is only ever touched by one thread at a time. Every public member
// must be called on the network executor, except create(). Callbacks are
// called on the network executor.
//
// Rounds follow docs/aggregator.md: wait for min_clients, sample (seeded by
// seed and round, over-selection allowed), send one TrainTask to each sampled
// device, fold each valid Update into the strategy as it arrives (or, with
// ordered_aggregation, all at the end in device-id order, for bit-identical
// simulations), end at clients_per_round accepted updates, when nobody is left
// to answer, or at the deadline; aggregate when at least min_completion of
// them delivered, else retry the round (up to max_round_retries), then skip
// it. After a completed round: centralized evaluation (if the strategy has an
// evaluator), then federated evaluation when strategy->configure_evaluate asks
// for it (EvaluateTask to idle devices, their EvaluateResults aggregated with
// strategy->aggregate_evaluate until all answered or the round deadline). After
// every round: a metrics JSON line, the round callback, a checkpoint (atomic). create() resumes
// from the newest valid checkpoint.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "aggregator/config.h"
#include "aggregator/metrics.h"
#include "core/fl/messages.h"
#include "core/fl/strategy.h"
#include "core/util/status.h"
#include "transports/connection.h"

namespace nf::aggregator {

enum class IdentitySource {
  kConnection,  // Connection::peer_identity(): the certificate CN (TLS), the in-process name
  kHello,       // Hello::device_id: insecure TCP, where the connection only knows an address
};

struct ServerOptions {
  int64_t rounds = 10;
  int32_t clients_per_round = 10;
  int32_t min_clients = 2;
  double over_selection = 0.0;
  double min_completion = 0.5;
  int32_t max_round_retries = 2;
  std::chrono::milliseconds round_deadline{60'000};
  std::chrono::milliseconds wait_for_clients{120'000};
  std::chrono::milliseconds hello_timeout{10'000};
  std::chrono::milliseconds heartbeat{10'000};
  uint64_t seed = 42;
  HyperParameters hyper;  // sent in every TrainTask (prox_mu from the strategy)
  std::vector<Encoding> encodings = {{ValueType::kF32, false}};  // server preference
  IdentitySource identity = IdentitySource::kConnection;
  size_t max_connections = 4096;
  bool ordered_aggregation = false;  // buffer a round's updates, feed them in device-id order
  int64_t eval_every = 1;            // centralized evaluation (if the strategy has an evaluator)
  std::string checkpoint_dir;        // empty: no checkpoints, no resume
  int checkpoints_kept = 2;
  std::string metrics_file;   // JSON lines; empty: none
  std::string strategy_spec;  // informative, for the state page
};

// The settings of nf-aggregator's config that the server uses.
ServerOptions server_options_from(const AggregatorConfig& config);

// The model every device must hold: its canonical spec text, its identity hash
// and the initial global values (used unless a checkpoint is resumed).
struct ModelDescription {
  std::string spec_text;
  uint64_t identity = 0;
  std::vector<float> initial_values;
};

// Runs `job` on some thread other than the network thread (a thread pool, or a
// dedicated thread) and returns at once. Jobs never block on the network.
using WorkRunner = std::function<void(std::function<void()> job)>;

struct ServerSummary {
  int64_t rounds_completed = 0;  // the last round aggregated (also counting resumed ones)
  int64_t rounds_skipped = 0;
  int64_t resumed_from_round = -1;  // -1: fresh start
  double last_eval_accuracy = -1;
  double last_eval_loss = -1;
  double last_train_loss = 0;
  double last_federated_accuracy = -1;  // federated evaluation; -1: none yet
  double last_federated_loss = -1;
  bool stopped_early = false;  // stop() was called before the last round
};

class Server {
 public:
  // Checks options, resumes from options.checkpoint_dir when it holds a
  // checkpoint (refusing one of another model identity, or a directory whose
  // checkpoints are all corrupt), opens the metrics file.
  static Result<std::unique_ptr<Server>> create(asio::any_io_executor executor,
                                                ServerOptions options, ModelDescription model,
                                                std::unique_ptr<Strategy> strategy,
                                                WorkRunner work);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void set_round_callback(std::function<void(const RoundMetrics&)> callback);
  // Human-readable progress lines ("round 3: 8/10 updates, accuracy 81.2%").
  void set_log(std::function<void(const std::string&)> log);

  // Accepts connections from `listener` until stop(). The server owns it.
  void serve(std::unique_ptr<Listener> listener);
  // Starts a session on an already open connection (e.g. in-process).
  void add_connection(std::unique_ptr<Connection> connection);

  // The round loop: returns ok after the last round, or after stop() (with the
  // round in progress abandoned and the last checkpoint intact), or the error
  // that made it give up (a checkpoint that cannot be written).
  asio::awaitable<Status> run();

  // Graceful stop: abandons the round in progress, stops accepting, closes
  // every session. Idempotent.
  void stop();

  const std::vector<float>& global_values() const;
  int64_t completed_round() const;
  ServerSummary summary() const;
  ServerCounters counters() const;
  // The live page's data: {"round", "rounds_total", "state", "strategy",
  // "connected_count", "connected": [ids], "history": [...], ...}.
  std::string state_json() const;
  std::string prometheus_text() const;

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace nf::aggregator
