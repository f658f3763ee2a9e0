#include "examples/sim/virtual_clients.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>

#include "core/util/rng.h"

namespace nf::sim {

std::string client_name(int64_t index, int64_t total) {
  size_t digits = 1;
  for (int64_t t = total - 1; t >= 10; t /= 10) ++digits;
  std::string number = std::to_string(index);
  if (number.size() < digits) number.insert(0, digits - number.size(), '0');
  return "client-" + number;
}

// One virtual device: its data, its session and what the failure injection
// needs to know about its link.
struct VirtualFleet::Client final : WorkExecutor {
  Client(VirtualFleet& fleet, int64_t index, ClientData data, SessionOptions options)
      : fleet(fleet),
        index(index),
        name(options.device_id),
        runner(fleet.pool_, std::move(data)),
        session(std::move(options), runner, store) {}

  asio::awaitable<Result<Update>> train(TaskRunner& r, TrainTask task, Encoding encoding) override;
  asio::awaitable<Result<EvaluateResult>> evaluate(TaskRunner& r, EvaluateTask task) override;

  VirtualFleet& fleet;
  int64_t index;
  std::string name;
  Connection* link = nullptr;  // the current link, owned by the agent loop's MessageLink
  std::chrono::steady_clock::time_point offline_until{};
  uint64_t dropped_round = UINT64_MAX;  // the round of its last dropout
  uint64_t late_round = UINT64_MAX;     // the round it last answered late
  MemoryStateStore store;
  EngineTaskRunner runner;
  AgentSession session;
};

asio::awaitable<Result<Update>> VirtualFleet::Client::train(TaskRunner& r, TrainTask task,
                                                            Encoding encoding) {
  const FleetOptions& o = fleet.options_;
  Rng rng(mix64(o.seed ^ 0x5EED0FA11u), mix64(task.round * 0x100000001b3ULL + uint64_t(index)));
  const float u_drop = rng.uniform01();
  const float u_late = rng.uniform01();
  if (u_drop < o.dropout) {
    // Gone without a word, and offline until the round's deadline has passed (the
    // aggregator would otherwise resume it with the same task, and it would drop again).
    // Counted once per round: when the aggregator's deadline fires late (a loaded
    // machine) and it resumes the client with the same task, or retries the round,
    // the client drops it again, uncounted, so the count does not depend on timing.
    if (task.round != dropped_round) {
      ++fleet.dropouts_;
      dropped_round = task.round;
    }
    offline_until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(task.deadline_ms + 100);
    if (link != nullptr) link->close();
    co_return unavailable("simulated dropout of client " + std::to_string(index) + " in round " +
                          std::to_string(task.round));
  }
  const uint32_t deadline_ms = task.deadline_ms;
  const uint64_t task_round = task.round;  // the task is moved into training
  std::optional<Result<Update>> result = co_await asio::co_spawn(
      fleet.workers_,
      [&]() -> asio::awaitable<std::optional<Result<Update>>> {
        co_return r.train(std::move(task), encoding);
      },
      asio::use_awaitable);
  if (u_late < o.stragglers && deadline_ms > 0) {
    if (task_round != late_round) {  // once per round, as dropouts
      ++fleet.stragglers_;
      late_round = task_round;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor,
                             std::chrono::milliseconds(deadline_ms + 250));
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(*result);
}

asio::awaitable<Result<EvaluateResult>> VirtualFleet::Client::evaluate(TaskRunner& r,
                                                                       EvaluateTask task) {
  std::optional<Result<EvaluateResult>> result = co_await asio::co_spawn(
      fleet.workers_,
      [&]() -> asio::awaitable<std::optional<Result<EvaluateResult>>> {
        co_return r.evaluate(std::move(task));
      },
      asio::use_awaitable);
  co_return std::move(*result);
}

VirtualFleet::VirtualFleet(asio::io_context& io, InprocNetwork& network, const Dataset& train,
                           std::vector<std::vector<int64_t>> shards, FleetOptions options)
    : io_(io),
      network_(network),
      train_(train),
      options_(std::move(options)),
      workers_(static_cast<size_t>(std::max(1, options_.workers))),
      pool_(1) {
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
    // Connects as the device would, but stays away while "offline" and keeps a
    // pointer to the link so a dropout can cut it.
    Connector connect = [this, &c]() -> asio::awaitable<Result<std::unique_ptr<Connection>>> {
      const auto now = std::chrono::steady_clock::now();
      if (c.offline_until > now) {
        asio::steady_timer timer(co_await asio::this_coro::executor, c.offline_until - now);
        std::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      c.link = nullptr;
      auto link = co_await network_.connect(options_.aggregator_address, c.name);
      if (link.is_ok()) c.link = link->get();
      co_return link;
    };
    asio::co_spawn(io_, run_agent(std::move(connect), c.session, c.runner, c, std::move(loop)),
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
