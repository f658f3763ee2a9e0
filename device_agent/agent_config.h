// AgentConfig: everything nf-agent is told, from a TOML file and flags.
//
// Precedence: built-in defaults < the TOML file (--config) < command-line
// flags. format_agent_config writes the effective configuration back as TOML
// that load_agent_config accepts (nf-agent --print-config).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/util/settings.h"
#include "core/util/status.h"
#include "device_agent/backoff.h"

namespace nf {

struct AgentConfig {
  // The device's name over insecure TCP (empty: "device-0"). With TLS the
  // certificate's CN is the identity; device_id may then be empty or equal to
  // it (device_agent/identity.h).
  std::string device_id;
  std::string state_dir = "nf-agent-state";
  int64_t threads = 1;
  bool json = false;      // one JSON object per event on stdout instead of text lines
  int64_t max_tasks = 0;  // exit after this many updates sent (0: run until stopped)

  struct Aggregator {
    std::string address = "127.0.0.1:7443";  // host:port
    bool insecure = false;                   // plain TCP instead of mutual TLS
  } aggregator;

  struct Tls {
    std::string cert = "device.crt";
    std::string key = "device.key";
    std::string ca = "ca.crt";
    // Name the aggregator's certificate must carry (mbedTLS 2.28 checks DNS
    // names, not IP addresses).
    std::string server_name = "localhost";
  } tls;

  struct Data {
    std::string source = "idx";                     // "idx" (Fashion-MNIST IDX files) or "csv"
    std::string idx_dir;                            // default: the installed Fashion-MNIST
    std::string partition = "dirichlet:alpha=0.5";  // how the training set is split
    int64_t clients = 100;                          // number of shards
    int64_t client_index = 0;                       // which one is this device's
    uint64_t seed = 1;                              // partition seed (must match the fleet's)
    std::string csv;  // "label,f1,f2,..." per line when source = "csv"
  } data;

  struct Limits {
    int64_t memory_mib = 0;    // address-space limit applied at start (0: none)
    int64_t max_examples = 0;  // at most this many local examples per task (0: all)
  } limits;

  struct Retry {
    int64_t initial_ms = 500;
    int64_t max_ms = 30000;
    double jitter = 0.2;
    uint64_t seed = 0;  // 0: derived from the device id
  } backoff;

  BackoffConfig backoff_config() const;
  // Checks ranges and combinations; the message names the bad key and value.
  Status validate() const;
};

// Every setting of `config` (core/util/settings.h): its key in the TOML
// file and its help text, pointing into `config`.
std::vector<Setting> agent_settings(AgentConfig& config);

// Applies the keys of a TOML document on top of `config`. Unknown keys and
// values of the wrong type are errors naming them.
Status apply_agent_config_toml(std::string_view toml_text, const std::string& origin,
                               AgentConfig& config);
Status load_agent_config(const std::string& path, AgentConfig& config);
std::string format_agent_config(const AgentConfig& config);

}  // namespace nf
