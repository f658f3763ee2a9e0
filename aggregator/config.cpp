#include "aggregator/config.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/engine/optimizer.h"
#include "core/fl/strategy_factory.h"
#include "core/fl/update_encoding.h"

namespace nf::aggregator {

std::vector<Setting> config_fields(AggregatorConfig& c) {
  return {
      {"server.listen", "host:port the device listener binds", &c.listen},
      {"server.insecure", "accept plain TCP instead of mutual TLS (testing only)", &c.insecure},
      {"server.tls_cert", "the aggregator's certificate (PEM)", &c.tls_cert},
      {"server.tls_key", "the aggregator's private key (PEM)", &c.tls_key},
      {"server.tls_ca", "the CA that signs device certificates (PEM)", &c.tls_ca},
      {"server.heartbeat_seconds", "heartbeat interval announced to devices", &c.heartbeat_seconds},
      {"server.max_connections", "connections beyond this are refused", &c.max_connections},
      {"model.spec",
       "canonical model spec text, or @path of a file holding it (overrides "
       "fabric and budget)",
       &c.model_spec},
      {"model.fabric", "fabric of the MLP's hidden layers (clos, butterfly, dense)",
       &c.model_fabric},
      {"model.budget", "fraction of dense weights each hidden layer keeps", &c.model_budget},
      {"model.seed", "seed of masks and initial values", &c.model_seed},
      {"rounds.rounds", "number of rounds to run", &c.rounds},
      {"rounds.clients_per_round", "clients whose updates a round wants", &c.clients_per_round},
      {"rounds.min_clients", "connected devices needed before a round starts", &c.min_clients},
      {"rounds.deadline_seconds", "time a round waits for updates", &c.round_deadline_seconds},
      {"rounds.over_selection", "extra fraction of clients sampled", &c.over_selection},
      {"rounds.min_completion", "fraction of sampled clients that must report", &c.min_completion},
      {"rounds.max_retries", "retries of a round short of min_completion before it is skipped",
       &c.max_round_retries},
      {"rounds.wait_for_clients_seconds", "how long a round waits for min_clients",
       &c.wait_for_clients_seconds},
      {"rounds.seed", "seed of client sampling", &c.seed},
      {"client.epochs", "local epochs per task", &c.client_epochs},
      {"client.batch", "local batch size", &c.client_batch},
      {"client.lr", "local learning rate", &c.client_lr},
      {"client.optimizer",
       "local optimizer: sgd, momentum (SGD with momentum 0.9), nesterov, adam or adamw",
       &c.client_optimizer},
      {"client.encoding",
       "encoding of the updates devices send: f32, f16 or int8, each optionally -delta",
       &c.client_encoding},
      {"strategy.spec",
       "fedavg, fedprox:mu=0.01, fedavgm:momentum=0.9, fedadam:lr=0.01, fedyogi, fedadagrad, "
       "median, trimmed_mean:beta=0.1, krum:f=1, multikrum:f=1,m=3; each takes clip=<norm>",
       &c.strategy, "--strategy"},
      {"strategy.max_update_norm", "reject updates whose delta norm exceeds this (0: none)",
       &c.max_update_norm},
      {"strategy.max_update_ratio",
       "reject updates whose delta norm exceeds this multiple of the model's norm (0: none)",
       &c.max_update_ratio},
      {"strategy.ordered_aggregation",
       "fold a round's updates in device-id order (bit-reproducible; buffers the round's updates)",
       &c.ordered_aggregation},
      {"checkpoint.dir", "directory of checkpoints and metrics", &c.checkpoint_dir},
      {"checkpoint.kept", "checkpoints kept (at least 2)", &c.checkpoints_kept},
      {"evaluation.data_dir", "Fashion-MNIST directory (empty: the installed data set)",
       &c.eval_data_dir},
      {"evaluation.examples", "test examples used by centralized evaluation", &c.eval_examples},
      {"evaluation.every", "evaluate every N rounds (0: never)", &c.eval_every},
      {"evaluation.federated_every",
       "federated evaluation (devices evaluate the new model on their own data) every N rounds "
       "(0: never)",
       &c.federated_every},
      {"evaluation.federated_clients",
       "devices asked to evaluate: at least this many (0 and federated_fraction 0: no "
       "federated evaluation)",
       &c.federated_clients},
      {"evaluation.federated_fraction",
       "... or this fraction of the idle connected devices, whichever is more",
       &c.federated_fraction},
      {"observability.metrics_file", "JSON-lines file (empty: <checkpoint.dir>/metrics.jsonl)",
       &c.metrics_file},
      {"observability.http_listen", "live page and /metrics (empty: off)", &c.http_listen},
  };
}

Status apply_toml(const std::string& toml_text, const std::string& source_name,
                  AggregatorConfig& config) {
  return apply_settings_toml(toml_text, source_name, config_fields(config)).with_context("config");
}

std::string config_to_toml(const AggregatorConfig& config) {
  AggregatorConfig copy = config;
  return settings_to_toml(config_fields(copy));
}

Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return invalid_argument("address '" + text + "' must be host:port");
  }
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) {
    return invalid_argument("address '" + text + "': port '" + port_text + "' is not 0..65535");
  }
  return std::make_pair(text.substr(0, colon), static_cast<uint16_t>(port));
}

Status validate_config(const AggregatorConfig& c) {
  auto bad = [](const std::string& key, const std::string& value, const std::string& why) {
    return invalid_argument(key + " = " + value + ": " + why);
  };
  NF_RETURN_IF_ERROR(split_host_port(c.listen).status().with_context("server.listen"));
  if (!c.http_listen.empty()) {
    NF_RETURN_IF_ERROR(
        split_host_port(c.http_listen).status().with_context("observability.http_listen"));
  }
  if (!c.insecure && (c.tls_cert.empty() || c.tls_key.empty() || c.tls_ca.empty())) {
    return invalid_argument(
        "TLS needs server.tls_cert, server.tls_key and server.tls_ca (or --insecure)");
  }
  if (c.rounds < 1) return bad("rounds.rounds", std::to_string(c.rounds), "must be >= 1");
  if (c.clients_per_round < 1) {
    return bad("rounds.clients_per_round", std::to_string(c.clients_per_round), "must be >= 1");
  }
  if (c.min_clients < 1) {
    return bad("rounds.min_clients", std::to_string(c.min_clients), "must be >= 1");
  }
  if (!(c.round_deadline_seconds > 0)) {
    return bad("rounds.deadline_seconds", std::to_string(c.round_deadline_seconds), "must be > 0");
  }
  if (!(c.over_selection >= 0 && c.over_selection <= 10)) {
    return bad("rounds.over_selection", std::to_string(c.over_selection), "must be in [0, 10]");
  }
  if (!(c.min_completion > 0 && c.min_completion <= 1)) {
    return bad("rounds.min_completion", std::to_string(c.min_completion), "must be in (0, 1]");
  }
  NF_RETURN_IF_ERROR(parse_strategy_spec(c.strategy).status().with_context("strategy.spec"));
  if (c.max_update_norm < 0 || c.max_update_ratio < 0) {
    return invalid_argument("strategy.max_update_norm and strategy.max_update_ratio must be >= 0");
  }
  if (!(c.model_budget > 0 && c.model_budget <= 1)) {
    return bad("model.budget", std::to_string(c.model_budget), "must be in (0, 1]");
  }
  if (c.checkpoint_dir.empty()) return bad("checkpoint.dir", "\"\"", "must not be empty");
  if (c.checkpoints_kept < 2) {
    return bad("checkpoint.kept", std::to_string(c.checkpoints_kept),
               "must be >= 2 (the previous checkpoint is the fallback for a torn one)");
  }
  if (c.client_epochs < 1 || c.client_batch < 1 || !(c.client_lr > 0)) {
    return invalid_argument("client.epochs, client.batch and client.lr must be positive");
  }
  if (c.client_optimizer != "momentum" && !parse_optimizer(c.client_optimizer).is_ok()) {
    return bad("client.optimizer", "'" + c.client_optimizer + "'",
               "is not one of sgd, momentum, nesterov, adam, adamw");
  }
  if (!parse_encoding(c.client_encoding).is_ok()) {
    return bad("client.encoding", "'" + c.client_encoding + "'",
               "is not one of f32, f16, int8, f32-delta, f16-delta, int8-delta");
  }
  if (c.eval_every < 0) return bad("evaluation.every", std::to_string(c.eval_every), "< 0");
  if (c.federated_every < 0) {
    return bad("evaluation.federated_every", std::to_string(c.federated_every), "must be >= 0");
  }
  if (c.federated_clients < 0 || c.federated_clients > 1'000'000) {
    return bad("evaluation.federated_clients", std::to_string(c.federated_clients),
               "must be in [0, 1000000]");
  }
  if (!(c.federated_fraction >= 0 && c.federated_fraction <= 1)) {
    return bad("evaluation.federated_fraction", std::to_string(c.federated_fraction),
               "must be in [0, 1]");
  }
  return Status::ok();
}

}  // namespace nf::aggregator
