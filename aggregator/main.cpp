// nf-aggregator: the federated-learning server.
//
//   nf-aggregator --config aggregator.toml [--rounds 20 ...]
//   nf-aggregator --insecure --listen 127.0.0.1:7000   (plain TCP, for tests only)
//   nf-aggregator --print-config                       (the effective settings as TOML)
#include <sys/resource.h>
#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/thread_pool.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "aggregator/config.h"
#include "aggregator/device_listener.h"
#include "aggregator/http_endpoint.h"
#include "aggregator/model_setup.h"
#include "aggregator/server.h"
#include "core/util/file.h"
#include "core/util/hash.h"

namespace {

using nf::Status;
using namespace nf::aggregator;

int fail(const Status& s) {
  std::fprintf(stderr, "nf-aggregator: error: %s\n", s.to_string().c_str());
  return 1;
}

// Thousands of devices need thousands of descriptors: raise the soft limit to the hard one.
void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &r);
  }
}

std::string summary_json(const ServerSummary& s, const ServerCounters& c, const Status& status,
                         const AggregatorConfig& config, uint64_t identity, double seconds) {
  auto num = [](double v) {
    if (v < 0) return std::string("null");
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v);
    return std::string(b);
  };
  std::string o = "{\"ok\":" + std::string(status.is_ok() ? "true" : "false");
  if (!status.is_ok()) o += ",\"error\":" + json_quote(status.to_string());
  o += ",\"rounds_completed\":" + std::to_string(s.rounds_completed) +
       ",\"rounds_requested\":" + std::to_string(config.rounds) +
       ",\"rounds_skipped\":" + std::to_string(s.rounds_skipped) +
       ",\"resumed_from_round\":" + std::to_string(s.resumed_from_round) +
       ",\"stopped_early\":" + (s.stopped_early ? "true" : "false") +
       ",\"eval_accuracy\":" + num(s.last_eval_accuracy) +
       ",\"eval_loss\":" + num(s.last_eval_loss) + ",\"train_loss\":" + num(s.last_train_loss) +
       ",\"federated_eval_accuracy\":" + num(s.last_federated_accuracy) +
       ",\"federated_eval_loss\":" + num(s.last_federated_loss) +
       ",\"federated_eval_results\":" + std::to_string(c.federated_eval_results) +
       ",\"federated_eval_failures\":" + std::to_string(c.federated_eval_failures) +
       ",\"updates_accepted\":" + std::to_string(c.updates_accepted) +
       ",\"updates_rejected\":" + std::to_string(c.updates_rejected) +
       ",\"client_failures\":" + std::to_string(c.client_failures) +
       ",\"bytes_in\":" + std::to_string(c.bytes_in) +
       ",\"bytes_out\":" + std::to_string(c.bytes_out) +
       ",\"model_identity\":" + json_quote(nf::hash_hex(identity)) +
       ",\"strategy\":" + json_quote(config.strategy) +
       ",\"checkpoint_dir\":" + json_quote(config.checkpoint_dir) + ",\"seconds\":" + num(seconds) +
       "}";
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "nf-aggregator: the NeuroFabric federated-learning server. Devices connect over mutual "
      "TLS (plain TCP only with --insecure); each round samples connected devices, collects "
      "their updates until a deadline, aggregates them with the configured strategy and "
      "checkpoints. Settings come from the defaults, a TOML file (--config; --print-config "
      "shows the format) and the flags below, in increasing priority."};
  std::string config_path;
  bool print_config = false, json = false, quiet = false;
  app.add_option("--config", config_path, "TOML file of settings")->check(CLI::ExistingFile);
  app.add_flag("--print-config", print_config, "print the effective settings as TOML and exit");
  app.add_flag("--json", json, "print a JSON summary on stdout at the end");
  app.add_flag("-q,--quiet", quiet, "no progress lines on stderr");

  AggregatorConfig from_flags;
  auto flag_fields = config_fields(from_flags);
  std::vector<std::pair<std::string, CLI::Option*>> options;
  for (auto& f : flag_fields) {
    const std::string flag = setting_flag(f.key, flag_fields);
    CLI::Option* opt = nullptr;
    if (auto* b = std::get_if<bool*>(&f.target)) {
      opt = app.add_flag(flag, **b, f.help + " [" + f.key + "]");
    } else {
      std::visit(
          [&](auto* p) {
            if constexpr (!std::is_same_v<decltype(p), bool*>) {
              opt = app.add_option(flag, *p, f.help + " [" + f.key + "]")->capture_default_str();
            }
          },
          f.target);
    }
    opt->group(f.key.substr(0, f.key.find('.')));
    options.emplace_back(f.key, opt);
  }
  CLI11_PARSE(app, argc, argv);

  AggregatorConfig config;
  if (!config_path.empty()) {
    auto text = nf::read_text_file(config_path);
    if (!text.is_ok()) return fail(text.status());
    if (Status s = apply_toml(*text, config_path, config); !s.is_ok()) return fail(s);
  }
  {
    auto to = config_fields(config);
    for (size_t i = 0; i < options.size(); ++i) {
      if (options[i].second->count() == 0) continue;
      std::visit(
          [&](auto* dst) {
            using T = std::remove_pointer_t<decltype(dst)>;
            *dst = *std::get<T*>(flag_fields[i].target);
          },
          to[i].target);
    }
  }
  if (print_config) {
    std::cout << config_to_toml(config);
    return 0;
  }
  if (Status s = validate_config(config); !s.is_ok()) return fail(s);
  raise_fd_limit();
  auto log = [quiet](const std::string& line) {
    if (!quiet) std::fprintf(stderr, "nf-aggregator: %s\n", line.c_str());
  };
  const auto t0 = std::chrono::steady_clock::now();

  auto built = build_model(config);
  if (!built.is_ok()) return fail(built.status());
  auto strategy = build_strategy(config);
  if (!strategy.is_ok()) return fail(strategy.status());
  if (Status s = attach_evaluator(config, built->model, **strategy); !s.is_ok()) return fail(s);
  log("model " + nf::hash_hex(built->description.identity) + ", " +
      std::to_string(built->description.initial_values.size()) + " parameters, strategy " +
      (*strategy)->spec());

  const uint64_t identity = built->description.identity;
  asio::io_context io(1);
  asio::thread_pool workers(1);  // aggregation and evaluation, off the network thread
  auto server = Server::create(
      io.get_executor(), server_options_from(config), std::move(built->description),
      std::move(strategy).value(),
      [&workers](std::function<void()> job) { asio::post(workers, std::move(job)); });
  if (!server.is_ok()) return fail(server.status());
  Server& srv = **server;
  srv.set_log(log);
  if (srv.summary().resumed_from_round >= 0) {
    log("resumed from the checkpoint of round " + std::to_string(srv.summary().resumed_from_round));
  }

  auto listener = open_device_listener(io.get_executor(), config);
  if (!listener.is_ok()) return fail(listener.status());
  log(std::string(config.insecure ? "INSECURE plain TCP" : "mutual TLS") + " on " +
      (*listener)->address());
  srv.serve(std::move(listener).value());

  std::unique_ptr<HttpEndpoint> http;
  if (!config.http_listen.empty()) {
    auto hp = split_host_port(config.http_listen).value();
    auto ep = HttpEndpoint::start(
        io.get_executor(), hp.first, hp.second,
        {[&srv] { return srv.prometheus_text(); }, [&srv] { return srv.state_json(); }});
    if (!ep.is_ok()) return fail(ep.status());
    http = std::move(ep).value();
    log("live page on http://" + hp.first + ":" + std::to_string(http->port()) + "/");
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int sig) {
    if (ec) return;
    log(std::string("caught ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
    srv.stop();
  });

  Status result;
  asio::co_spawn(io, srv.run(), [&](std::exception_ptr e, Status s) {
    result = e ? nf::internal_error("round loop threw") : s;
    signals.cancel();
    if (http) http->stop();
    // Let sessions close, then leave.
    asio::post(io, [&io] { io.stop(); });
  });
  io.run();
  workers.join();

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (json) {
    std::cout << summary_json(srv.summary(), srv.counters(), result, config, identity, seconds)
              << std::endl;
  }
  if (!result.is_ok()) return fail(result);
  log("done: " + std::to_string(srv.summary().rounds_completed) + " rounds");
  return 0;
}
