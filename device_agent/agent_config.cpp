#include "device_agent/agent_config.h"

#include <toml++/toml.h>
#include <set>
#include <sstream>

#include "core/util/file.h"
#include "core/util/hash.h"

namespace nf {
namespace {

// Reads table[key] into `out` when present; a value of another type is an error.
template <typename T>
Status read_key(const toml::table& table, const std::string& section, const char* key, T& out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return Status::ok();
  if constexpr (std::is_same_v<T, std::string>) {
    if (auto v = node->value<std::string>()) {
      out = *v;
      return Status::ok();
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    if (auto v = node->value<bool>()) {
      out = *v;
      return Status::ok();
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (auto v = node->value<double>()) {
      out = static_cast<T>(*v);
      return Status::ok();
    }
  } else {
    if (node->is_integer()) {
      out = static_cast<T>(*node->value<int64_t>());
      return Status::ok();
    }
  }
  return invalid_argument("config key '" + section + key + "' has the wrong type");
}

Status check_keys(const toml::table& table, const std::string& section,
                  const std::set<std::string>& known) {
  for (const auto& [key, node] : table) {
    const std::string k(key.str());
    if (!known.count(k)) return invalid_argument("unknown config key '" + section + k + "'");
    if (node.is_table() != (known.count(k + "/") > 0)) {
      return invalid_argument("config key '" + section + k + "' has the wrong type");
    }
  }
  return Status::ok();
}

const toml::table* sub(const toml::table& t, const char* key) {
  const toml::node* n = t.get(key);
  return n ? n->as_table() : nullptr;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

BackoffConfig AgentConfig::backoff_config() const {
  BackoffConfig b;
  b.initial = std::chrono::milliseconds(backoff.initial_ms);
  b.max = std::chrono::milliseconds(backoff.max_ms);
  b.jitter = backoff.jitter;
  b.seed = backoff.seed != 0 ? backoff.seed : Hasher().str(device_id).digest();
  return b;
}

Status AgentConfig::validate() const {
  if (threads < 1) return invalid_argument("threads " + std::to_string(threads) + " must be >= 1");
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

Status apply_agent_config_toml(std::string_view text, const std::string& origin, AgentConfig& c) {
  toml::table t;
  try {  // Debian's toml++ is built with exceptions: keep them inside this function
    t = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ": " << e.description();
    return invalid_argument(msg.str());
  }
  auto ctx = [&](Status s) { return s.with_context(origin); };
  NF_RETURN_IF_ERROR(ctx(check_keys(
      t, "",
      {"device_id", "state_dir", "threads", "json", "max_tasks", "aggregator", "aggregator/", "tls",
       "tls/", "data", "data/", "limits", "limits/", "backoff", "backoff/"})));
  NF_RETURN_IF_ERROR(ctx(read_key(t, "", "device_id", c.device_id)));
  NF_RETURN_IF_ERROR(ctx(read_key(t, "", "state_dir", c.state_dir)));
  NF_RETURN_IF_ERROR(ctx(read_key(t, "", "threads", c.threads)));
  NF_RETURN_IF_ERROR(ctx(read_key(t, "", "json", c.json)));
  NF_RETURN_IF_ERROR(ctx(read_key(t, "", "max_tasks", c.max_tasks)));
  if (const toml::table* a = sub(t, "aggregator")) {
    NF_RETURN_IF_ERROR(ctx(check_keys(*a, "aggregator.", {"address", "insecure"})));
    NF_RETURN_IF_ERROR(ctx(read_key(*a, "aggregator.", "address", c.aggregator.address)));
    NF_RETURN_IF_ERROR(ctx(read_key(*a, "aggregator.", "insecure", c.aggregator.insecure)));
  }
  if (const toml::table* s = sub(t, "tls")) {
    NF_RETURN_IF_ERROR(ctx(check_keys(*s, "tls.", {"cert", "key", "ca", "server_name"})));
    NF_RETURN_IF_ERROR(ctx(read_key(*s, "tls.", "cert", c.tls.cert)));
    NF_RETURN_IF_ERROR(ctx(read_key(*s, "tls.", "key", c.tls.key)));
    NF_RETURN_IF_ERROR(ctx(read_key(*s, "tls.", "ca", c.tls.ca)));
    NF_RETURN_IF_ERROR(ctx(read_key(*s, "tls.", "server_name", c.tls.server_name)));
  }
  if (const toml::table* d = sub(t, "data")) {
    NF_RETURN_IF_ERROR(ctx(
        check_keys(*d, "data.",
                   {"source", "idx_dir", "partition", "clients", "client_index", "seed", "csv"})));
    NF_RETURN_IF_ERROR(ctx(read_key(*d, "data.", "source", c.data.source)));
    NF_RETURN_IF_ERROR(ctx(read_key(*d, "data.", "idx_dir", c.data.idx_dir)));
    NF_RETURN_IF_ERROR(ctx(read_key(*d, "data.", "partition", c.data.partition)));
    NF_RETURN_IF_ERROR(ctx(read_key(*d, "data.", "clients", c.data.clients)));
    NF_RETURN_IF_ERROR(ctx(read_key(*d, "data.", "client_index", c.data.client_index)));
    NF_RETURN_IF_ERROR(ctx(read_key(*d, "data.", "seed", c.data.seed)));
    NF_RETURN_IF_ERROR(ctx(read_key(*d, "data.", "csv", c.data.csv)));
  }
  if (const toml::table* l = sub(t, "limits")) {
    NF_RETURN_IF_ERROR(ctx(check_keys(*l, "limits.", {"memory_mib", "max_examples"})));
    NF_RETURN_IF_ERROR(ctx(read_key(*l, "limits.", "memory_mib", c.limits.memory_mib)));
    NF_RETURN_IF_ERROR(ctx(read_key(*l, "limits.", "max_examples", c.limits.max_examples)));
  }
  if (const toml::table* b = sub(t, "backoff")) {
    NF_RETURN_IF_ERROR(ctx(check_keys(*b, "backoff.", {"initial_ms", "max_ms", "jitter", "seed"})));
    NF_RETURN_IF_ERROR(ctx(read_key(*b, "backoff.", "initial_ms", c.backoff.initial_ms)));
    NF_RETURN_IF_ERROR(ctx(read_key(*b, "backoff.", "max_ms", c.backoff.max_ms)));
    NF_RETURN_IF_ERROR(ctx(read_key(*b, "backoff.", "jitter", c.backoff.jitter)));
    NF_RETURN_IF_ERROR(ctx(read_key(*b, "backoff.", "seed", c.backoff.seed)));
  }
  return Status::ok();
}

Status load_agent_config(const std::string& path, AgentConfig& config) {
  NF_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  return apply_agent_config_toml(text, path, config);
}

std::string format_agent_config(const AgentConfig& c) {
  std::ostringstream o;
  o << "# nf-agent configuration (nf-agent --config FILE); flags override these keys\n"
    << "device_id = " << quoted(c.device_id) << "\n"
    << "state_dir = " << quoted(c.state_dir) << "\n"
    << "threads = " << c.threads << "\n"
    << "json = " << (c.json ? "true" : "false") << "\n"
    << "max_tasks = " << c.max_tasks << "\n\n"
    << "[aggregator]\naddress = " << quoted(c.aggregator.address) << "\n"
    << "insecure = " << (c.aggregator.insecure ? "true" : "false") << "\n\n"
    << "[tls]\ncert = " << quoted(c.tls.cert) << "\nkey = " << quoted(c.tls.key)
    << "\nca = " << quoted(c.tls.ca) << "\nserver_name = " << quoted(c.tls.server_name) << "\n\n"
    << "[data]\nsource = " << quoted(c.data.source) << "\nidx_dir = " << quoted(c.data.idx_dir)
    << "\npartition = " << quoted(c.data.partition) << "\nclients = " << c.data.clients
    << "\nclient_index = " << c.data.client_index << "\nseed = " << c.data.seed
    << "\ncsv = " << quoted(c.data.csv) << "\n\n"
    << "[limits]\nmemory_mib = " << c.limits.memory_mib
    << "\nmax_examples = " << c.limits.max_examples << "\n\n"
    << "[backoff]\ninitial_ms = " << c.backoff.initial_ms << "\nmax_ms = " << c.backoff.max_ms
    << "\njitter = " << c.backoff.jitter << "\nseed = " << c.backoff.seed << "\n";
  return o.str();
}

}  // namespace nf
