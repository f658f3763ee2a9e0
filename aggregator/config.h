// AggregatorConfig: every setting of nf-aggregator, with defaults that work.
//
// Settings come, in increasing priority, from the defaults below, a TOML file
// (`--config`) and command-line flags. One table (config_fields) names every
// setting once: its TOML key "section.name", its flag "--section-name" and its
// help text, so the file, the flags and --print-config never drift apart.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/util/settings.h"
#include "core/util/status.h"

namespace nf::aggregator {

struct AggregatorConfig {
  // [server]
  std::string listen = "127.0.0.1:7443";  // host:port of the device listener
  bool insecure = false;                  // plain TCP; TLS is the default
  std::string tls_cert = "certs/server.crt";
  std::string tls_key = "certs/server.key";
  std::string tls_ca = "certs/ca.crt";
  double heartbeat_seconds = 10.0;
  int64_t max_connections = 4096;

  // [model]
  std::string model_spec;  // canonical ModelSpec text (or @file); empty: the fields below
  std::string model_fabric = "clos";  // hidden layers of the 784-300-100-10 MLP
  double model_budget = 0.1;          // fraction of dense weights each hidden layer keeps
  int64_t model_seed = 1;

  // [rounds]
  int64_t rounds = 10;
  int64_t clients_per_round = 10;
  int64_t min_clients = 2;  // connected devices needed before a round starts
  double round_deadline_seconds = 60.0;
  double over_selection = 0.0;    // extra fraction of clients sampled beyond clients_per_round
  double min_completion = 0.5;    // fraction of sampled clients that must report
  int64_t max_round_retries = 2;  // a round short of min_completion is retried, then skipped
  double wait_for_clients_seconds = 120.0;
  int64_t seed = 42;

  // [client] hyper-parameters sent in every TrainTask
  int64_t client_epochs = 1;
  int64_t client_batch = 32;
  double client_lr = 0.05;
  std::string client_optimizer = "sgd";  // sgd, momentum (SGD, 0.9), nesterov, adam, adamw
  std::string client_encoding = "f32";   // of updates: f32, f16, int8, each optionally -delta

  // [strategy]
  // A core/fl strategy spec: "fedavg", "fedprox:mu=0.01", "fedavgm:momentum=0.9",
  // "fedadam:lr=0.01", "fedyogi", "fedadagrad", "median", "trimmed_mean:beta=0.1",
  // "krum:f=1", "multikrum:f=1,m=3"; each also takes clip=<norm>.
  std::string strategy = "fedavg";
  double max_update_norm = 0.0;    // validation: reject a delta norm above this (0: no bound)
  double max_update_ratio = 10.0;  // ... or above this multiple of the global norm (0: none)
  // Buffer a round's updates and fold them in device-id order, so the same
  // updates give the same model bit for bit whatever order they arrived in.
  bool ordered_aggregation = false;

  // [checkpoint]
  std::string checkpoint_dir = "nf-aggregator-state";
  int64_t checkpoints_kept = 2;

  // [evaluation]
  std::string eval_data_dir;  // empty: the Fashion-MNIST test set installed with the data set
  int64_t eval_examples = 10000;
  int64_t eval_every = 1;  // centralized evaluation every N rounds; 0 disables
  // Federated evaluation: devices evaluate the new global model on their own
  // data. Every federated_every rounds, max(federated_clients,
  // ceil(federated_fraction x idle devices)) are asked; both 0 (the default): off.
  int64_t federated_every = 1;
  int64_t federated_clients = 0;
  double federated_fraction = 0.0;

  // [observability]
  std::string metrics_file;                    // JSON lines; empty: <checkpoint_dir>/metrics.jsonl
  std::string http_listen = "127.0.0.1:9464";  // the live page and /metrics; empty disables
};

// The table of every setting of `config` (core/util/settings.h), pointing
// into it: its TOML key, help text, and with setting_flag() its flag.
std::vector<Setting> config_fields(AggregatorConfig& config);

// Applies a TOML document to `config`. Unknown keys and values of the wrong type
// are errors naming the key, so a typo never silently leaves a default in place.
Status apply_toml(const std::string& toml_text, const std::string& source_name,
                  AggregatorConfig& config);

// The whole configuration as a TOML document that apply_toml reads back.
std::string config_to_toml(const AggregatorConfig& config);

// Checks ranges and combinations (min_completion in (0,1], a known strategy, TLS
// files named unless insecure...). The message names the bad setting and its value.
Status validate_config(const AggregatorConfig& config);

// Splits "host:port". Errors name the text.
Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& text);

}  // namespace nf::aggregator
