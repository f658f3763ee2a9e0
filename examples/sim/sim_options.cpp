#include "examples/sim/sim_options.h"

#include <toml++/toml.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <sstream>

#include "core/util/file.h"

namespace nf::sim {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

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

Status apply_sim_config_toml(std::string_view text, const std::string& origin, SimOptions& o) {
  toml::table t;
  try {  // Debian's toml++ is built with exceptions: keep them inside this function
    t = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ": " << e.description();
    return invalid_argument(msg.str());
  }
  for (const auto& [key, bound_node] : t) {
    const std::string k(key.str());
    const toml::node& node = bound_node;  // Clang 14 cannot capture structured bindings
    auto wrong = [&] { return invalid_argument(origin + ": key '" + k + "' has the wrong type"); };
    auto integer = [&](int64_t& out) {
      if (!node.is_integer()) return wrong();
      out = *node.value<int64_t>();
      return Status::ok();
    };
    auto number = [&](double& out) {
      if (!node.is_number()) return wrong();
      out = *node.value<double>();
      return Status::ok();
    };
    auto text_value = [&](std::string& out) {
      if (!node.is_string()) return wrong();
      out = *node.value<std::string>();
      return Status::ok();
    };
    auto flag = [&](bool& out) {
      if (!node.is_boolean()) return wrong();
      out = *node.value<bool>();
      return Status::ok();
    };
    Status s;
    if (k == "clients")
      s = integer(o.clients);
    else if (k == "per_round")
      s = integer(o.per_round);
    else if (k == "rounds")
      s = integer(o.rounds);
    else if (k == "partition")
      s = text_value(o.partition);
    else if (k == "fabric")
      s = text_value(o.fabric);
    else if (k == "budget")
      s = number(o.budget);
    else if (k == "model")
      s = text_value(o.model);
    else if (k == "strategy")
      s = text_value(o.strategy);
    else if (k == "epochs")
      s = integer(o.epochs);
    else if (k == "batch")
      s = integer(o.batch);
    else if (k == "lr")
      s = number(o.lr);
    else if (k == "optimizer")
      s = text_value(o.optimizer);
    else if (k == "prox_mu")
      s = number(o.prox_mu);
    else if (k == "encoding")
      s = text_value(o.encoding);
    else if (k == "dropout")
      s = number(o.dropout);
    else if (k == "stragglers")
      s = number(o.stragglers);
    else if (k == "seed") {
      int64_t v = 0;
      s = integer(v);
      o.seed = static_cast<uint64_t>(v);
    } else if (k == "threads")
      s = integer(o.threads);
    else if (k == "eval_every")
      s = integer(o.eval_every);
    else if (k == "deadline_ms")
      s = integer(o.deadline_ms);
    else if (k == "max_test")
      s = integer(o.max_test);
    else if (k == "data_dir")
      s = text_value(o.data_dir);
    else if (k == "metrics")
      s = text_value(o.metrics);
    else if (k == "svg")
      s = text_value(o.svg);
    else if (k == "label")
      s = text_value(o.label);
    else if (k == "json")
      s = flag(o.json);
    else if (k == "quiet")
      s = flag(o.quiet);
    else if (k == "processes")
      s = integer(o.processes);
    else if (k == "aggregator_bin")
      s = text_value(o.aggregator_bin);
    else if (k == "agent_bin")
      s = text_value(o.agent_bin);
    else if (k == "nf_bin")
      s = text_value(o.nf_bin);
    else if (k == "work_dir")
      s = text_value(o.work_dir);
    else
      return invalid_argument(origin + ": unknown key '" + k + "'");
    NF_RETURN_IF_ERROR(s);
  }
  return Status::ok();
}

Status load_sim_config(const std::string& path, SimOptions& o) {
  NF_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  return apply_sim_config_toml(text, path, o);
}

std::string format_sim_config(const SimOptions& o) {
  std::ostringstream s;
  s << "# nf-sim configuration (nf-sim --config FILE); flags override these keys\n"
    << "clients = " << o.clients << "\nper_round = " << o.per_round << "\nrounds = " << o.rounds
    << "\npartition = " << quoted(o.partition) << "\nfabric = " << quoted(o.fabric)
    << "\nbudget = " << o.budget << "\nmodel = " << quoted(o.model)
    << "\nstrategy = " << quoted(o.strategy) << "\nepochs = " << o.epochs << "\nbatch = " << o.batch
    << "\nlr = " << o.lr << "\noptimizer = " << quoted(o.optimizer) << "\nprox_mu = " << o.prox_mu
    << "\nencoding = " << quoted(o.encoding) << "\ndropout = " << o.dropout
    << "\nstragglers = " << o.stragglers << "\nseed = " << o.seed << "\nthreads = " << o.threads
    << "\ndeadline_ms = " << o.deadline_ms << "\neval_every = " << o.eval_every
    << "\nmax_test = " << o.max_test << "\ndata_dir = " << quoted(o.data_dir)
    << "\nmetrics = " << quoted(o.metrics) << "\nsvg = " << quoted(o.svg)
    << "\nlabel = " << quoted(o.label) << "\njson = " << (o.json ? "true" : "false")
    << "\nquiet = " << (o.quiet ? "true" : "false") << "\nprocesses = " << o.processes
    << "\naggregator_bin = " << quoted(o.aggregator_bin) << "\nagent_bin = " << quoted(o.agent_bin)
    << "\nnf_bin = " << quoted(o.nf_bin) << "\nwork_dir = " << quoted(o.work_dir) << "\n";
  return s.str();
}

}  // namespace nf::sim
