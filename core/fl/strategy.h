// Strategy: the pure, network-free part of a federated round, in the spirit
// of Flower's Strategy (configure_fit, aggregate_fit(results, failures),
// configure_evaluate, aggregate_evaluate, evaluate).
//
// The aggregator owns the global model and the clients; a Strategy decides
// what each round asks of clients and how their updates become the next
// global model. Client failures (timeouts, disconnects, rejected updates) are
// data passed in, never exceptions.
//
// Aggregating a round is streaming:
//   begin_fit(round, global)  ->  accept_fit(result) per arriving update
//   (and add_failure(...) per lost client)  ->  finish_fit()
// For FedAvg and the server optimizers built on it, memory is one double per
// parameter whatever the number of clients; the robust strategies (median,
// trimmed mean, Krum) must see all updates and keep one float copy of each.
// aggregate_fit() is the batch form of the same sequence.
//
// Strategies are created from a text spec by make_strategy()
// (core/fl/strategy_factory.h); docs/strategies.md defines each of them.
//
// Thread safety: none; the aggregator calls one Strategy from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/fl/update_check.h"
#include "core/util/status.h"

namespace nf {

// What clients are asked to do in one training round.
struct FitConfig {
  int64_t round = 0;
  int32_t clients_per_round = 10;  // clients the round wants updates from
  int32_t clients_to_sample = 10;  // clients_per_round plus over-selection
  int32_t min_fit_results = 1;     // fewer accepted updates fail the round
  int32_t local_epochs = 1;
  int32_t batch_size = 32;
  float learning_rate = 0.05f;  // the clients' own SGD step
  float proximal_mu = 0.0f;     // FedProx: weight of (mu/2)||w - w_global||^2; 0 = off
};

// What federated evaluation asks of clients after a round. Clients evaluate
// the round's new global model on their own data (EvaluateTask ->
// EvaluateResult); the server then calls aggregate_evaluate().
struct EvaluateConfig {
  int64_t round = 0;
  int32_t clients_per_round = 0;  // at least this many clients ...
  double fraction = 0.0;          // ... or ceil(fraction x available), whichever is more
  int32_t batch_size = 256;

  // How many of `available` clients to ask: max(clients_per_round,
  // ceil(fraction x available)), at most `available`. 0: no federated
  // evaluation this round.
  int32_t clients_to_sample(int64_t available) const;
};

// Round-independent settings every strategy takes (the spec string only
// carries the maths' own parameters).
struct StrategyOptions {
  int32_t clients_per_round = 10;
  double over_selection = 0.0;  // sample ceil(clients * (1 + over_selection)) clients
  int32_t min_fit_results = 1;
  int32_t local_epochs = 1;
  int32_t batch_size = 32;
  float learning_rate = 0.05f;
  // Federated evaluation (configure_evaluate): every `evaluate_every` rounds
  // (0: never), ask max(evaluate_clients_per_round, ceil(evaluate_fraction x
  // available)) clients; both 0 means no federated evaluation.
  int32_t evaluate_clients_per_round = 0;
  double evaluate_fraction = 0.0;
  int64_t evaluate_every = 1;
  int32_t evaluate_batch_size = 256;
  UpdateBounds bounds;  // checks applied to every update before it counts
};

// One client's training result. `values` is borrowed for the duration of the
// call that receives it.
struct FitResult {
  std::string client_id;
  int64_t num_examples = 0;  // the update's weight; must be > 0
  std::span<const float> values;
  bool is_delta = false;  // true: values = trained - global; false: trained values
};

struct ClientFailure {
  std::string client_id;
  std::string reason;  // e.g. "timeout after 30 s", "rejected: value[3] is nan"
};

struct ClientEvaluateResult {
  std::string client_id;
  int64_t num_examples = 0;
  double loss = 0.0;
  double accuracy = 0.0;
};

struct EvaluateSummary {
  double loss = 0.0;      // example-weighted mean
  double accuracy = 0.0;  // example-weighted mean
  int64_t num_examples = 0;
  int32_t num_results = 0;
  int32_t num_failures = 0;
};

struct FitOutcome {
  std::vector<float> values;            // the new global model
  int32_t num_results = 0;              // accepted updates
  int64_t num_examples = 0;             // their total example count
  int32_t num_clipped = 0;              // updates shrunk by norm clipping
  std::vector<ClientFailure> failures;  // reported failures then rejected updates
};

// Centralized evaluation on the server's own data (optional hook).
using CentralizedEvaluator =
    std::function<Result<EvaluateSummary>(int64_t round, std::span<const float> global)>;

class Strategy {
 public:
  virtual ~Strategy() = default;

  // The canonical spec this strategy was made from, e.g. "fedadam:lr=0.01,...".
  virtual std::string spec() const = 0;

  virtual FitConfig configure_fit(int64_t round) const = 0;

  // Starts aggregating `round` from `global`, which stays borrowed (and must
  // not change) until finish_fit() returns. A round left unfinished is discarded.
  virtual void begin_fit(int64_t round, std::span<const float> global) = 0;
  // Checks one update (length, finite values, norm bounds) and folds it in.
  // A rejected update is recorded as a failure of its client and its reason
  // returned, so the caller can tell the client. Precondition: begin_fit().
  virtual Status accept_fit(const FitResult& result) = 0;
  // Records a client that did not deliver. Precondition: begin_fit().
  virtual void add_failure(ClientFailure failure) = 0;
  // Produces the next global model, or an error (too few updates, a robust
  // rule's minimum not met) in which case the caller keeps the old model and
  // the strategy's state (round, moments) is unchanged.
  virtual Result<FitOutcome> finish_fit() = 0;

  // Batch form: begin_fit, accept_fit of each result, add_failure of each
  // failure, finish_fit. Rejected results appear in the outcome's failures.
  Result<FitOutcome> aggregate_fit(int64_t round, std::span<const float> global,
                                   std::span<const FitResult> results,
                                   std::span<const ClientFailure> failures);

  virtual EvaluateConfig configure_evaluate(int64_t round) const = 0;
  // Example-weighted loss and accuracy; an error when no client reported.
  virtual Result<EvaluateSummary> aggregate_evaluate(int64_t round,
                                                     std::span<const ClientEvaluateResult> results,
                                                     std::span<const ClientFailure> failures) const;

  void set_centralized_evaluator(CentralizedEvaluator evaluator) {
    evaluator_ = std::move(evaluator);
  }
  bool has_centralized_evaluator() const { return static_cast<bool>(evaluator_); }
  // Runs the centralized evaluator; failed_precondition when none is set.
  Result<EvaluateSummary> evaluate(int64_t round, std::span<const float> global) const;

  // The last round finish_fit() completed (0 before the first).
  virtual int64_t last_round() const = 0;

  // Everything needed to resume after a restart (round, server optimizer
  // moments), as portable little-endian bytes, for the aggregator's checkpoints.
  virtual std::vector<uint8_t> save_state() const = 0;
  // Restores save_state() bytes; refuses (and changes nothing) if they are
  // corrupt or were saved by a strategy with another spec.
  virtual Status load_state(std::span<const uint8_t> bytes) = 0;

 private:
  CentralizedEvaluator evaluator_;
};

}  // namespace nf
