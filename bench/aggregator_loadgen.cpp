// aggregator_loadgen: many agent sessions from one process, for the
// aggregator's load benchmark and its process-level tests.
//
// Each session is a full agent session on the real transport (TCP, or mutual
// TLS with one certificate per device): connect, hello, welcome, then answer
// every TrainTask with an Update (the global values moved halfway towards a
// target: a stand-in for training) until the server closes or --tasks updates
// were sent. --behavior makes every session misbehave the same way (nan,
// short, scaled, die, wrongtask), so tests can run a bad agent as a process.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <map>

#include "../tests/aggregator/test_agent.h"
#include "transports/tcp.h"
#include "transports/tls.h"
#include "transports/tls/certificates.h"
#define NF_LOADGEN_HAS_TLS 1

using namespace nf;
using nf::aggregator::testing::AgentStats;
using nf::aggregator::testing::Behavior;

int main(int argc, char** argv) {
  CLI::App app{"aggregator_loadgen: many agent sessions against one aggregator"};
  std::string address = "127.0.0.1:7443", prefix = "load-", behavior_name = "good";
  std::string ca, cert_dir;
  bool insecure = false;
  int sessions = 100, tasks = 0, first_index = 0;
  double connect_rate = 500, target = 0.0;
  app.add_option("--connect", address, "aggregator host:port")->capture_default_str();
  app.add_flag("--insecure", insecure, "plain TCP (device identity = hello's device id)");
  app.add_option("--ca", ca, "CA certificate (PEM) for TLS");
  app.add_option("--cert-dir", cert_dir,
                 "TLS: directory of <prefix><index>.crt/.key, one certificate per session");
  app.add_option("--sessions", sessions, "concurrent sessions")->capture_default_str();
  app.add_option("--first-index", first_index, "index of the first session")->capture_default_str();
  app.add_option("--id-prefix", prefix, "device ids are <prefix><index>")->capture_default_str();
  app.add_option("--behavior", behavior_name, "good, nan, short, scaled, die, wrongtask")
      ->capture_default_str();
  app.add_option("--tasks", tasks, "updates per session before closing (0: until closed)");
  app.add_option("--connect-rate", connect_rate, "new sessions per second")->capture_default_str();
  app.add_option("--target", target, "value every parameter moves towards")->capture_default_str();
  std::string make_certs;
  app.add_option("--make-certs", make_certs,
                 "write ca.crt/.key, server.crt/.key (localhost, 127.0.0.1) and --sessions "
                 "device certificates <prefix><index>.crt/.key into this directory, then exit");
  CLI11_PARSE(app, argc, argv);

  if (!make_certs.empty()) {
    CertificateRequest ca_req;
    ca_req.common_name = "nf-load-ca";
    ca_req.is_ca = true;
    // An existing CA in the directory is reused, so several prefixes share it.
    auto ca_pair = read_pem_pair(make_certs + "/ca.crt", make_certs + "/ca.key");
    if (!ca_pair.is_ok()) ca_pair = make_ca_certificate(ca_req);
    if (!ca_pair.is_ok()) {
      std::fprintf(stderr, "aggregator_loadgen: %s\n", ca_pair.status().to_string().c_str());
      return 1;
    }
    Status st = write_pem_pair(*ca_pair, make_certs + "/ca.crt", make_certs + "/ca.key");
    CertificateRequest server_req;
    server_req.common_name = "localhost";
    server_req.dns_names = {"localhost"};
    server_req.ip_addresses = {"127.0.0.1"};
    auto server_pair = make_signed_certificate(server_req, *ca_pair);
    if (st.is_ok() && server_pair.is_ok()) {
      st = write_pem_pair(*server_pair, make_certs + "/server.crt", make_certs + "/server.key");
    }
    for (int i = 0; st.is_ok() && i < sessions; ++i) {
      CertificateRequest req;
      req.common_name = prefix + std::to_string(first_index + i);
      auto pair = make_signed_certificate(req, *ca_pair);
      st = pair.is_ok() ? write_pem_pair(*pair, make_certs + "/" + req.common_name + ".crt",
                                         make_certs + "/" + req.common_name + ".key")
                        : pair.status();
    }
    if (!st.is_ok()) {
      std::fprintf(stderr, "aggregator_loadgen: %s\n", st.to_string().c_str());
      return 1;
    }
    return 0;
  }

  const std::map<std::string, Behavior> behaviors = {
      {"good", Behavior::kGood},         {"nan", Behavior::kNan},
      {"short", Behavior::kWrongLength}, {"scaled", Behavior::kScaled},
      {"die", Behavior::kDieOnTask},     {"wrongtask", Behavior::kWrongTask}};
  if (!behaviors.count(behavior_name)) {
    std::fprintf(stderr, "aggregator_loadgen: unknown --behavior '%s'\n", behavior_name.c_str());
    return 2;
  }
  const Behavior behavior = behaviors.at(behavior_name);
  auto hp = parse_host_port(address);
  if (!hp.is_ok()) {
    std::fprintf(stderr, "aggregator_loadgen: %s\n", hp.status().to_string().c_str());
    return 2;
  }
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &r);
  }

  asio::io_context io(1);
  std::vector<std::shared_ptr<AgentStats>> stats;
  int connect_failures = 0;
  std::string first_error;
  const auto t0 = std::chrono::steady_clock::now();
  auto target_values =
      std::make_shared<const std::vector<float>>(1 << 20, static_cast<float>(target));
  for (int i = 0; i < sessions; ++i) {
    auto s = std::make_shared<AgentStats>();
    stats.push_back(s);
    const std::string id = prefix + std::to_string(first_index + i);
    const auto delay = std::chrono::microseconds(static_cast<int64_t>(1e6 * i / connect_rate));
    asio::co_spawn(
        io,
        [&, s, id, delay]() -> asio::awaitable<void> {
          asio::steady_timer t(io, delay);
          co_await t.async_wait(asio::use_awaitable);
          LinkOptions link;
          link.connect_timeout = std::chrono::seconds(60);
          Result<std::unique_ptr<Connection>> c = unavailable("not connected");
          // The aggregator may still be starting: retry refused connections for a while.
          for (int attempt = 0; attempt < 100; ++attempt) {
            if (attempt > 0) {
              asio::steady_timer retry(io, std::chrono::milliseconds(200));
              co_await retry.async_wait(asio::use_awaitable);
            }
            if (insecure) {
              c = co_await connect_tcp(io.get_executor(), hp->first, hp->second, link);
            } else {
#ifdef NF_LOADGEN_HAS_TLS
              auto ctx = make_tls_context(
                  TlsRole::kClient,
                  TlsFiles{ca, cert_dir + "/" + id + ".crt", cert_dir + "/" + id + ".key"});
              if (!ctx.is_ok()) {
                c = ctx.status();
              } else {
                c = co_await connect_tls(io.get_executor(), hp->first, hp->second, *ctx, link);
              }
#else
              c = failed_precondition("built without TLS");
#endif
            }
            if (c.is_ok() || c.status().code() != StatusCode::kUnavailable) break;
          }
          if (!c.is_ok()) {
            if (connect_failures++ == 0) first_error = c.status().to_string();
            co_return;
          }
          co_await aggregator::testing::run_test_agent(
              std::move(c).value(), id, behavior, target_values, s, tasks > 0 ? tasks : (1 << 30));
        },
        asio::detached);
  }
  io.run();
  int welcomed = 0, updates = 0, task_count = 0;
  for (const auto& s : stats) {
    welcomed += s->welcomed ? 1 : 0;
    updates += s->updates_sent;
    task_count += s->tasks;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "{\"sessions\":%d,\"welcomed\":%d,\"tasks\":%d,\"updates\":%d,\"connect_failures\":%d,"
      "\"first_error\":\"%s\",\"seconds\":%.3f}\n",
      sessions, welcomed, task_count, updates, connect_failures, first_error.c_str(), seconds);
  return connect_failures == sessions ? 1 : 0;
}
