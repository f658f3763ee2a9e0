// The round loop over the in-process transport with in-test agents: rounds,
// validation, failures, reconnection, checkpoints and resumption.
#include "aggregator/server.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <cmath>
#include <filesystem>

#include "aggregator/checkpoint.h"
#include "core/fl/strategy_factory.h"
#include "core/util/file.h"
#include "test_agent.h"
#include "transports/inproc.h"

namespace nf::aggregator {

using testing::AgentStats;
using testing::Behavior;

namespace {

constexpr size_t kValues = 64;

std::string temp_dir() {
  char tmpl[] = "/tmp/nf_server_XXXXXX";
  return ::mkdtemp(tmpl);
}

ServerOptions small_options(int rounds, int clients) {
  ServerOptions o;
  o.rounds = rounds;
  o.clients_per_round = clients;
  o.min_clients = clients;
  o.min_completion = 0.5;
  o.max_round_retries = 1;
  o.round_deadline = std::chrono::milliseconds(400);
  o.wait_for_clients = std::chrono::milliseconds(3000);
  o.heartbeat = std::chrono::milliseconds(1000);
  return o;
}

struct Harness {
  asio::io_context io;
  asio::thread_pool pool{1};
  InprocNetwork net{io.get_executor()};
  std::unique_ptr<Server> server;
  std::vector<RoundMetrics> rounds;
  Status result;
  bool finished = false;
  std::vector<float> target = std::vector<float>(kValues, 2.0f);
  StrategyOptions strategy_options;  // clients_per_round and over_selection come from the options

  Status create(const ServerOptions& o, const std::string& strategy_spec = "fedavg",
                std::vector<float> initial = std::vector<float>(kValues, 1.0f)) {
    StrategyOptions so = strategy_options;
    so.clients_per_round = o.clients_per_round;
    so.over_selection = o.over_selection;
    auto strategy = make_strategy(strategy_spec, so);
    NF_RETURN_IF_ERROR(strategy.status());
    auto s = Server::create(io.get_executor(), o, {"test-model", 0xabc, std::move(initial)},
                            std::move(strategy).value(), [this](std::function<void()> job) {
                              asio::post(pool, std::move(job));
                            });
    NF_RETURN_IF_ERROR(s.status());
    server = std::move(s).value();
    server->set_round_callback([this](const RoundMetrics& m) { rounds.push_back(m); });
    auto listener = net.listen("aggregator");
    NF_RETURN_IF_ERROR(listener.status());
    server->serve(std::move(listener).value());
    return Status::ok();
  }

  std::shared_ptr<AgentStats> agent(const std::string& name, Behavior b = Behavior::kGood,
                                    std::chrono::milliseconds delay = {},
                                    testing::EvalAnswer eval = {}) {
    auto stats = std::make_shared<AgentStats>();
    asio::co_spawn(
        io,
        [this, name, b, stats, delay, eval, target = target]() -> asio::awaitable<void> {
          if (delay.count() > 0) {
            asio::steady_timer t(io, delay);
            co_await t.async_wait(asio::use_awaitable);
          }
          auto c = co_await net.connect("aggregator", name);
          if (!c.is_ok()) co_return;
          co_await testing::run_test_agent(std::move(c).value(), name, b,
                                           std::make_shared<const std::vector<float>>(target),
                                           stats, 1 << 30, eval);
        },
        asio::detached);
    return stats;
  }

  void run(std::function<void()> after_start = {}) {
    asio::co_spawn(io, server->run(), [this](std::exception_ptr, Status s) {
      result = s;
      finished = true;
    });
    if (after_start) after_start();
    io.run_for(std::chrono::seconds(60));
    pool.join();
  }

  const RoundMetrics* completed(int64_t round) const {
    for (const auto& m : rounds) {
      if (m.round == round && m.outcome == "completed") return &m;
    }
    return nullptr;
  }
};

bool has_failure(const std::vector<ClientFailure>& failures, const std::string& device,
                 const std::string& text) {
  for (const auto& f : failures) {
    if (f.client_id == device && f.reason.find(text) != std::string::npos) return true;
  }
  return false;
}

bool has_failure(const RoundMetrics& m, const std::string& device, const std::string& text) {
  for (const auto& f : m.failures) {
    if (f.client_id == device && f.reason.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("rounds converge with FedAvg and every round is checkpointed") {
  const auto dir = temp_dir();
  Harness h;
  auto o = small_options(4, 3);
  o.checkpoint_dir = dir;
  o.metrics_file = dir + "/metrics.jsonl";
  REQUIRE(h.create(o).is_ok());
  for (int i = 0; i < 3; ++i) h.agent("dev-" + std::to_string(i));
  h.run();
  REQUIRE(h.finished);
  CHECK(h.result.is_ok());
  CHECK(h.server->completed_round() == 4);
  // Each round halves the distance to the target: 1 -> 1.5 -> 1.75 -> 1.875 -> 1.9375.
  for (float v : h.server->global_values()) CHECK(v == doctest::Approx(1.9375f));
  REQUIRE(h.rounds.size() == 4);
  for (const auto& m : h.rounds) {
    CHECK(m.outcome == "completed");
    CHECK(m.participants == 3);
    CHECK(m.failures.empty());
    CHECK(m.bytes_in > kValues * 4 * 3);
    CHECK(m.bytes_out > kValues * 4 * 3);
  }
  CHECK(h.rounds[3].train_loss < h.rounds[0].train_loss);
  auto latest = load_latest_checkpoint(dir);
  REQUIRE(latest.is_ok());
  CHECK(latest->checkpoint.round == 4);
  CHECK(latest->checkpoint.global_values == h.server->global_values());
  CHECK(latest->checkpoint.devices.size() == 3);
  auto lines = read_text_file(dir + "/metrics.jsonl");
  REQUIRE(lines.is_ok());
  CHECK(std::count(lines->begin(), lines->end(), '\n') == 4);
  const auto state = h.server->state_json();
  CHECK(state.find("\"round\":4") != std::string::npos);
  CHECK(state.find("\"history\":[{\"round\":1") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("NaN, wrong-length, scaled and wrong-task updates are rejected and named") {
  Harness h;
  auto o = small_options(1, 6);
  o.min_completion = 0.3;
  REQUIRE(h.create(o).is_ok());
  h.agent("good-1");
  h.agent("good-2");
  h.agent("nan", Behavior::kNan);
  h.agent("short", Behavior::kWrongLength);
  h.agent("scaled", Behavior::kScaled);
  h.agent("wrongtask", Behavior::kWrongTask);
  h.run();
  REQUIRE(h.finished);
  const RoundMetrics* m = h.completed(1);
  REQUIRE(m != nullptr);
  CHECK(m->participants == 2);
  CHECK(has_failure(*m, "nan", "nan"));
  CHECK(has_failure(*m, "short", "length 63"));
  CHECK(has_failure(*m, "scaled", "norm"));
  CHECK(has_failure(*m, "wrongtask", "task"));
  CHECK(m->failures.size() == 4);
  // Only the good updates count: the model moved halfway to the target, no further.
  for (float v : h.server->global_values()) CHECK(v == doctest::Approx(1.5f));
  CHECK(h.server->counters().updates_rejected == 4);
}

TEST_CASE("agents dying mid-round: the round completes by the minimum-completion rule") {
  Harness h;
  auto o = small_options(2, 10);
  o.min_completion = 0.6;
  o.min_clients = 7;
  REQUIRE(h.create(o).is_ok());
  for (int i = 0; i < 7; ++i) h.agent("ok-" + std::to_string(i));
  for (int i = 0; i < 3; ++i) h.agent("dies-" + std::to_string(i), Behavior::kDieOnTask);
  h.run();
  REQUIRE(h.finished);
  const RoundMetrics* m = h.completed(1);
  REQUIRE(m != nullptr);
  CHECK(m->participants == 7);
  CHECK(m->failures.size() == 3);
  CHECK(has_failure(*m, "dies-0", "disconnected"));
  // Round 2 samples among the 7 still connected.
  m = h.completed(2);
  REQUIRE(m != nullptr);
  CHECK(m->sampled == 7);
  CHECK(m->participants == 7);
}

TEST_CASE("a round samples idle devices before one still busy with the last round's task") {
  Harness h;
  auto o = small_options(2, 4);  // round 1 samples all 4 connected
  o.min_completion = 0.75;
  REQUIRE(h.create(o).is_ok());
  for (int i = 0; i < 3; ++i) h.agent("ok-" + std::to_string(i));
  auto slow = h.agent("slow", Behavior::kSlowFirstTask);
  // Connects while round 1 runs: idle when round 2 starts, as are ok-0..2,
  // while "slow" still trains its round-1 task (1.5 s against a 0.4 s deadline).
  h.agent("late", Behavior::kGood, std::chrono::milliseconds(150));
  h.run();
  REQUIRE(h.finished);
  const RoundMetrics* m = h.completed(1);
  REQUIRE(m != nullptr);
  REQUIRE(m->sampled == 4);
  REQUIRE(has_failure(*m, "slow", "timeout"));
  m = h.completed(2);
  REQUIRE(m != nullptr);
  CHECK(m->sampled == 4);
  CHECK(m->participants == 4);
  CHECK(m->failures.empty());
  CHECK(std::find(m->participant_ids.begin(), m->participant_ids.end(), "late") !=
        m->participant_ids.end());
  CHECK(slow->tasks == 1);  // never given round 2's task
}

TEST_CASE("a round short of min_completion is retried, then skipped, and says so") {
  Harness h;
  auto o = small_options(1, 2);
  o.min_completion = 1.0;
  o.max_round_retries = 1;
  REQUIRE(h.create(o).is_ok());
  h.agent("good");
  h.agent("nan", Behavior::kNan);
  h.run();
  REQUIRE(h.finished);
  REQUIRE(h.rounds.size() == 2);
  CHECK(h.rounds[0].outcome == "retried");
  CHECK(h.rounds[1].outcome == "skipped");
  CHECK(h.rounds[1].attempt == 1);
  for (float v : h.server->global_values()) CHECK(v == 1.0f);
}

TEST_CASE("a restarted server resumes after the last checkpointed round") {
  const auto dir = temp_dir();
  {
    Harness h;
    auto o = small_options(2, 2);
    o.checkpoint_dir = dir;
    o.metrics_file = dir + "/metrics.jsonl";
    REQUIRE(h.create(o).is_ok());
    h.agent("a");
    h.agent("b");
    h.run();
    REQUIRE(h.server->completed_round() == 2);
  }
  Harness h;
  auto o = small_options(4, 2);
  o.checkpoint_dir = dir;
  o.metrics_file = dir + "/metrics.jsonl";
  REQUIRE(h.create(o).is_ok());
  CHECK(h.server->summary().resumed_from_round == 2);
  for (float v : h.server->global_values()) CHECK(v == doctest::Approx(1.75f));
  h.agent("a");
  h.agent("b");
  h.run();
  CHECK(h.server->completed_round() == 4);
  REQUIRE(h.rounds.size() == 2);
  CHECK(h.rounds[0].round == 3);
  for (float v : h.server->global_values()) CHECK(v == doctest::Approx(1.9375f));
  auto lines = read_text_file(dir + "/metrics.jsonl");
  REQUIRE(lines.is_ok());
  CHECK(std::count(lines->begin(), lines->end(), '\n') == 4);

  // Another model's checkpoint is refused.
  Harness other;
  StrategyOptions so;
  auto s =
      Server::create(other.io.get_executor(), o, {"other", 0xdef, std::vector<float>(kValues)},
                     make_strategy("fedavg", so).value(), [](std::function<void()> j) { j(); });
  CHECK(s.status().code() == StatusCode::kFailedPrecondition);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a device reconnecting mid-round is counted once") {
  Harness h;
  auto o = small_options(1, 2);
  o.round_deadline = std::chrono::milliseconds(1500);
  REQUIRE(h.create(o).is_ok());
  h.agent("steady");
  auto first = h.agent("flaky", Behavior::kDieOnTask);
  // The same identity comes back while the round waits; it gets its task again.
  auto second = h.agent("flaky", Behavior::kGood, std::chrono::milliseconds(300));
  h.run();
  const RoundMetrics* m = h.completed(1);
  REQUIRE(m != nullptr);
  CHECK(first->tasks == 1);
  CHECK(second->tasks == 1);
  CHECK(m->participants == 2);
  CHECK(m->failures.empty());
  CHECK(std::count(m->participant_ids.begin(), m->participant_ids.end(), "flaky") == 1);
}

TEST_CASE("stop() abandons the round in progress and leaves the last checkpoint") {
  const auto dir = temp_dir();
  Harness h;
  auto o = small_options(3, 2);
  o.checkpoint_dir = dir;
  o.round_deadline = std::chrono::milliseconds(5000);
  REQUIRE(h.create(o).is_ok());
  h.agent("a");
  h.agent("b", Behavior::kDieOnTask);
  asio::steady_timer t(h.io, std::chrono::milliseconds(500));
  h.run([&] { t.async_wait([&](asio::error_code) { h.server->stop(); }); });
  REQUIRE(h.finished);
  CHECK(h.result.is_ok());
  CHECK(h.server->completed_round() == 0);
  CHECK(h.server->summary().stopped_early);
  REQUIRE(!h.rounds.empty());
  CHECK(h.rounds.back().outcome == "abandoned");
  CHECK(load_latest_checkpoint(dir).status().code() == StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST_CASE("ordered aggregation gives bit-identical models whatever the arrival order") {
  std::vector<float> results[2];
  for (int run = 0; run < 2; ++run) {
    Harness h;
    auto o = small_options(2, 4);
    o.ordered_aggregation = true;
    REQUIRE(h.create(o).is_ok());
    for (int i = 0; i < 4; ++i) {
      const int k = run == 0 ? i : 3 - i;
      h.target[0] = 0.1f * static_cast<float>(k);
      h.agent("dev-" + std::to_string(k), Behavior::kGood, std::chrono::milliseconds(10 * i));
    }
    h.run();
    REQUIRE(h.server->completed_round() == 2);
    results[run] = h.server->global_values();
  }
  CHECK(results[0] == results[1]);
}

TEST_CASE("federated evaluation: example-weighted results, failures named, in every view") {
  Harness h;
  auto o = small_options(2, 6);
  o.min_clients = 5;  // round 2 runs without the device that dies while evaluating
  h.strategy_options.evaluate_fraction = 1.0;
  REQUIRE(h.create(o).is_ok());
  h.agent("e-0", Behavior::kGood, {}, {100, 0.2f});
  h.agent("e-1", Behavior::kGood, {}, {300, 0.6f});
  h.agent("e-2", Behavior::kGood, {}, {100, 1.0f});
  auto dies = h.agent("dies", Behavior::kDieOnEvaluate);
  h.agent("nan", Behavior::kNanEvaluate);
  auto silent = h.agent("silent", Behavior::kSilentEvaluate);
  h.run();
  REQUIRE(h.finished);
  CHECK(h.result.is_ok());
  const RoundMetrics* m = h.completed(1);
  REQUIRE(m != nullptr);
  // Training is unaffected: all six delivered, the model moved halfway (1 -> 1.5).
  CHECK(m->participants == 6);
  CHECK(m->failures.empty());
  const FederatedEvalMetrics& f = m->federated;
  CHECK(f.sampled == 6);
  CHECK(f.results == 3);
  CHECK(f.examples == 500);
  CHECK(f.accuracy == doctest::Approx((100 * 0.2 + 300 * 0.6 + 100 * 1.0) / 500));
  CHECK(f.loss == doctest::Approx(0.25));  // (2 - 1.5)^2: the new model was evaluated
  REQUIRE(f.failures.size() == 3);
  CHECK(has_failure(f.failures, "dies", "disconnected"));
  CHECK(has_failure(f.failures, "nan", "rejected: loss nan"));
  CHECK(has_failure(f.failures, "silent", "timeout after 0.4 s"));
  CHECK(dies->evaluations == 1);

  m = h.completed(2);
  REQUIRE(m != nullptr);
  CHECK(m->sampled == 5);
  CHECK(m->participants == 5);  // "silent" trained again after ignoring its evaluation
  CHECK(m->federated.sampled == 5);
  CHECK(m->federated.results == 3);
  CHECK(m->federated.loss == doctest::Approx(0.0625));  // (2 - 1.75)^2
  CHECK(m->federated.failures.size() == 2);
  CHECK(silent->evaluations == 2);

  const auto c = h.server->counters();
  CHECK(c.federated_eval_results == 6);
  CHECK(c.federated_eval_failures == 5);
  CHECK(h.server->summary().last_federated_accuracy == doctest::Approx(0.6));
  CHECK(h.server->prometheus_text().find("nf_aggregator_federated_eval_accuracy 0.6\n") !=
        std::string::npos);
  const auto state = h.server->state_json();
  CHECK(state.find("\"federated_loss\":0.25,\"federated_accuracy\":0.6}") != std::string::npos);
  CHECK(state.find("\"last_federated_accuracy\":0.6,") != std::string::npos);
  const auto line = to_json_line(*h.completed(1));
  CHECK(line.find("\"federated_eval\":{\"sampled\":6,\"results\":3,\"examples\":500,") !=
        std::string::npos);
}

TEST_CASE("federated evaluation every N rounds asks a fraction of the devices; off by default") {
  std::shared_ptr<AgentStats> stats[4];
  {
    Harness h;
    h.strategy_options.evaluate_every = 2;
    h.strategy_options.evaluate_fraction = 0.5;
    REQUIRE(h.create(small_options(2, 4)).is_ok());
    for (int i = 0; i < 4; ++i) stats[i] = h.agent("dev-" + std::to_string(i));
    h.run();
    REQUIRE(h.completed(1) != nullptr);
    REQUIRE(h.completed(2) != nullptr);
    CHECK(h.completed(1)->federated.sampled == 0);
    CHECK(to_json_line(*h.completed(1)).find("\"federated_eval\":null") != std::string::npos);
    CHECK(h.completed(2)->federated.sampled == 2);
    CHECK(h.completed(2)->federated.results == 2);
    int evaluations = 0;
    for (const auto& s : stats) evaluations += s->evaluations;
    CHECK(evaluations == 2);
  }
  Harness h;
  REQUIRE(h.create(small_options(1, 2)).is_ok());
  auto a = h.agent("a");
  auto b = h.agent("b");
  h.run();
  REQUIRE(h.completed(1) != nullptr);
  CHECK(h.completed(1)->federated.sampled == 0);
  CHECK(a->evaluations + b->evaluations == 0);
}

TEST_CASE("federated figures survive a restart through the checkpoint") {
  const auto dir = temp_dir();
  {
    Harness h;
    h.strategy_options.evaluate_clients_per_round = 2;
    auto o = small_options(1, 2);
    o.checkpoint_dir = dir;
    REQUIRE(h.create(o).is_ok());
    h.agent("a", Behavior::kGood, {}, {100, 0.25f});
    h.agent("b", Behavior::kGood, {}, {100, 0.75f});
    h.run();
    REQUIRE(h.server->completed_round() == 1);
  }
  Harness h;
  auto o = small_options(2, 2);
  o.checkpoint_dir = dir;
  REQUIRE(h.create(o).is_ok());
  CHECK(h.server->state_json().find("\"federated_accuracy\":0.5}") != std::string::npos);
  CHECK(h.server->prometheus_text().find("nf_aggregator_federated_eval_accuracy 0.5\n") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace nf::aggregator
