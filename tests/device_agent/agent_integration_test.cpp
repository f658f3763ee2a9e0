// The real agent loop against the real aggregator Server over the in-process
// transport: an agent killed mid-task and restarted is counted once; an
// aggregator that disappears and returns is found again by backoff; a model
// whose masks hash differently is refused with a clear error. Every test is
// bounded by io_context::run_for.
#include <doctest/doctest.h>

#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "aggregator/server.h"
#include "core/engine/model.h"
#include "core/fl/strategy_factory.h"
#include "device_agent/agent_loop.h"
#include "device_agent/engine_runner.h"
#include "device_agent/state_store.h"
#include "tests/device_agent/blobs.h"
#include "transports/inproc.h"

namespace nf {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSpec = "4|8:relu:dense|2:linear:dense;seed=3";

std::string temp_dir() {
  char tmpl[] = "/tmp/nf_agent_it_XXXXXX";
  return ::mkdtemp(tmpl);
}

template <typename F>
void spawn(asio::io_context& io, F&& f) {
  asio::co_spawn(io, std::forward<F>(f), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

struct Fixture {
  asio::io_context io;
  InprocNetwork network{io.get_executor()};
  asio::thread_pool server_work{1};
  Dataset data = nf::test::separable_blobs(64);
  std::vector<aggregator::RoundMetrics> rounds;

  ~Fixture() { server_work.join(); }

  std::unique_ptr<aggregator::Server> server(aggregator::ServerOptions o,
                                             uint64_t identity_xor = 0) {
    auto model = Model::create(parse_model_spec(kSpec).value()).value();
    aggregator::ModelDescription d;
    d.spec_text = kSpec;
    d.identity = model->identity() ^ identity_xor;
    d.initial_values.assign(model->parameters().begin(), model->parameters().end());
    StrategyOptions so;
    so.clients_per_round = o.clients_per_round;
    so.local_epochs = 1;
    so.batch_size = 4;
    so.learning_rate = 0.1f;
    o.hello_timeout = 5s;
    o.ordered_aggregation = true;
    auto s = aggregator::Server::create(
                 io.get_executor(), o, std::move(d), make_strategy("fedavg", so).value(),
                 [this](std::function<void()> job) { asio::post(server_work, std::move(job)); })
                 .value();
    s->set_round_callback([this](const aggregator::RoundMetrics& m) { rounds.push_back(m); });
    s->serve(network.listen("agg").value());
    return s;
  }
};

// One life of an agent process: its own model, runner and session over a
// state directory that outlives it.
struct AgentLife {
  AgentLife(const Dataset& data, const std::string& state_dir, const std::string& name,
            std::vector<int64_t> shard)
      : store(state_dir),
        runner(pool, ClientData{&data, std::move(shard), 5, 0}),
        session(SessionOptions{name, {Encoding{}}, {}}, runner, store) {}
  DirStateStore store;
  ModelPool pool;
  EngineTaskRunner runner;
  AgentSession session;
};

AgentLoopOptions fast_loop(bool* stop) {
  AgentLoopOptions o;
  o.backoff.initial = 20ms;
  o.backoff.max = 200ms;
  o.poll = 50ms;
  o.should_stop = [stop] { return *stop; };
  return o;
}

// Dies in the middle of its first task: the link drops with no word to the
// aggregator and nothing is recorded, as when the process is killed.
class DyingWork final : public WorkExecutor {
 public:
  DyingWork(Connection** link, bool* stop) : link_(link), stop_(stop) {}
  asio::awaitable<Result<Update>> train(TaskRunner&, TrainTask task, Encoding) override {
    died_in_round = task.round;
    *stop_ = true;
    (*link_)->close();
    co_return unavailable("killed");
  }
  asio::awaitable<Result<EvaluateResult>> evaluate(TaskRunner&, EvaluateTask) override {
    co_return unavailable("killed");
  }
  uint64_t died_in_round = 0;

 private:
  Connection** link_;
  bool* stop_;
};

TEST_CASE("an agent killed mid-task and restarted resumes, and the round counts it once") {
  Fixture f;
  aggregator::ServerOptions o;
  o.rounds = 2;
  o.clients_per_round = 2;
  o.min_clients = 2;
  o.min_completion = 1.0;
  o.round_deadline = 20s;
  auto server = f.server(o);
  const std::string dir_a = temp_dir(), dir_b = temp_dir();
  bool stop_a = false, stop_b1 = false, stop_b2 = false;
  Status server_status = internal_error("not finished");
  spawn(f.io, [&]() -> asio::awaitable<void> {
    server_status = co_await server->run();
    stop_a = stop_b2 = true;
    server->stop();
  });
  AgentLife a(f.data, dir_a, "dev-a", {0, 1, 2, 3, 4, 5, 6, 7});
  InlineWorkExecutor inline_work;
  spawn(f.io, [&]() -> asio::awaitable<void> {
    // Stopped by the flag: how it ended is checked through the server's counts.
    (void)co_await run_agent(f.network.connector("agg", "dev-a"), a.session, a.runner, inline_work,
                             fast_loop(&stop_a));
  });
  auto b1 = std::make_unique<AgentLife>(f.data, dir_b, "dev-b",
                                        std::vector<int64_t>{8, 9, 10, 11, 12, 13});
  std::unique_ptr<AgentLife> b2;
  Connection* b1_link = nullptr;
  DyingWork dying(&b1_link, &stop_b1);
  Connector inner = f.network.connector("agg", "dev-b");
  Connector recording = [&]() -> asio::awaitable<Result<std::unique_ptr<Connection>>> {
    auto c = co_await inner();
    if (c.is_ok()) b1_link = c->get();
    co_return c;
  };
  Status b2_status = internal_error("not finished");
  spawn(f.io, [&]() -> asio::awaitable<void> {
    const Status first =
        co_await run_agent(recording, b1->session, b1->runner, dying, fast_loop(&stop_b1));
    CHECK(first.is_ok());
    b1.reset();  // the process is gone
    co_await sleep_for(100ms);
    b2 = std::make_unique<AgentLife>(f.data, dir_b, "dev-b",
                                     std::vector<int64_t>{8, 9, 10, 11, 12, 13});
    b2_status = co_await run_agent(f.network.connector("agg", "dev-b"), b2->session, b2->runner,
                                   inline_work, fast_loop(&stop_b2));
  });
  f.io.run_for(60s);
  REQUIRE(server_status.is_ok());
  CHECK(b2_status.is_ok());
  CHECK(dying.died_in_round == 1);
  int completed = 0;
  for (const auto& m : f.rounds) {
    if (m.outcome != "completed") continue;
    ++completed;
    CHECK(m.participants == 2);
    CHECK(std::count(m.participant_ids.begin(), m.participant_ids.end(), "dev-b") == 1);
  }
  CHECK(completed == 2);
  const AgentState b_state = DirStateStore(dir_b).load().value();
  CHECK(b_state.last_completed_round == 2);
  CHECK(b_state.updates_sent == 2);  // rounds 1 (after the restart) and 2, once each
}

TEST_CASE("an aggregator that disappears and returns is found again by backoff") {
  Fixture f;
  const std::string checkpoints = temp_dir();
  aggregator::ServerOptions o;
  o.rounds = 1;
  o.clients_per_round = 1;
  o.min_clients = 1;
  o.round_deadline = 20s;
  o.checkpoint_dir = checkpoints;
  auto first = f.server(o);
  std::unique_ptr<aggregator::Server> second;
  bool stop = false;
  int connect_failures = 0, disconnects = 0;
  Status second_status = internal_error("not finished");
  spawn(f.io, [&]() -> asio::awaitable<void> {
    REQUIRE((co_await first->run()).is_ok());
    first->stop();
    first.reset();  // the aggregator is gone; its address is free
    co_await sleep_for(300ms);
    o.rounds = 2;  // back, from its checkpoint, for one more round
    second = f.server(o);
    CHECK(second->summary().resumed_from_round == 1);
    second_status = co_await second->run();
    stop = true;
    second->stop();
  });
  AgentLife a(f.data, temp_dir(), "dev-a", {0, 1, 2, 3, 4, 5});
  InlineWorkExecutor work;
  AgentLoopOptions loop = fast_loop(&stop);
  loop.on_event = [&](const AgentEvent& e) {
    if (e.kind == AgentEvent::Kind::kConnectFailed) ++connect_failures;
    if (e.kind == AgentEvent::Kind::kDisconnected) ++disconnects;
  };
  spawn(f.io, [&]() -> asio::awaitable<void> {
    (void)co_await run_agent(f.network.connector("agg", "dev-a"), a.session, a.runner, work, loop);
  });
  f.io.run_for(60s);
  REQUIRE(second_status.is_ok());
  CHECK(disconnects >= 1);
  CHECK(connect_failures >= 1);
  CHECK(a.session.saved().last_completed_round == 2);
  CHECK(f.rounds.back().round == 2);
  CHECK(f.rounds.back().participants == 1);
}

TEST_CASE("a model whose mask hash differs is refused with a clear error") {
  Fixture f;
  aggregator::ServerOptions o;
  o.rounds = 1;
  o.clients_per_round = 1;
  o.min_clients = 1;
  auto server = f.server(o, /*identity_xor=*/0x40);
  spawn(f.io, [&]() -> asio::awaitable<void> { (void)co_await server->run(); });
  AgentLife a(f.data, temp_dir(), "dev-a", {0, 1, 2, 3});
  InlineWorkExecutor work;
  bool stop = false;
  Status agent_status;
  spawn(f.io, [&]() -> asio::awaitable<void> {
    agent_status = co_await run_agent(f.network.connector("agg", "dev-a"), a.session, a.runner,
                                      work, fast_loop(&stop));
    server->stop();
  });
  f.io.run_for(30s);
  CHECK(agent_status.code() == StatusCode::kFailedPrecondition);
  CHECK(agent_status.message().find("model identity mismatch") != std::string::npos);
  CHECK(f.rounds.empty());
}

}  // namespace
}  // namespace nf
