#include "device_agent/agent_config.h"

#include "core/util/file.h"
#include "core/util/hash.h"

namespace nf {

BackoffConfig AgentConfig::backoff_config() const {
  BackoffConfig b;
  b.initial = std::chrono::milliseconds(backoff.initial_ms);
  b.max = std::chrono::milliseconds(backoff.max_ms);
  b.jitter = backoff.jitter;
  b.seed = backoff.seed != 0 ? backoff.seed : Hasher().str(device_id).digest();
  return b;
}

Status AgentConfig::validate() const {
  if (threads < 1 || threads > 1024) {
    return invalid_argument("threads " + std::to_string(threads) + " must be in [1, 1024]");
  }
  if (aggregator.address.rfind(':') == std::string::npos) {
    return invalid_argument("aggregator.address '" + aggregator.address + "' is not host:port");
  }
  if (data.source != "idx" && data.source != "csv") {
    return invalid_argument("data.source '" + data.source + "' must be \"idx\" or \"csv\"");
  }
  if (data.source == "csv" && data.csv.empty()) {
    return invalid_argument("data.source is \"csv\" but data.csv names no file");
  }
  if (data.clients < 1 || data.client_index < 0 || data.client_index >= data.clients) {
    return invalid_argument("data.client_index " + std::to_string(data.client_index) +
                            " must be in [0, data.clients = " + std::to_string(data.clients) + ")");
  }
  if (backoff.initial_ms <= 0 || backoff.max_ms < backoff.initial_ms) {
    return invalid_argument("backoff: need 0 < initial_ms (" + std::to_string(backoff.initial_ms) +
                            ") <= max_ms (" + std::to_string(backoff.max_ms) + ")");
  }
  if (!(backoff.jitter >= 0.0 && backoff.jitter < 1.0)) {
    return invalid_argument("backoff.jitter " + std::to_string(backoff.jitter) +
                            " must be in [0, 1)");
  }
  if (limits.memory_mib < 0 || limits.max_examples < 0) {
    return invalid_argument("limits must not be negative");
  }
  return Status::ok();
}

std::vector<Setting> agent_settings(AgentConfig& c) {
  return {
      {"device_id", "the device's name over insecure TCP (with TLS: the certificate's CN)",
       &c.device_id},
      {"state_dir", "where the agent keeps its state across restarts", &c.state_dir},
      {"threads", "training threads (at most; steps use one or all, whichever is faster)",
       &c.threads},
      {"json", "one JSON object per event on stdout", &c.json},
      {"max_tasks", "exit after this many updates sent (0: run until stopped)", &c.max_tasks},
      {"aggregator.address", "the aggregator's host:port", &c.aggregator.address},
      {"aggregator.insecure", "plain TCP instead of mutual TLS (testing only)",
       &c.aggregator.insecure},
      {"tls.cert", "this device's certificate (PEM)", &c.tls.cert},
      {"tls.key", "this device's private key (PEM)", &c.tls.key},
      {"tls.ca", "the CA that signed the aggregator's certificate (PEM)", &c.tls.ca},
      {"tls.server_name", "the name the aggregator's certificate must carry", &c.tls.server_name},
      {"data.source", "idx (Fashion-MNIST IDX files) or csv", &c.data.source},
      {"data.idx_dir", "IDX directory (empty: the installed Fashion-MNIST)", &c.data.idx_dir},
      {"data.partition", "how the training set is split (must match the fleet's)",
       &c.data.partition},
      {"data.clients", "number of shards", &c.data.clients},
      {"data.client_index", "which shard is this device's", &c.data.client_index},
      {"data.seed", "partition seed (must match the fleet's)", &c.data.seed},
      {"data.csv", "label,f1,f2,... per line when data.source = \"csv\"", &c.data.csv},
      {"limits.memory_mib", "address-space limit applied at start (0: none)", &c.limits.memory_mib},
      {"limits.max_examples", "at most this many local examples per task (0: all)",
       &c.limits.max_examples},
      {"backoff.initial_ms", "first reconnection delay", &c.backoff.initial_ms},
      {"backoff.max_ms", "longest reconnection delay", &c.backoff.max_ms},
      {"backoff.jitter", "random fraction of each delay, in [0, 1)", &c.backoff.jitter},
      {"backoff.seed", "jitter seed (0: derived from the device id)", &c.backoff.seed},
  };
}

Status apply_agent_config_toml(std::string_view text, const std::string& origin, AgentConfig& c) {
  return apply_settings_toml(text, origin, agent_settings(c));
}

Status load_agent_config(const std::string& path, AgentConfig& config) {
  NF_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  return apply_agent_config_toml(text, path, config);
}

std::string format_agent_config(const AgentConfig& c) {
  AgentConfig copy = c;
  return "# nf-agent configuration (nf-agent --config FILE); flags override these keys\n" +
         settings_to_toml(agent_settings(copy));
}

}  // namespace nf
