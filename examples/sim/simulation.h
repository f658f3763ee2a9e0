// run_simulation: one nf-sim run in this process. The real aggregator
// (nf::aggregator::Server) and VirtualFleet's real agents talk over the
// in-process transport; this file only wires them together and keeps score.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/util/status.h"
#include "examples/sim/sim_options.h"

namespace nf::sim {

struct RoundRecord {
  int64_t round = 0;
  std::string outcome;  // "completed", "retried", "skipped"
  int64_t sampled = 0;
  int64_t participants = 0;
  int64_t failures = 0;
  double accuracy = -1;  // centralized test accuracy; negative: not evaluated this round
  double eval_loss = -1;
  double train_loss = 0;
  uint64_t bytes_up = 0;    // updates received by the aggregator (frames, all clients)
  uint64_t bytes_down = 0;  // tasks sent by the aggregator
  double seconds = 0;
};

struct SimSummary {
  std::string label;
  int64_t rounds = 0;  // rounds completed
  int64_t clients = 0;
  int64_t per_round = 0;
  double final_accuracy = -1;
  double best_accuracy = -1;
  int64_t best_round = 0;
  double wall_seconds = 0;
  double setup_seconds = 0;  // data, partition, model, connections before round 1
  double bytes_up_per_client_round = 0;
  double bytes_down_per_client_round = 0;
  int64_t dense_update_bytes = 0;  // a dense 784-300-100-10 f32 update, for comparison
  int64_t model_parameters = 0;
  int64_t dense_parameters = 0;
  double weight_fraction = 0;  // model_parameters / dense_parameters
  std::string model_spec;
  uint64_t model_identity = 0;
  uint64_t final_model_hash = 0;  // of the final global values' bytes: determinism checks
  int64_t client_updates = 0;
  double updates_per_second = 0;
  int64_t dropouts = 0;
  int64_t stragglers = 0;
  int64_t threads = 0;
  int64_t peak_rss_bytes = 0;
  std::vector<RoundRecord> history;
};

// Runs the simulation `options` describes. `progress` is called after every
// round (on the simulation's network thread).
Result<SimSummary> run_simulation(const SimOptions& options,
                                  const std::function<void(const RoundRecord&)>& progress);

std::string format_progress_line(const RoundRecord& r, int64_t rounds_total);
std::string format_summary_text(const SimSummary& s);
std::string format_summary_json(const SimSummary& s);

}  // namespace nf::sim
