// Per-round metrics: the JSON line written after every round, the Prometheus
// text of /metrics, and the JSON state the live page draws.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "aggregator/checkpoint.h"
#include "core/fl/strategy.h"
#include "core/util/status.h"
#include "core/util/text_escape.h"

namespace nf::aggregator {

// Federated evaluation after a round: sampled devices evaluate the new global
// model on their own data (EvaluateTask -> EvaluateResult).
struct FederatedEvalMetrics {
  int64_t sampled = 0;   // devices asked; 0: no federated evaluation this round
  int64_t results = 0;   // valid results aggregated
  int64_t examples = 0;  // their total example count
  double loss = -1;      // example-weighted means; negative: no valid result
  double accuracy = -1;
  // "timeout after 60.0 s", "disconnected", "rejected: loss is nan", ...
  std::vector<ClientFailure> failures;
  // Bytes to and from the devices while it ran (the model sent to each
  // evaluator, their results); not in the round's own bytes_in/bytes_out.
  // In the JSON line "eval_bytes_in"/"eval_bytes_out": a reader that looks
  // for the first "bytes_in" key finds the round's.
  uint64_t bytes_in = 0, bytes_out = 0;
  double seconds = 0;
};

struct RoundMetrics {
  int64_t round = 0;
  int64_t attempt = 0;  // 0 for the first try of a round, 1.. for retries
  std::string outcome;  // "completed", "retried", "skipped", "abandoned"
  int64_t sampled = 0;
  int64_t participants = 0;  // accepted updates
  std::vector<std::string> participant_ids;
  // "timeout", "disconnected", "rejected: value[3] is nan", ...
  std::vector<ClientFailure> failures;
  int64_t examples = 0;
  double train_loss = 0;  // example-weighted mean of the clients' local losses
  double eval_loss = -1;  // centralized evaluation; negative: not evaluated
  double eval_accuracy = -1;
  FederatedEvalMetrics federated;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double round_seconds = 0;
  double aggregate_seconds = 0;
  double eval_seconds = 0;
  double unix_time = 0;
};

// One line of JSON, no trailing newline.
std::string to_json_line(const RoundMetrics& m);
// JSON string literals: nf::json_quote (core/util/text_escape.h).
using nf::json_quote;

// Appends lines to a file, flushing each so a crash loses at most the line being written.
class MetricsLog {
 public:
  MetricsLog() = default;
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  Status open(const std::string& path);
  Status append(const std::string& line);

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
};

// Counters for /metrics, accumulated over the server's life.
struct ServerCounters {
  int64_t current_round = 0;
  int64_t rounds_completed = 0;
  int64_t rounds_skipped = 0;
  int64_t updates_accepted = 0;
  int64_t updates_rejected = 0;
  int64_t client_failures = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  int64_t connections_total = 0;
  int64_t connected = 0;
  double last_eval_accuracy = -1;
  double last_eval_loss = -1;
  double last_round_seconds = 0;
  int64_t federated_eval_results = 0;
  int64_t federated_eval_failures = 0;
  double last_federated_eval_accuracy = -1;
  double last_federated_eval_loss = -1;
};

std::string prometheus_text(const ServerCounters& c);

}  // namespace nf::aggregator
