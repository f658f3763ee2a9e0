#include "examples/sim/summary.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

#include "aggregator/metrics.h"
#include "core/util/file.h"
#include "core/util/hash.h"
#include "core/util/text_escape.h"
#include "examples/sim/plot.h"

namespace nf::sim {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

RoundRecord round_record_from(const aggregator::RoundMetrics& m) {
  RoundRecord r;
  r.round = m.round;
  r.outcome = m.outcome;
  r.sampled = m.sampled;
  r.participants = m.participants;
  r.failures = static_cast<int64_t>(m.failures.size());
  r.accuracy = m.eval_accuracy;
  r.eval_loss = m.eval_loss;
  r.train_loss = m.train_loss;
  r.bytes_up = m.bytes_in;
  r.bytes_down = m.bytes_out;
  r.seconds = m.round_seconds;
  r.aggregate_seconds = m.aggregate_seconds;
  r.eval_seconds = m.eval_seconds;
  r.unix_time = m.unix_time;
  return r;
}

Result<RoundRecord> parse_metrics_line(const std::string& line) {
  RoundRecord r;
  double v = 0;
  auto need = [&](const char* key, double& out) -> Status {
    if (!find_json_number(line, key, out)) {
      return invalid_argument(std::string("metrics line has no number \"") + key +
                              "\": " + line.substr(0, 120));
    }
    return Status::ok();
  };
  NF_RETURN_IF_ERROR(need("round", v));
  r.round = static_cast<int64_t>(v);
  for (const char* outcome : {"completed", "retried", "skipped", "abandoned"}) {
    if (line.find(std::string("\"outcome\":\"") + outcome + "\"") != std::string::npos) {
      r.outcome = outcome;
    }
  }
  if (r.outcome.empty()) {
    return invalid_argument("metrics line has no known \"outcome\": " + line.substr(0, 120));
  }
  NF_RETURN_IF_ERROR(need("sampled", v));
  r.sampled = static_cast<int64_t>(v);
  NF_RETURN_IF_ERROR(need("participants", v));
  r.participants = static_cast<int64_t>(v);
  NF_RETURN_IF_ERROR(need("bytes_in", v));
  r.bytes_up = static_cast<uint64_t>(v);
  NF_RETURN_IF_ERROR(need("bytes_out", v));
  r.bytes_down = static_cast<uint64_t>(v);
  NF_RETURN_IF_ERROR(need("round_seconds", r.seconds));
  NF_RETURN_IF_ERROR(need("time", r.unix_time));
  // Optional: null when the round was not evaluated.
  (void)find_json_number(line, "train_loss", r.train_loss);
  (void)find_json_number(line, "eval_accuracy", r.accuracy);
  (void)find_json_number(line, "eval_loss", r.eval_loss);
  (void)find_json_number(line, "aggregate_seconds", r.aggregate_seconds);
  (void)find_json_number(line, "eval_seconds", r.eval_seconds);
  // One failure record per lost or rejected client, in the round's own
  // list: a federated evaluation's failures come after it and are not the
  // round's.
  const size_t federated = line.find("\"federated_eval\":");
  for (size_t at = line.find("{\"device\":"); at != std::string::npos && at < federated;
       at = line.find("{\"device\":", at + 1)) {
    ++r.failures;
  }
  return r;
}

void summarize_rounds(SimSummary& s, double start_unix_time) {
  uint64_t up = 0, down = 0;
  int64_t participations = 0, sampled = 0;
  double first_start = std::numeric_limits<double>::infinity();
  double last_end = -std::numeric_limits<double>::infinity();
  s.rounds = 0;
  s.final_accuracy = s.best_accuracy = -1;
  s.best_round = 0;
  for (const RoundRecord& r : s.history) {
    if (r.outcome == "completed") ++s.rounds;
    up += r.bytes_up;
    down += r.bytes_down;
    participations += r.participants;
    sampled += r.sampled;
    if (r.accuracy >= 0) {
      s.final_accuracy = r.accuracy;
      if (r.accuracy > s.best_accuracy) {
        s.best_accuracy = r.accuracy;
        s.best_round = r.round;
      }
    }
    // "time" is stamped when aggregation ended; the round began round_seconds
    // before aggregation and ends with its evaluation.
    first_start = std::min(first_start, r.unix_time - r.aggregate_seconds - r.seconds);
    last_end = std::max(last_end, r.unix_time + r.eval_seconds);
  }
  s.client_updates = participations;
  s.bytes_up_per_client_round =
      participations > 0 ? static_cast<double>(up) / static_cast<double>(participations) : 0;
  s.bytes_down_per_client_round =
      sampled > 0 ? static_cast<double>(down) / static_cast<double>(sampled) : 0;
  if (s.history.empty()) {
    s.setup_seconds = s.rounds_seconds = s.updates_per_second = 0;
    return;
  }
  s.setup_seconds = std::max(0.0, first_start - start_unix_time);
  s.rounds_seconds = std::max(0.0, last_end - first_start);
  s.updates_per_second =
      s.rounds_seconds > 0 ? static_cast<double>(participations) / s.rounds_seconds : 0;
}

Status write_run_outputs(const SimOptions& options, const SimSummary& s) {
  if (!options.svg.empty()) {
    Series series;
    series.name = options.label.empty() ? options.partition : options.label;
    for (const auto& r : s.history) {
      if (r.accuracy >= 0) series.points.emplace_back(static_cast<double>(r.round), r.accuracy);
    }
    NF_RETURN_IF_ERROR(
        write_file_atomic(options.svg, render_accuracy_svg({series}, "test accuracy per round")));
  }
  if (options.json) {
    std::printf("%s\n", format_summary_json(s).c_str());
  } else {
    std::printf("%s", format_summary_text(s).c_str());
  }
  std::fflush(stdout);
  return Status::ok();
}

std::string format_run_banner(const SimOptions& o) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "nf-sim: %lld clients (%s), %lld per round, %lld rounds, %s at %.0f%% budget, "
                "strategy %s, seed %llu",
                static_cast<long long>(o.clients), o.partition.c_str(),
                static_cast<long long>(o.per_round), static_cast<long long>(o.rounds),
                o.model.empty() ? o.fabric.c_str() : "custom model", 100 * o.budget,
                o.strategy.c_str(), static_cast<unsigned long long>(o.seed));
  return buf;
}

std::string format_progress_line(const RoundRecord& r, int64_t rounds_total) {
  char buf[256];
  char acc[32] = "   -  ";
  if (r.accuracy >= 0) std::snprintf(acc, sizeof acc, "%5.2f%%", 100 * r.accuracy);
  std::snprintf(
      buf, sizeof buf,
      "round %4lld/%lld  acc %s  train loss %.4f  %lld/%lld clients%s  up %.1f kB  "
      "down %.1f kB  %.2f s",
      static_cast<long long>(r.round), static_cast<long long>(rounds_total), acc, r.train_loss,
      static_cast<long long>(r.participants), static_cast<long long>(r.sampled),
      r.outcome == "completed" ? "" : ("  (" + r.outcome + ")").c_str(),
      static_cast<double>(r.bytes_up) / 1e3, static_cast<double>(r.bytes_down) / 1e3, r.seconds);
  return buf;
}

std::string format_summary_text(const SimSummary& s) {
  char mode[96] = "";
  if (s.mode == "processes") {
    std::snprintf(mode, sizeof mode, " (nf-aggregator + %lld nf-agent processes, mutual TLS)",
                  static_cast<long long>(s.processes));
  } else if (s.mode == "mpi") {
    std::snprintf(mode, sizeof mode, " (%lld MPI ranks)", static_cast<long long>(s.processes));
  }
  char rss[128];
  if (s.agent_peak_rss_bytes > 0) {
    std::snprintf(rss, sizeof rss, "peak RSS aggregator %.1f MiB, largest agent %.1f MiB",
                  static_cast<double>(s.peak_rss_bytes) / (1 << 20),
                  static_cast<double>(s.agent_peak_rss_bytes) / (1 << 20));
  } else {
    std::snprintf(rss, sizeof rss, "peak RSS %.1f MiB",
                  static_cast<double>(s.peak_rss_bytes) / (1 << 20));
  }
  char buf[1280];
  std::snprintf(
      buf, sizeof buf,
      "%s%s%d rounds%s, %lld clients (%lld per round), model %lld weights = %.1f%% of dense\n"
      "final accuracy %.2f%%, best %.2f%% (round %lld)\n"
      "wall %.1f s (set-up %.1f s, rounds %.1f s), %.1f client updates/s of rounds, %s\n"
      "per client per round: up %.0f bytes, down %.0f bytes (dense f32 update: %lld bytes, "
      "%.1fx more)\n"
      "final model hash %s\n",
      s.label.empty() ? "" : s.label.c_str(), s.label.empty() ? "" : ": ",
      static_cast<int>(s.rounds), mode, static_cast<long long>(s.clients),
      static_cast<long long>(s.per_round), static_cast<long long>(s.model_parameters),
      100 * s.weight_fraction, 100 * s.final_accuracy, 100 * s.best_accuracy,
      static_cast<long long>(s.best_round), s.wall_seconds, s.setup_seconds, s.rounds_seconds,
      s.updates_per_second, rss, s.bytes_up_per_client_round, s.bytes_down_per_client_round,
      static_cast<long long>(s.dense_update_bytes),
      s.bytes_up_per_client_round > 0
          ? static_cast<double>(s.dense_update_bytes) / s.bytes_up_per_client_round
          : 0.0,
      hash_hex(s.final_model_hash).c_str());
  return buf;
}

std::string format_summary_json(const SimSummary& s) {
  char buf[8192];
  std::snprintf(
      buf, sizeof buf,
      "{\"label\":%s,\"mode\":%s,\"processes\":%lld,\"rounds\":%lld,\"clients\":%lld,"
      "\"per_round\":%lld,"
      "\"final_accuracy\":%.6f,\"best_accuracy\":%.6f,\"best_round\":%lld,"
      "\"wall_seconds\":%.3f,\"setup_seconds\":%.3f,\"rounds_seconds\":%.3f,"
      "\"bytes_up_per_client_round\":%.1f,"
      "\"bytes_down_per_client_round\":%.1f,\"dense_update_bytes\":%lld,"
      "\"model_parameters\":%lld,\"dense_parameters\":%lld,\"weight_fraction\":%.6f,"
      "\"model_spec\":%s,\"model_identity\":\"%s\",\"final_model_hash\":\"%s\","
      "\"client_updates\":%lld,\"updates_per_second\":%.3f,\"dropouts\":%lld,"
      "\"stragglers\":%lld,\"threads\":%lld,\"peak_rss_bytes\":%lld,"
      "\"agent_peak_rss_bytes\":%lld}",
      json_quote(s.label).c_str(), json_quote(s.mode).c_str(), static_cast<long long>(s.processes),
      static_cast<long long>(s.rounds), static_cast<long long>(s.clients),
      static_cast<long long>(s.per_round), s.final_accuracy, s.best_accuracy,
      static_cast<long long>(s.best_round), s.wall_seconds, s.setup_seconds, s.rounds_seconds,
      s.bytes_up_per_client_round, s.bytes_down_per_client_round,
      static_cast<long long>(s.dense_update_bytes), static_cast<long long>(s.model_parameters),
      static_cast<long long>(s.dense_parameters), s.weight_fraction,
      json_quote(s.model_spec).c_str(), hash_hex(s.model_identity).c_str(),
      hash_hex(s.final_model_hash).c_str(), static_cast<long long>(s.client_updates),
      s.updates_per_second, static_cast<long long>(s.dropouts),
      static_cast<long long>(s.stragglers), static_cast<long long>(s.threads),
      static_cast<long long>(s.peak_rss_bytes), static_cast<long long>(s.agent_peak_rss_bytes));
  return buf;
}

}  // namespace nf::sim
