#include "examples/sim/virtual_clients.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdio>
#include <optional>

#include "core/util/rng.h"

namespace nf::sim {

std::string client_name(int64_t index, int64_t total) {
  int digits = 1;
  for (int64_t t = total - 1; t >= 10; t /= 10) ++digits;
  char buf[48];
  std::snprintf(buf, sizeof buf, "client-%0*lld", digits, static_cast<long long>(index));
  return buf;
}

// Per-client view of the fleet's worker pool, with the failure injection.
class VirtualFleet::PoolWork {
 public:
  explicit PoolWork(VirtualFleet& fleet) : fleet_(fleet) {}

  asio::awaitable<Result<Update>> train(int64_t client, TaskRunner& runner, const TrainTask& task,
                                        Encoding encoding) {
    const FleetOptions& o = fleet_.options_;
    Rng rng(mix64(o.seed ^ 0x5EED0FA11u), mix64(task.round * 0x100000001b3ULL + uint64_t(client)));
    const float u_drop = rng.uniform01();
    const float u_late = rng.uniform01();
    if (u_drop < o.dropout) {
      ++fleet_.dropouts_;
      co_return unavailable("simulated dropout of client " + std::to_string(client) + " in round " +
                            std::to_string(task.round));
    }
    std::optional<Result<Update>> result = co_await asio::co_spawn(
        fleet_.workers_,
        [&]() -> asio::awaitable<std::optional<Result<Update>>> {
          co_return runner.train(task, encoding);
        },
        asio::use_awaitable);
    if (u_late < o.stragglers && task.deadline_ms > 0) {
      ++fleet_.stragglers_;
      asio::steady_timer timer(co_await asio::this_coro::executor,
                               std::chrono::milliseconds(task.deadline_ms + 250));
      std::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return std::move(*result);
  }

  asio::awaitable<Result<EvaluateResult>> evaluate(TaskRunner& runner, const EvaluateTask& task) {
    std::optional<Result<EvaluateResult>> result = co_await asio::co_spawn(
        fleet_.workers_,
        [&]() -> asio::awaitable<std::optional<Result<EvaluateResult>>> {
          co_return runner.evaluate(task);
        },
        asio::use_awaitable);
    co_return std::move(*result);
  }

 private:
  VirtualFleet& fleet_;
};

struct VirtualFleet::Client final : WorkExecutor {
  Client(VirtualFleet& fleet, int64_t index, ClientData data, SessionOptions options)
      : fleet(fleet),
        index(index),
        name(options.device_id),
        runner(fleet.pool_, std::move(data)),
        session(std::move(options), runner, store) {}

  asio::awaitable<Result<Update>> train(TaskRunner& r, const TrainTask& task,
                                        Encoding encoding) override {
    co_return co_await fleet.work_->train(index, r, task, encoding);
  }
  asio::awaitable<Result<EvaluateResult>> evaluate(TaskRunner& r,
                                                   const EvaluateTask& task) override {
    co_return co_await fleet.work_->evaluate(r, task);
  }

  VirtualFleet& fleet;
  int64_t index;
  std::string name;
  MemoryStateStore store;
  EngineTaskRunner runner;
  AgentSession session;
};

VirtualFleet::VirtualFleet(asio::io_context& io, InprocNetwork& network, const Dataset& train,
                           std::vector<std::vector<int64_t>> shards, FleetOptions options)
    : io_(io),
      network_(network),
      train_(train),
      options_(std::move(options)),
      workers_(static_cast<size_t>(std::max(1, options_.workers))),
      pool_(1),
      work_(std::make_unique<PoolWork>(*this)) {
  const auto n = static_cast<int64_t>(shards.size());
  clients_.reserve(shards.size());
  for (int64_t i = 0; i < n; ++i) {
    SessionOptions so;
    so.device_id = client_name(i, n);
    so.encodings = {options_.encoding};
    ClientData data{&train_, std::move(shards[static_cast<size_t>(i)]),
                    mix64(options_.seed * 0x9E3779B97F4A7C15ULL + uint64_t(i)), 0};
    clients_.push_back(std::make_unique<Client>(*this, i, std::move(data), std::move(so)));
  }
}

VirtualFleet::~VirtualFleet() {
  wait_workers();
}

void VirtualFleet::start() {
  const auto n = static_cast<int64_t>(clients_.size());
  for (int64_t i = 0; i < n; ++i) {
    Client& c = *clients_[static_cast<size_t>(i)];
    AgentLoopOptions loop;
    loop.backoff.initial = std::chrono::milliseconds(5);
    loop.backoff.max = std::chrono::milliseconds(500);
    loop.backoff.seed = mix64(options_.seed + uint64_t(i));
    loop.poll = std::chrono::milliseconds(250);
    loop.should_stop = [this] { return stop_; };
    loop.on_event = [this](const AgentEvent& e) {
      if (e.kind == AgentEvent::Kind::kUpdateSent) ++updates_sent_;
    };
    asio::co_spawn(io_,
                   run_agent(network_.connector(options_.aggregator_address, c.name), c.session,
                             c.runner, c, std::move(loop)),
                   asio::detached);
  }
}

void VirtualFleet::stop() {
  stop_ = true;
}

void VirtualFleet::wait_workers() {
  workers_.join();
}

}  // namespace nf::sim
