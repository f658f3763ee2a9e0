// run_agent over the in-process transport against a hand-played aggregator:
// reconnects with backoff when nobody listens, and when the peer goes away.
#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <exception>

#include "device_agent/agent_loop.h"
#include "transports/inproc.h"
#include "transports/message_link.h"

namespace nf {
namespace {

class CountingRunner final : public TaskRunner {
 public:
  Result<uint64_t> load_model(const std::string&) override { return uint64_t{77}; }
  Result<Update> train(TrainTask t, Encoding) override {
    ++trained;
    Update u;
    u.round = t.round;
    u.task_id = t.task_id;
    u.example_count = 10;
    return u;
  }
  Result<EvaluateResult> evaluate(EvaluateTask) override { return EvaluateResult{}; }
  int trained = 0;
};

TEST_CASE("the agent finds a late aggregator by backoff, and again after it disappears") {
  asio::io_context io;
  InprocNetwork network(io.get_executor());
  CountingRunner runner;
  MemoryStateStore store;
  AgentSession session(SessionOptions{"dev-9", {Encoding{}}, {}}, runner, store);
  InlineWorkExecutor work;
  std::vector<std::chrono::milliseconds> delays;
  int connect_failures = 0;
  bool stop = false;
  AgentLoopOptions loop;
  loop.backoff.seed = 3;
  loop.poll = std::chrono::milliseconds(20);
  loop.should_stop = [&] { return stop; };
  loop.sleep = [&](std::chrono::milliseconds d) -> asio::awaitable<void> {
    delays.push_back(d);
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(2));
    co_await t.async_wait(asio::use_awaitable);
  };
  loop.on_event = [&](const AgentEvent& e) {
    if (e.kind == AgentEvent::Kind::kConnectFailed) ++connect_failures;
  };
  Status agent_status = internal_error("not finished");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        agent_status =
            co_await run_agent(network.connector("agg", "dev-9"), session, runner, work, loop);
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });

  std::vector<uint64_t> rounds_received;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Nobody listens for a while: the agent backs off.
        asio::steady_timer t(io, std::chrono::milliseconds(30));
        co_await t.async_wait(asio::use_awaitable);
        for (int life = 0; life < 2; ++life) {
          auto listener = network.listen("agg").value();
          auto conn = co_await listener->accept(std::chrono::seconds(5));
          REQUIRE(conn.is_ok());
          MessageLink link(std::move(conn).value());
          auto hello = co_await link.receive(std::chrono::seconds(5));
          REQUIRE(hello.is_ok());
          CHECK(std::get<Hello>(*hello).device_id == "dev-9");
          Welcome w;
          w.model_hash = 77;
          w.model_spec = "m";
          REQUIRE((co_await link.send(w)).is_ok());
          TrainTask task;
          task.round = static_cast<uint64_t>(life + 1);
          task.task_id = 100 + static_cast<uint64_t>(life);
          REQUIRE((co_await link.send(task)).is_ok());
          auto update = co_await link.receive(std::chrono::seconds(5));
          REQUIRE(update.is_ok());
          rounds_received.push_back(std::get<Update>(*update).round);
          link.close();  // the aggregator "disappears"
          listener->close();
          listener.reset();
          t.expires_after(std::chrono::milliseconds(30));
          co_await t.async_wait(asio::use_awaitable);
        }
        stop = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run_for(std::chrono::seconds(20));
  CHECK(agent_status.is_ok());
  CHECK(rounds_received == std::vector<uint64_t>{1, 2});
  CHECK(runner.trained == 2);
  CHECK(connect_failures >= 2);
  REQUIRE(delays.size() >= 3);
  // Consecutive failures back off: the second delay is about twice the first.
  CHECK(delays[1] > delays[0]);
}

}  // namespace
}  // namespace nf
