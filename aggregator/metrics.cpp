#include "aggregator/metrics.h"
#include "core/util/text_escape.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

namespace nf::aggregator {

namespace {

// JSON has no NaN or infinity: a non-finite number is written as null.
std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void failures_json(std::ostringstream& o, const std::vector<ClientFailure>& failures) {
  o << "[";
  for (size_t i = 0; i < failures.size(); ++i) {
    o << (i ? "," : "") << "{\"device\":" << json_quote(failures[i].client_id)
      << ",\"reason\":" << json_quote(failures[i].reason) << "}";
  }
  o << "]";
}

// A negative mean stands for "none": null.
std::string mean(double v) {
  return v < 0 ? "null" : num(v);
}

}  // namespace

std::string to_json_line(const RoundMetrics& m) {
  std::ostringstream o;
  o << "{\"round\":" << m.round << ",\"attempt\":" << m.attempt
    << ",\"outcome\":" << json_quote(m.outcome) << ",\"sampled\":" << m.sampled
    << ",\"participants\":" << m.participants << ",\"participant_ids\":[";
  for (size_t i = 0; i < m.participant_ids.size(); ++i) {
    o << (i ? "," : "") << json_quote(m.participant_ids[i]);
  }
  o << "],\"failures\":";
  failures_json(o, m.failures);
  o << ",\"examples\":" << m.examples << ",\"train_loss\":" << num(m.train_loss)
    << ",\"eval_loss\":" << mean(m.eval_loss) << ",\"eval_accuracy\":" << mean(m.eval_accuracy)
    << ",\"federated_eval\":";
  const FederatedEvalMetrics& f = m.federated;
  if (f.sampled == 0) {
    o << "null";
  } else {
    o << "{\"sampled\":" << f.sampled << ",\"results\":" << f.results
      << ",\"examples\":" << f.examples << ",\"loss\":" << mean(f.loss)
      << ",\"accuracy\":" << mean(f.accuracy) << ",\"failures\":";
    failures_json(o, f.failures);
    o << ",\"eval_bytes_in\":" << f.bytes_in << ",\"eval_bytes_out\":" << f.bytes_out
      << ",\"seconds\":" << num(f.seconds) << "}";
  }
  o << ",\"bytes_in\":" << m.bytes_in << ",\"bytes_out\":" << m.bytes_out
    << ",\"round_seconds\":" << num(m.round_seconds)
    << ",\"aggregate_seconds\":" << num(m.aggregate_seconds)
    << ",\"eval_seconds\":" << num(m.eval_seconds) << ",\"time\":" << std::fixed
    << std::setprecision(3) << m.unix_time << "}";
  return o.str();
}

MetricsLog::~MetricsLog() {
  if (file_ != nullptr) std::fclose(file_);
}

Status MetricsLog::open(const std::string& path) {
  file_ = std::fopen(path.c_str(), "a");
  if (file_ == nullptr) {
    return io_error("cannot open metrics file '" + path + "': " + std::strerror(errno));
  }
  path_ = path;
  return Status::ok();
}

Status MetricsLog::append(const std::string& line) {
  if (file_ == nullptr) return Status::ok();
  if (std::fputs(line.c_str(), file_) < 0 || std::fputc('\n', file_) < 0 ||
      std::fflush(file_) != 0) {
    return io_error("cannot write metrics file '" + path_ + "': " + std::strerror(errno));
  }
  return Status::ok();
}

std::string prometheus_text(const ServerCounters& c) {
  std::ostringstream o;
  auto metric = [&](const char* name, const char* type, const char* help, const std::string& v) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << " " << v << "\n";
  };
  metric("nf_aggregator_round", "gauge", "The round running or last run.",
         std::to_string(c.current_round));
  metric("nf_aggregator_rounds_completed_total", "counter", "Rounds aggregated.",
         std::to_string(c.rounds_completed));
  metric("nf_aggregator_rounds_skipped_total", "counter", "Rounds skipped for lack of updates.",
         std::to_string(c.rounds_skipped));
  metric("nf_aggregator_updates_accepted_total", "counter", "Client updates aggregated.",
         std::to_string(c.updates_accepted));
  metric("nf_aggregator_updates_rejected_total", "counter", "Client updates failing validation.",
         std::to_string(c.updates_rejected));
  metric("nf_aggregator_client_failures_total", "counter",
         "Sampled clients that did not deliver a valid update.", std::to_string(c.client_failures));
  metric("nf_aggregator_bytes_received_total", "counter", "Frame bytes received from devices.",
         std::to_string(c.bytes_in));
  metric("nf_aggregator_bytes_sent_total", "counter", "Frame bytes sent to devices.",
         std::to_string(c.bytes_out));
  metric("nf_aggregator_connections_total", "counter", "Device sessions accepted.",
         std::to_string(c.connections_total));
  metric("nf_aggregator_connected_devices", "gauge", "Devices connected now.",
         std::to_string(c.connected));
  metric("nf_aggregator_eval_accuracy", "gauge", "Accuracy of the last centralized evaluation.",
         num(c.last_eval_accuracy));
  metric("nf_aggregator_eval_loss", "gauge", "Loss of the last centralized evaluation.",
         num(c.last_eval_loss));
  metric("nf_aggregator_federated_eval_accuracy", "gauge",
         "Example-weighted accuracy of the last federated evaluation (devices' own data).",
         num(c.last_federated_eval_accuracy));
  metric("nf_aggregator_federated_eval_loss", "gauge",
         "Example-weighted loss of the last federated evaluation.",
         num(c.last_federated_eval_loss));
  metric("nf_aggregator_federated_eval_results_total", "counter",
         "Valid evaluation results received from devices.",
         std::to_string(c.federated_eval_results));
  metric("nf_aggregator_federated_eval_failures_total", "counter",
         "Devices asked to evaluate that did not deliver a valid result.",
         std::to_string(c.federated_eval_failures));
  metric("nf_aggregator_round_seconds", "gauge", "Duration of the last round.",
         num(c.last_round_seconds));
  return o.str();
}

}  // namespace nf::aggregator
