#include "examples/sim/sim_options.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <sstream>

#include "core/util/file.h"
#include "core/util/settings.h"

namespace nf::sim {

Status SimOptions::validate() const {
  auto bad = [](const std::string& what) { return invalid_argument(what); };
  if (clients < 1) return bad("--clients " + std::to_string(clients) + " must be >= 1");
  if (per_round < 1 || per_round > clients) {
    return bad("--per-round " + std::to_string(per_round) +
               " must be in [1, --clients = " + std::to_string(clients) + "]");
  }
  if (rounds < 1) return bad("--rounds " + std::to_string(rounds) + " must be >= 1");
  if (!(budget > 0.0 && budget <= 1.0)) {
    return bad("--budget " + std::to_string(budget) + " must be in (0, 1]");
  }
  if (epochs < 1 || batch < 1) return bad("--epochs and --batch must be >= 1");
  if (!(lr > 0.0)) return bad("--lr " + std::to_string(lr) + " must be > 0");
  if (!(dropout >= 0.0 && dropout < 1.0) || !(stragglers >= 0.0 && stragglers < 1.0)) {
    return bad("--dropout and --stragglers must be in [0, 1)");
  }
  if (prox_mu != 0.0) {
    // The aggregator sends the strategy's proximal term in every task, so a
    // separate value would be silently ignored.
    char mu[32];
    std::snprintf(mu, sizeof mu, "%g", prox_mu);
    return bad(std::string("--prox-mu ") + mu +
               " has no effect: the strategy sets FedProx's term (--strategy fedprox:mu=" + mu +
               ")");
  }
  if (threads < 0) return bad("--threads must be >= 0");
  if (eval_every < 1) return bad("--eval-every must be >= 1");
  if (deadline_ms < 100)
    return bad("--deadline-ms " + std::to_string(deadline_ms) + " must be >= 100");
  if (processes < 0) return bad("--processes must be >= 0");
  return Status::ok();
}

void add_sim_flags(CLI::App& app, SimOptions& o) {
  app.add_option("--clients", o.clients, "Virtual clients (shards of the training set)")
      ->capture_default_str();
  app.add_option("--per-round", o.per_round, "Clients sampled per round")->capture_default_str();
  app.add_option("--rounds", o.rounds, "Federated rounds")->capture_default_str();
  app.add_option("--partition", o.partition,
                 "How the training set is split: iid, dirichlet:alpha=A, shards:per_client=S")
      ->capture_default_str();
  app.add_option("--fabric", o.fabric, "Hidden layers' fabric (clos, butterfly, dense)")
      ->capture_default_str();
  app.add_option("--budget", o.budget, "Fraction of the dense hidden weights kept")
      ->capture_default_str();
  app.add_option("--model", o.model,
                 "Explicit model spec (canonical text); overrides --fabric/--budget");
  app.add_option("--strategy", o.strategy,
                 "Aggregation strategy spec (fedavg, fedprox:mu=..., fedadam:...)")
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "Local epochs per task")->capture_default_str();
  app.add_option("--batch", o.batch, "Local batch size")->capture_default_str();
  app.add_option("--lr", o.lr, "Local learning rate")->capture_default_str();
  app.add_option("--optimizer", o.optimizer, "Local optimizer (sgd, momentum, adam)")
      ->capture_default_str();
  app.add_option("--prox-mu", o.prox_mu,
                 "Must stay 0: FedProx's term comes from --strategy fedprox:mu=M")
      ->capture_default_str();
  app.add_option("--encoding", o.encoding, "Update encoding: f32, f16, int8, with -delta")
      ->capture_default_str();
  app.add_option("--dropout", o.dropout, "Probability that a sampled client never answers")
      ->capture_default_str();
  app.add_option("--stragglers", o.stragglers, "Probability that a client misses the deadline")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of everything (partition, sampling, init, training)")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "Training worker threads (0: hardware threads)")
      ->capture_default_str();
  app.add_option("--deadline-ms", o.deadline_ms, "A round's deadline in milliseconds")
      ->capture_default_str();
  app.add_option("--eval-every", o.eval_every, "Evaluate on the test set every N rounds")
      ->capture_default_str();
  app.add_option("--max-test", o.max_test, "Evaluate on the first N test examples (0: all)")
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "Directory of the Fashion-MNIST IDX files");
  app.add_option("--metrics", o.metrics, "Write per-round metrics here (JSON lines)");
  app.add_option("--svg", o.svg, "Write the accuracy-per-round figure here");
  app.add_option("--label", o.label, "The run's name in summaries and figures");
  app.add_flag("--json", o.json, "Print the final summary as JSON");
  app.add_flag("--quiet", o.quiet, "No progress line per round");
  app.add_option("--compare", o.compare,
                 "Metrics files to draw side by side (with --svg); runs nothing");
  app.add_option("--processes", o.processes,
                 "Run the real nf-aggregator and this many nf-agent processes over TLS");
  app.add_option("--aggregator-bin", o.aggregator_bin,
                 "Process mode: the nf-aggregator program (default: next to nf-sim)");
  app.add_option("--agent-bin", o.agent_bin,
                 "Process mode: the nf-agent program (default: next to nf-sim)");
  app.add_option("--nf-bin", o.nf_bin,
                 "Process mode: the nf tool that makes certificates (default: next to nf-sim)");
  app.add_option("--work-dir", o.work_dir,
                 "Process mode: certificates, state and logs (default: a temporary directory, "
                 "removed after a successful run)");
}

std::vector<Setting> sim_settings(SimOptions& o) {
  return {
      {"clients", "virtual clients (shards of the training set)", &o.clients},
      {"per_round", "clients sampled per round", &o.per_round},
      {"rounds", "federated rounds", &o.rounds},
      {"partition", "iid, dirichlet:alpha=A or shards:per_client=S", &o.partition},
      {"fabric", "hidden layers' fabric (clos, butterfly, dense, ...)", &o.fabric},
      {"budget", "fraction of the dense hidden weights kept", &o.budget},
      {"model", "an explicit model spec (overrides fabric and budget)", &o.model},
      {"strategy", "aggregation strategy spec", &o.strategy},
      {"epochs", "local epochs per task", &o.epochs},
      {"batch", "local batch size", &o.batch},
      {"lr", "local learning rate", &o.lr},
      {"optimizer", "local optimizer (sgd, momentum, nesterov, adam, adamw)", &o.optimizer},
      {"prox_mu", "refused: FedProx's term comes from the strategy", &o.prox_mu},
      {"encoding", "update encoding", &o.encoding},
      {"dropout", "probability that a sampled client never answers", &o.dropout},
      {"stragglers", "probability that a client misses the deadline", &o.stragglers},
      {"seed", "seed of partition, sampling and model", &o.seed},
      {"threads", "training workers (0: one per hardware thread)", &o.threads},
      {"deadline_ms", "a round's deadline", &o.deadline_ms},
      {"eval_every", "central evaluation every N rounds", &o.eval_every},
      {"max_test", "evaluate on the first N test examples (0: all)", &o.max_test},
      {"data_dir", "Fashion-MNIST IDX directory (empty: the installed one)", &o.data_dir},
      {"metrics", "per-round JSON lines file", &o.metrics},
      {"svg", "accuracy figure file", &o.svg},
      {"label", "the run's name", &o.label},
      {"json", "final summary as JSON", &o.json},
      {"quiet", "no progress lines", &o.quiet},
      {"processes", "real nf-aggregator + this many nf-agent processes (0: in-process)",
       &o.processes},
      {"aggregator_bin", "process mode: the nf-aggregator program", &o.aggregator_bin},
      {"agent_bin", "process mode: the nf-agent program", &o.agent_bin},
      {"nf_bin", "process mode: the nf tool", &o.nf_bin},
      {"work_dir", "process mode: certificates, state and logs", &o.work_dir},
  };
}

Status apply_sim_config_toml(std::string_view text, const std::string& origin, SimOptions& o) {
  return apply_settings_toml(text, origin, sim_settings(o));
}

Status load_sim_config(const std::string& path, SimOptions& o) {
  NF_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  return apply_sim_config_toml(text, path, o);
}

std::string format_sim_config(const SimOptions& o) {
  SimOptions copy = o;
  return "# nf-sim configuration (nf-sim --config FILE); flags override these keys\n" +
         settings_to_toml(sim_settings(copy));
}

}  // namespace nf::sim
