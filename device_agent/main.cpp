// nf-agent: a device's side of NeuroFabric federated training.
//
//   nf-agent --config agent.toml
//   nf-agent --aggregator 10.0.0.2:7443 --cert pi7.crt --key pi7.key --ca ca.crt
//     --client-index 7 --state-dir /var/lib/nf-agent
//
// Connects to the aggregator (mutual TLS unless --insecure), trains the
// welcomed model on its own shard when asked, and keeps going across
// disconnects and restarts (see docs/agent.md).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "core/util/command_line.h"
#include "device_agent/agent_config.h"
#include "device_agent/agent_log.h"
#include "device_agent/agent_loop.h"
#include "device_agent/connector.h"
#include "device_agent/engine_runner.h"
#include "device_agent/footprint.h"
#include "device_agent/identity.h"
#include "device_agent/shard_loader.h"
#include "device_agent/state_store.h"

namespace {

int fail(const nf::Status& s, int code) {
  std::fprintf(stderr, "nf-agent: %s\n", s.to_string().c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  nf::return_large_blocks_to_system();
  nf::AgentConfig config;
  const std::string config_path = nf::config_path_in_args(argc, argv);
  if (!config_path.empty()) {
    nf::Status s = nf::load_agent_config(config_path, config);
    if (!s.is_ok()) return fail(s, 2);
  }

  CLI::App app{"nf-agent: trains a NeuroFabric model on this device's data for an aggregator"};
  std::string unused_config;
  bool print_config = false;
  app.add_option("--config", unused_config, "TOML configuration file (flags override it)");
  app.add_flag("--print-config", print_config,
               "Print the effective configuration as TOML and exit");
  app.add_option("--aggregator", config.aggregator.address, "Aggregator host:port")
      ->capture_default_str();
  app.add_flag("--insecure", config.aggregator.insecure, "Plain TCP instead of mutual TLS");
  app.add_option("--cert", config.tls.cert, "Device certificate (PEM)")->capture_default_str();
  app.add_option("--key", config.tls.key, "Device private key (PEM)")->capture_default_str();
  app.add_option("--ca", config.tls.ca, "CA certificate that signed the aggregator's (PEM)")
      ->capture_default_str();
  app.add_option("--server-name", config.tls.server_name,
                 "Name the aggregator's certificate must carry")
      ->capture_default_str();
  app.add_option("--device-id", config.device_id,
                 "Device name over --insecure TCP (default device-0); with TLS the "
                 "certificate's CN is the name, and this must be empty or equal to it");
  app.add_option("--data", config.data.source, "Data source: idx or csv")->capture_default_str();
  app.add_option("--idx-dir", config.data.idx_dir, "Directory of the Fashion-MNIST IDX files");
  app.add_option("--partition", config.data.partition, "Partition spec shared by the fleet")
      ->capture_default_str();
  app.add_option("--clients", config.data.clients, "Number of shards in the partition")
      ->capture_default_str();
  app.add_option("--client-index", config.data.client_index, "This device's shard")
      ->capture_default_str();
  app.add_option("--partition-seed", config.data.seed, "Partition seed shared by the fleet")
      ->capture_default_str();
  app.add_option("--csv", config.data.csv, "CSV file (label last) when --data csv");
  app.add_option("--state-dir", config.state_dir, "Where progress survives restarts")
      ->capture_default_str();
  app.add_option("--threads", config.threads,
                 "Training threads (at most: each step runs on one or splits between all, "
                 "whichever measures faster)")
      ->capture_default_str();
  app.add_option("--memory-limit-mib", config.limits.memory_mib,
                 "Address-space limit in MiB (0: none)");
  app.add_option("--max-examples", config.limits.max_examples,
                 "Use at most this many local examples per task (0: all)");
  app.add_option("--max-tasks", config.max_tasks, "Exit after this many updates (0: never)");
  app.add_option("--backoff-initial-ms", config.backoff.initial_ms, "First reconnect delay")
      ->capture_default_str();
  app.add_option("--backoff-max-ms", config.backoff.max_ms, "Longest reconnect delay")
      ->capture_default_str();
  app.add_flag("--json", config.json, "One JSON object per event on stdout");
  app.set_version_flag("--version", "nf-agent " NF_VERSION " (" NF_MAINTAINER ")");
  CLI11_PARSE(app, argc, argv);

  if (print_config) {
    std::fputs(nf::format_agent_config(config).c_str(), stdout);
    return 0;
  }
  if (nf::Status s = config.validate(); !s.is_ok()) return fail(s, 2);
  // From here on device_id is the name the aggregator knows this device by.
  nf::Result<std::string> identity = nf::resolve_device_identity(config);
  if (!identity.is_ok()) return fail(identity.status(), 2);
  config.device_id = *identity;
  if (config.limits.memory_mib > 0) {
    const rlim_t bytes = static_cast<rlim_t>(config.limits.memory_mib) << 20;
    struct rlimit limit {
      bytes, bytes
    };
    if (::setrlimit(RLIMIT_AS, &limit) != 0) {
      return fail(nf::io_error(std::string("cannot set the memory limit: ") + std::strerror(errno)),
                  2);
    }
  }

  nf::Result<nf::Dataset> data = nf::load_agent_data(config.data);
  if (!data.is_ok()) return fail(data.status().with_context("loading local data"), 2);
  auto log = [&](const nf::AgentEvent& e) {
    if (config.json) {
      std::printf("%s\n", nf::format_event_json(e, config.device_id).c_str());
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "nf-agent %s: %s\n", config.device_id.c_str(),
                   nf::format_event_text(e).c_str());
    }
  };
  {
    nf::AgentEvent e;
    e.text = "local data " + data->name + ": " + std::to_string(data->size) + " examples";
    log(e);
  }

  asio::io_context io;
  nf::Result<nf::Connector> connector = nf::make_agent_connector(io.get_executor(), config);
  if (!connector.is_ok()) return fail(connector.status(), 2);
  nf::DirStateStore store(config.state_dir);
  nf::ModelPool pool(static_cast<int>(config.threads));
  nf::EngineTaskRunner runner(
      pool, nf::ClientData{
                &*data, {}, nf::mix64(config.data.client_index + 1), config.limits.max_examples});
  // The work runs inline (below): each Update is sent before the next task.
  runner.set_unencoded_updates(true);
  // A device's memory is the limit; its tasks are short.
  runner.set_batch_major_input(false);
  nf::SessionOptions session_options;
  session_options.device_id = config.device_id;
  session_options.encodings = nf::all_encodings();
  session_options.capabilities = {"threads=" + std::to_string(config.threads),
                                  "examples=" + std::to_string(data->size)};
  nf::AgentSession session(session_options, runner, store);
  nf::InlineWorkExecutor work;

  bool stop = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int) {
    if (!ec) stop = true;
  });
  nf::AgentLoopOptions loop;
  loop.backoff = config.backoff_config();
  loop.max_updates = config.max_tasks;
  loop.poll = std::chrono::milliseconds(500);
  loop.should_stop = [&] { return stop; };
  loop.on_event = log;

  nf::Status result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await nf::run_agent(*connector, session, runner, work, loop);
        signals.cancel();
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  if (!result.is_ok()) return fail(result, 3);
  return 0;
}
