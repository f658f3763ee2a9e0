// nf-agent as a real process, over mutual TLS on loopback with certificates
// made by `nf certs`: killed with SIGKILL mid-task and restarted (counted once
// by a real nf-aggregator), an nf-aggregator killed and restarted (found
// again by backoff), an nf-aggregator restarted from an earlier checkpoint
// (the round it issues again is answered, once), and a Welcome whose model
// hash differs from the agent's derived masks (refused; exit code 3). Every
// wait is bounded.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/engine/model.h"
#include "core/engine/model_spec.h"
#include "core/util/hash.h"
#include "device_agent/state_store.h"
#include "tests/support/process_harness.h"
#include "transports/message_link.h"
#include "transports/tls.h"

namespace nf {
namespace {

using namespace std::chrono_literals;
using test::count_in_file;
using test::lines_of;
using test::spawn;
using test::wait_for;
using test::wait_for_text;

// A real aggregator over mutual TLS; --epochs makes a task last long enough
// (about a second) to be killed in the middle of it.
std::vector<std::string> aggregator_args(const std::string& dir, int port, int rounds,
                                         int min_clients, int epochs) {
  return {test::aggregator_binary(),
          "--listen",
          "127.0.0.1:" + std::to_string(port),
          "--tls-cert",
          dir + "/certs/server.crt",
          "--tls-key",
          dir + "/certs/server.key",
          "--tls-ca",
          dir + "/certs/ca.crt",
          "--rounds",
          std::to_string(rounds),
          "--clients-per-round",
          "1",
          "--min-clients",
          std::to_string(min_clients),
          "--epochs",
          std::to_string(epochs),
          "--deadline-seconds",
          "60",
          "--examples",
          "500",
          "--dir",
          dir + "/ck",
          "--http-listen",
          "",
          "--json"};
}

// No --device-id: with TLS the agent names itself by its certificate's CN.
std::vector<std::string> agent_args(const std::string& dir, int port) {
  return {test::agent_binary(),
          "--aggregator",
          "127.0.0.1:" + std::to_string(port),
          "--cert",
          dir + "/certs/dev-0.crt",
          "--key",
          dir + "/certs/dev-0.key",
          "--ca",
          dir + "/certs/ca.crt",
          "--partition",
          "iid",
          "--clients",
          "100",
          "--client-index",
          "3",
          "--state-dir",
          dir + "/state",
          "--backoff-initial-ms",
          "100",
          "--backoff-max-ms",
          "400"};
}

// Rounds of metrics.jsonl that completed, in order, with dev-0 counted once
// in each.
std::vector<int> completed_rounds_with_dev0_once(const std::string& dir) {
  std::vector<int> rounds;
  for (const auto& line : lines_of(dir + "/ck/metrics.jsonl")) {
    INFO(line);
    if (line.find("\"outcome\":\"completed\"") == std::string::npos) continue;
    CHECK(line.find("\"participant_ids\":[\"dev-0\"]") != std::string::npos);
    rounds.push_back(static_cast<int>(test::number_after(line, "round")));
  }
  return rounds;
}

TEST_CASE("an nf-agent killed with SIGKILL mid-task and restarted is counted once per round") {
  const std::string dir = test::make_temp_dir("nf_agent_proc_");
  test::make_certs(dir, {"dev-0"});
  const int port = test::free_port();
  const pid_t aggregator = spawn(aggregator_args(dir, port, 2, 1, 100), dir + "/aggregator.log");
  const pid_t first = spawn(agent_args(dir, port), dir + "/agent1.log");
  const bool training = wait_for_text(dir + "/agent1.log", ": training (100 epochs", 60);
  test::kill_all({first});
  REQUIRE(training);
  // It died before its update left: no "examples, loss" line, no sent record.
  CHECK(count_in_file(dir + "/agent1.log", "examples, loss") == 0);
  CHECK(DirStateStore(dir + "/state").load().value().updates_sent == 0);
  // With TLS the log names the device as the aggregator does: by its CN.
  CHECK(count_in_file(dir + "/agent1.log", "nf-agent dev-0: ") > 0);

  const pid_t second = spawn(agent_args(dir, port), dir + "/agent2.log");
  const int aggregator_exit = wait_for(aggregator, 120);
  test::kill_all({second});
  INFO("aggregator log: " << dir << "/aggregator.log");
  REQUIRE(aggregator_exit == 0);
  CHECK(count_in_file(dir + "/agent2.log", "welcomed, resuming with no update sent yet") == 1);
  CHECK(completed_rounds_with_dev0_once(dir) == std::vector<int>{1, 2});
  const AgentState state = DirStateStore(dir + "/state").load().value();
  CHECK(state.last_completed_round == 2);
  CHECK(state.updates_sent == 2);  // round 1 (after the restart) and round 2, once each
  test::remove_test_dir(dir);
}

TEST_CASE("an nf-aggregator killed with SIGKILL and restarted is found again by backoff") {
  const std::string dir = test::make_temp_dir("nf_agent_proc_");
  test::make_certs(dir, {"dev-0"});
  const int port = test::free_port();
  // The agent starts first and backs off while nobody listens.
  const pid_t agent = spawn(agent_args(dir, port), dir + "/agent.log");
  REQUIRE(wait_for_text(dir + "/agent.log", "cannot connect", 30));
  // First life: welcomes the agent, then waits for a second device that never
  // comes, and is killed.
  const pid_t first = spawn(aggregator_args(dir, port, 2, 2, 1), dir + "/aggregator1.log");
  const bool welcomed = wait_for_text(dir + "/agent.log", "welcomed", 60);
  test::kill_all({first});
  REQUIRE(welcomed);
  const size_t refused_before = count_in_file(dir + "/agent.log", "cannot connect");
  REQUIRE(wait_for_text(dir + "/agent.log", "disconnected", 30));
  // Nobody listens again: the agent keeps retrying and does not exit.
  const auto retried = [&] {
    return count_in_file(dir + "/agent.log", "cannot connect") > refused_before;
  };
  for (int i = 0; i < 300 && !retried(); ++i) std::this_thread::sleep_for(20ms);
  CHECK(retried());
  CHECK(::waitpid(agent, nullptr, WNOHANG) == 0);

  // Second life on the same directory, content with one device.
  const pid_t second = spawn(aggregator_args(dir, port, 2, 1, 1), dir + "/aggregator2.log");
  const int second_exit = wait_for(second, 120);
  test::kill_all({agent});
  REQUIRE(second_exit == 0);
  CHECK(count_in_file(dir + "/agent.log", "connected to localhost") >= 2);
  CHECK(completed_rounds_with_dev0_once(dir) == std::vector<int>{1, 2});
  test::remove_test_dir(dir);
}

TEST_CASE("an nf-aggregator restarted from an earlier checkpoint gets round 2 again, once") {
  const std::string dir = test::make_temp_dir("nf_agent_proc_");
  test::make_certs(dir, {"dev-0"});
  const int port = test::free_port();
  const pid_t agent = spawn(agent_args(dir, port), dir + "/agent.log");
  // First life: both rounds, dev-0's update in each.
  const pid_t first = spawn(aggregator_args(dir, port, 2, 1, 1), dir + "/aggregator1.log");
  const int first_exit = wait_for(first, 120);
  if (first_exit != 0) test::kill_all({agent});
  REQUIRE(first_exit == 0);
  REQUIRE(DirStateStore(dir + "/state").load().value().updates_sent == 2);
  // The aggregator lost what it learned from round 2, as when it dies before
  // writing that round's checkpoint: the second life resumes after round 1 and
  // issues round 2 again, under a new task id.
  REQUIRE(std::filesystem::remove(dir + "/ck/checkpoint-00000002.nfc"));
  const pid_t second = spawn(aggregator_args(dir, port, 2, 1, 1), dir + "/aggregator2.log");
  const int second_exit = wait_for(second, 120);
  test::kill_all({agent});
  INFO("logs in " << dir);
  REQUIRE(second_exit == 0);
  CHECK(count_in_file(dir + "/aggregator2.log", "resumed from the checkpoint of round 1") == 1);
  CHECK(count_in_file(dir + "/agent.log", "round 2 issued again as task") == 1);
  CHECK(count_in_file(dir + "/agent.log", "already sent") == 0);
  // metrics.jsonl: round 2's line of the first life was dropped with its
  // checkpoint; the second life's round 2 counts dev-0 once.
  CHECK(completed_rounds_with_dev0_once(dir) == std::vector<int>{1, 2});
  const AgentState state = DirStateStore(dir + "/state").load().value();
  CHECK(state.updates_sent == 3);
  CHECK(state.last_completed_round == 2);
  CHECK(state.answered_tasks.size() == 3);
  test::remove_test_dir(dir);
}

TEST_CASE("nf-agent refuses a model whose mask hash differs from its own, and says so") {
  // The real nf-aggregator computes the hash from the masks it derives with the
  // same code, so the two real programs cannot disagree; a scripted aggregator
  // over the same mutual TLS plays one built elsewhere.
  const std::string dir = test::make_temp_dir("nf_agent_proc_");
  test::make_certs(dir, {"dev-0"});
  const int port = test::free_port();
  asio::io_context io;
  auto context = make_tls_context(
      TlsRole::kServer,
      {dir + "/certs/ca.crt", dir + "/certs/server.crt", dir + "/certs/server.key"});
  REQUIRE(context.is_ok());
  auto listener = listen_tls(io.get_executor(), "127.0.0.1", static_cast<uint16_t>(port), *context);
  REQUIRE(listener.is_ok());
  const pid_t agent = spawn(agent_args(dir, port), dir + "/agent.log");

  const ModelSpec spec = standard_mlp_spec_for_fraction(FabricKind::kClos, 0.1, 1).value();
  const uint64_t identity = Model::create(spec).value()->identity();
  std::string hello_device, hello_peer;
  std::optional<ErrorMessage> answer;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto connection = co_await (*listener)->accept(30s);
        if (!connection.is_ok()) co_return;
        MessageLink link(std::move(connection).value());
        hello_peer = link.peer_identity();
        auto hello = co_await link.receive(30s);
        if (!hello.is_ok() || !std::holds_alternative<Hello>(*hello)) co_return;
        hello_device = std::get<Hello>(*hello).device_id;
        Welcome welcome;
        welcome.model_spec = format_model_spec(spec);
        welcome.model_hash = identity ^ 0x40;
        if (!(co_await link.send(welcome)).is_ok()) co_return;
        auto reply = co_await link.receive(30s);
        if (reply.is_ok() && std::holds_alternative<ErrorMessage>(*reply)) {
          answer = std::get<ErrorMessage>(*reply);
        }
        link.close();
      },
      [&io](std::exception_ptr e) {
        io.stop();
        if (e) std::rethrow_exception(e);
      });
  io.run_for(60s);
  const int exit_code = wait_for(agent, 30);
  CHECK(exit_code == 3);
  CHECK(hello_peer == "dev-0");
  CHECK(hello_device == "dev-0");  // the CN, though no --device-id was given
  REQUIRE(answer.has_value());
  CHECK(answer->code == StatusCode::kFailedPrecondition);
  CHECK(answer->message.find("model identity mismatch") != std::string::npos);
  // The agent's own words, on stderr.
  CHECK(
      count_in_file(dir + "/agent.log", "model identity mismatch: the aggregator's model hash is " +
                                            hash_hex(identity ^ 0x40) + " but this agent derives " +
                                            hash_hex(identity)) >= 1);
  test::remove_test_dir(dir);
}

}  // namespace
}  // namespace nf
