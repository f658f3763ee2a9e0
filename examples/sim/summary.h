// What an nf-sim run reports, whichever way it ran (in one process, as real
// processes over TLS, or over MPI ranks): one record per round, a summary
// computed from them, and the progress line, text and JSON forms.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/util/status.h"
#include "examples/sim/sim_options.h"

namespace nf::aggregator {
struct RoundMetrics;
}

namespace nf::sim {

struct RoundRecord {
  int64_t round = 0;
  std::string outcome;  // "completed", "retried", "skipped", "abandoned"
  int64_t sampled = 0;
  int64_t participants = 0;
  int64_t failures = 0;
  double accuracy = -1;  // centralized test accuracy; negative: not evaluated this round
  double eval_loss = -1;
  double train_loss = 0;
  uint64_t bytes_up = 0;    // updates received by the aggregator (frames, all clients)
  uint64_t bytes_down = 0;  // tasks sent by the aggregator
  double seconds = 0;       // sampling to the last update (the aggregator's round_seconds)
  double aggregate_seconds = 0;
  double eval_seconds = 0;
  double unix_time = 0;  // when aggregation ended (the aggregator's "time"), seconds since 1970
};

// The record of one RoundMetrics (the in-process aggregator's callback).
RoundRecord round_record_from(const aggregator::RoundMetrics& m);
// The record of one line of the aggregator's metrics file (JSON lines).
// Errors name what is missing from the line.
Result<RoundRecord> parse_metrics_line(const std::string& line);

struct SimSummary {
  std::string label;
  std::string mode = "in-process";  // "in-process", "processes", "mpi"
  int64_t processes = 0;            // agent processes, or MPI ranks; 0 in-process
  int64_t rounds = 0;               // rounds completed
  int64_t clients = 0;
  int64_t per_round = 0;
  double final_accuracy = -1;
  double best_accuracy = -1;
  int64_t best_round = 0;
  double wall_seconds = 0;
  double setup_seconds = 0;   // data, partition, model, connections before round 1
  double rounds_seconds = 0;  // from the first round's start to the last round's end
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
  double updates_per_second = 0;  // client_updates / rounds_seconds
  int64_t dropouts = 0;
  int64_t stragglers = 0;
  int64_t threads = 0;
  int64_t peak_rss_bytes = 0;        // this process; process mode: the aggregator's
  int64_t agent_peak_rss_bytes = 0;  // process mode: the largest agent's
  std::vector<RoundRecord> history;
};

// Fills the summary's round figures from its history: rounds completed,
// final and best accuracy, bytes per client per round, client updates, and
// the timing. The rounds' time runs from the first round's start to the last
// round's end (evaluation included), so neither a long set-up (10,000
// connections) nor a long teardown dilutes updates_per_second; setup_seconds
// runs from `start_unix_time` to the first round's start.
void summarize_rounds(SimSummary& s, double start_unix_time);

// Seconds since 1970 (the clock of the aggregator's "time").
double unix_now();

// The end of every run: the --svg figure (if asked), then the summary on
// stdout, as JSON with --json, else as text.
Status write_run_outputs(const SimOptions& options, const SimSummary& s);
// The first progress line: what is about to run.
std::string format_run_banner(const SimOptions& options);

std::string format_progress_line(const RoundRecord& r, int64_t rounds_total);
std::string format_summary_text(const SimSummary& s);
std::string format_summary_json(const SimSummary& s);

}  // namespace nf::sim
