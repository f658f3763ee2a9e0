// SimOptions: the settings of one nf-sim run, from defaults, an optional
// TOML file (--config) and flags, in that order of precedence.
//
// The defaults are the project's main job: 100 Fashion-MNIST clients split
// by Dirichlet(0.5), 10 per round, a Clos cascade of 784-300-100-10 keeping
// about 10% of the dense weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/util/settings.h"
#include "core/util/status.h"

namespace CLI {
class App;
}

namespace nf::sim {

struct SimOptions {
  int64_t clients = 100;
  int64_t per_round = 10;
  int64_t rounds = 100;
  std::string partition =
      "dirichlet:alpha=0.5";    // "iid", "dirichlet:alpha=A", "shards:per_client=S"
  std::string fabric = "clos";  // hidden layers' fabric kind (the classifier layer is dense)
  double budget = 0.1;          // fraction of the dense hidden weights kept
  std::string model;            // an explicit model spec (canonical text); overrides fabric/budget
  std::string strategy = "fedavg";
  // Local training: tuned so the default run passes 87% within 100 rounds (docs/results/).
  int64_t epochs = 3;
  int64_t batch = 16;
  double lr = 0.02;
  std::string optimizer = "momentum";  // SGD with momentum 0.9, state reset every task
  double prox_mu = 0.0;
  std::string encoding = "f32";
  double dropout = 0.0;     // probability that a sampled client never answers
  double stragglers = 0.0;  // probability that a client misses the round's deadline
  uint64_t seed = 1;
  int64_t threads = 0;               // training workers; 0: one per hardware thread
  int64_t deadline_ms = 300000;      // a round's deadline (stragglers wait past it)
  int64_t eval_every = 1;            // central test-set evaluation every N rounds (and the last)
  int64_t max_test = 0;              // evaluate on the first N test examples (0: all 10,000)
  std::string data_dir;              // Fashion-MNIST IDX files; default: the installed ones
  std::string metrics;               // per-round JSON lines
  std::string svg;                   // accuracy figure
  std::string label;                 // the run's name in figures and summaries
  bool json = false;                 // final summary as JSON on stdout
  bool quiet = false;                // no progress lines
  std::vector<std::string> compare;  // metrics files to draw side by side, then exit
  int64_t processes = 0;  // >0: real nf-aggregator + this many nf-agent processes over TLS
  // Process mode: the programs (empty: next to nf-sim's own binary, in the
  // build tree or installed) and where certificates, state and logs go
  // (empty: a temporary directory, removed after a successful run).
  std::string aggregator_bin;
  std::string agent_bin;
  std::string nf_bin;
  std::string work_dir;

  Status validate() const;
};

// Registers every option on `app`, bound to `options` (whose current values
// are the defaults shown by --help).
void add_sim_flags(CLI::App& app, SimOptions& options);
// Every setting of `options` as a table (core/util/settings.h): the keys of
// nf-sim's TOML file.
std::vector<Setting> sim_settings(SimOptions& options);
Status apply_sim_config_toml(std::string_view text, const std::string& origin, SimOptions& options);
Status load_sim_config(const std::string& path, SimOptions& options);
std::string format_sim_config(const SimOptions& options);

}  // namespace nf::sim
