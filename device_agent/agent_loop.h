// run_agent: drives an AgentSession over real links, forever or until told
// to stop: connect, play the session's steps, reconnect with backoff.
//
// Transport-agnostic: the Connector (TLS, TCP or in-process) comes from
// main() or the simulation. Training and evaluation run through a
// WorkExecutor: inline on the I/O thread for nf-agent, on a worker pool for
// nf-sim. Everything else runs on the connection's executor.
#pragma once

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/util/status.h"
#include "device_agent/backoff.h"
#include "device_agent/session.h"
#include "transports/connection.h"

namespace nf {

// Where a step's training and evaluation run.
class WorkExecutor {
 public:
  virtual ~WorkExecutor() = default;
  // The task is handed on to the runner (TaskRunner::train frees its values).
  virtual asio::awaitable<Result<Update>> train(TaskRunner& runner, TrainTask task,
                                                Encoding encoding) = 0;
  virtual asio::awaitable<Result<EvaluateResult>> evaluate(TaskRunner& runner,
                                                           EvaluateTask task) = 0;
};

// Runs the work on the calling (I/O) thread: the session does nothing else
// meanwhile, which is what a single-purpose device wants.
class InlineWorkExecutor final : public WorkExecutor {
 public:
  asio::awaitable<Result<Update>> train(TaskRunner& runner, TrainTask task,
                                        Encoding encoding) override;
  asio::awaitable<Result<EvaluateResult>> evaluate(TaskRunner& runner, EvaluateTask task) override;
};

// What happened, for logs and tests.
struct AgentEvent {
  enum class Kind {
    kConnectFailed,  // status, delay
    kConnected,
    kNote,        // text
    kUpdateSent,  // update_round, update_task, metrics
    kEvaluated,
    kDisconnected,  // status, delay (until the next attempt)
    kStopped,       // status (ok, or why the agent gave up)
  };
  Kind kind = Kind::kNote;
  Status status;
  std::chrono::milliseconds delay{0};
  std::string text;
  uint64_t round = 0;
  uint64_t task_id = 0;
  uint64_t example_count = 0;
  TrainMetrics metrics;
  uint64_t bytes_sent = 0;      // on the current link so far
  uint64_t bytes_received = 0;  // on the current link so far
};

struct AgentLoopOptions {
  BackoffConfig backoff;
  // How long one receive waits before checking `should_stop` again; the
  // link stays open across these timeouts.
  std::chrono::milliseconds poll{1000};
  int64_t max_updates = 0;  // stop after this many updates sent by this loop (0: never)
  // Asked between waits and before every reconnect; true ends the loop.
  std::function<bool()> should_stop;
  std::function<void(const AgentEvent&)> on_event;
  // Sleeps between connection attempts; default: an Asio timer. Tests may
  // record and shorten the delays.
  std::function<asio::awaitable<void>(std::chrono::milliseconds)> sleep;
};

// Returns ok when stopped on request (should_stop, max_updates), or the
// fatal Status that made the session give up (model identity mismatch,
// refused by the aggregator, damaged state).
asio::awaitable<Status> run_agent(Connector connect, AgentSession& session, TaskRunner& runner,
                                  WorkExecutor& work, AgentLoopOptions options);

}  // namespace nf
