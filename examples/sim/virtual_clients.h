// VirtualFleet: N simulated devices in one process, each running the real
// agent code (AgentSession + run_agent) over the in-process transport.
//
// An idle virtual client is its shard's indices, a seed, a small session and
// a suspended coroutine waiting on its link. Training runs on a pool of
// worker threads, each training its own copy of the model (ModelPool), so
// the fleet's memory grows with the number of workers, not of clients.
//
// Failures are injected here, seeded by (seed, round, client) so they do not
// depend on timing or thread count: a dropped-out client closes its link
// instead of answering (the aggregator sees a disconnect and the client
// comes back after a short backoff); a straggler answers only after the
// task's deadline.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "device_agent/agent_loop.h"
#include "device_agent/engine_runner.h"
#include "device_agent/state_store.h"
#include "transports/inproc.h"

namespace nf::sim {

struct FleetOptions {
  std::string aggregator_address = "aggregator";  // in-process listener name
  uint64_t seed = 1;
  double dropout = 0.0;
  double stragglers = 0.0;
  int workers = 1;    // training threads
  Encoding encoding;  // what every client offers (the aggregator chooses)
};

// Client ids are "client-00042": zero-padded so that sorting ids sorts clients.
std::string client_name(int64_t index, int64_t total);

class VirtualFleet {
 public:
  // `train` must outlive the fleet; `shards[i]` is client i's indices.
  VirtualFleet(asio::io_context& io, InprocNetwork& network, const Dataset& train,
               std::vector<std::vector<int64_t>> shards, FleetOptions options);
  ~VirtualFleet();

  // Starts every client's agent loop on `io`.
  void start();
  // Asks every loop to stop at its next wait (their links close when the
  // aggregator's do). Then join the workers with wait().
  void stop();
  void wait_workers();

  int64_t size() const { return static_cast<int64_t>(clients_.size()); }
  int64_t updates_sent() const { return updates_sent_.load(); }
  int64_t dropouts() const { return dropouts_.load(); }
  int64_t stragglers() const { return stragglers_.load(); }
  ModelPool& model_pool() { return pool_; }

 private:
  struct Client;

  asio::io_context& io_;
  InprocNetwork& network_;
  const Dataset& train_;
  FleetOptions options_;
  asio::thread_pool workers_;
  ModelPool pool_;
  std::vector<std::unique_ptr<Client>> clients_;
  bool stop_ = false;
  std::atomic<int64_t> updates_sent_{0};
  std::atomic<int64_t> dropouts_{0};
  std::atomic<int64_t> stragglers_{0};
};

}  // namespace nf::sim
