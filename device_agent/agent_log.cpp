#include "device_agent/agent_log.h"
#include "core/util/text_escape.h"

#include <cstdio>

namespace nf {
namespace {

const char* kind_name(AgentEvent::Kind k) {
  switch (k) {
    case AgentEvent::Kind::kConnectFailed:
      return "connect_failed";
    case AgentEvent::Kind::kConnected:
      return "connected";
    case AgentEvent::Kind::kNote:
      return "note";
    case AgentEvent::Kind::kUpdateSent:
      return "update_sent";
    case AgentEvent::Kind::kEvaluated:
      return "evaluated";
    case AgentEvent::Kind::kDisconnected:
      return "disconnected";
    case AgentEvent::Kind::kStopped:
      return "stopped";
  }
  return "?";
}

}  // namespace

std::string format_event_text(const AgentEvent& e) {
  char buf[512];
  switch (e.kind) {
    case AgentEvent::Kind::kConnectFailed:
      std::snprintf(buf, sizeof buf, "cannot connect (%s); retrying in %.1f s",
                    e.status.to_string().c_str(), static_cast<double>(e.delay.count()) / 1000);
      return buf;
    case AgentEvent::Kind::kConnected:
      return "connected to " + e.text;
    case AgentEvent::Kind::kNote:
      return e.text;
    case AgentEvent::Kind::kUpdateSent:
      std::snprintf(
          buf, sizeof buf,
          "round %llu task %llu: %llu examples, loss %.4f, train %.2f s, peak RSS %.1f "
          "MiB, task bytes %llu (link: sent %llu, received %llu)",
          static_cast<unsigned long long>(e.round), static_cast<unsigned long long>(e.task_id),
          static_cast<unsigned long long>(e.example_count), static_cast<double>(e.metrics.loss),
          e.metrics.train_seconds, static_cast<double>(e.metrics.peak_memory_bytes) / (1 << 20),
          static_cast<unsigned long long>(e.metrics.bytes),
          static_cast<unsigned long long>(e.bytes_sent),
          static_cast<unsigned long long>(e.bytes_received));
      return buf;
    case AgentEvent::Kind::kEvaluated:
      return "evaluated round " + std::to_string(e.round);
    case AgentEvent::Kind::kDisconnected:
      std::snprintf(buf, sizeof buf, "disconnected (%s); reconnecting in %.1f s",
                    e.status.to_string().c_str(), static_cast<double>(e.delay.count()) / 1000);
      return buf;
    case AgentEvent::Kind::kStopped:
      return e.status.is_ok() ? "stopped" : "giving up: " + e.status.to_string();
  }
  return "";
}

std::string format_event_json(const AgentEvent& e, const std::string& device_id) {
  std::string out =
      "{\"event\":\"" + std::string(kind_name(e.kind)) + "\",\"device\":" + json_quote(device_id);
  if (!e.status.is_ok()) {
    out += ",\"status\":" + json_quote(e.status.to_string());
  }
  if (e.delay.count() > 0) out += ",\"delay_ms\":" + std::to_string(e.delay.count());
  if (!e.text.empty()) out += ",\"text\":" + json_quote(e.text);
  if (e.kind == AgentEvent::Kind::kUpdateSent) {
    char buf[400];
    std::snprintf(
        buf, sizeof buf,
        ",\"round\":%llu,\"task\":%llu,\"examples\":%llu,\"loss\":%.6g,"
        "\"train_seconds\":%.6g,\"peak_rss_bytes\":%llu,\"task_bytes\":%llu,"
        "\"link_bytes_sent\":%llu,\"link_bytes_received\":%llu",
        static_cast<unsigned long long>(e.round), static_cast<unsigned long long>(e.task_id),
        static_cast<unsigned long long>(e.example_count), static_cast<double>(e.metrics.loss),
        e.metrics.train_seconds, static_cast<unsigned long long>(e.metrics.peak_memory_bytes),
        static_cast<unsigned long long>(e.metrics.bytes),
        static_cast<unsigned long long>(e.bytes_sent),
        static_cast<unsigned long long>(e.bytes_received));
    out += buf;
  } else if (e.kind == AgentEvent::Kind::kEvaluated) {
    out += ",\"round\":" + std::to_string(e.round);
  }
  return out + "}";
}

}  // namespace nf
