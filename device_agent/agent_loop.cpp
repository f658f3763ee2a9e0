#include "device_agent/agent_loop.h"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <utility>

#include "transports/message_link.h"

namespace nf {
namespace {

asio::awaitable<void> timer_sleep(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  std::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

struct Driver {
  AgentSession& session;
  TaskRunner& runner;
  WorkExecutor& work;
  AgentLoopOptions& options;
  int64_t updates = 0;

  void emit(AgentEvent e) {
    if (options.on_event) options.on_event(e);
  }
  bool stop_requested() const {
    return (options.should_stop && options.should_stop()) ||
           (options.max_updates > 0 && updates >= options.max_updates);
  }

  // Plays one step and the steps that follow from its work. Returns false
  // when the session closed (the step's status says why).
  asio::awaitable<bool> play(SessionStep step, MessageLink& link, Status* closed_status,
                             bool* fatal, uint64_t task_bytes) {
    for (;;) {
      if (!step.note.empty()) {
        AgentEvent e;
        e.text = step.note;
        emit(e);
      }
      for (Message& m : step.send) {
        const bool is_update = std::holds_alternative<Update>(m);
        Status s = co_await link.send(m);
        if (!s.is_ok()) {
          *closed_status = s;
          co_return false;
        }
        if (is_update) {
          const Update& u = std::get<Update>(m);
          ++updates;
          AgentEvent e;
          e.kind = AgentEvent::Kind::kUpdateSent;
          e.round = u.round;
          e.task_id = u.task_id;
          e.example_count = u.example_count;
          e.metrics = u.metrics;
          e.bytes_sent = link.bytes_sent();
          e.bytes_received = link.bytes_received();
          emit(e);
        } else if (std::holds_alternative<EvaluateResult>(m)) {
          AgentEvent e;
          e.kind = AgentEvent::Kind::kEvaluated;
          e.round = std::get<EvaluateResult>(m).round;
          emit(e);
        }
      }
      if (step.close) {
        link.close();
        *closed_status = step.status;
        *fatal = step.fatal;
        co_return false;
      }
      if (step.train) {
        {
          // Progress for what may take minutes on a small device.
          const TrainTask& task = *step.train;
          AgentEvent e;
          e.text = "round " + std::to_string(task.round) + " task " + std::to_string(task.task_id) +
                   ": training (" + std::to_string(task.hyper.epochs) + " epochs, batch " +
                   std::to_string(task.hyper.batch_size) + ")";
          emit(e);
        }
        // Handed over, not copied: the runner frees the task's values once
        // they are in its model.
        Result<Update> update =
            co_await work.train(runner, std::move(*step.train), session.encoding());
        step = session.on_trained(std::move(update), task_bytes);
        continue;
      }
      if (step.evaluate) {
        Result<EvaluateResult> result = co_await work.evaluate(runner, std::move(*step.evaluate));
        step = session.on_evaluated(std::move(result));
        continue;
      }
      co_return true;
    }
  }

  // One connection's life. Returns its closing status; sets *welcomed when
  // the session got as far as the Welcome.
  asio::awaitable<Status> serve(MessageLink& link, bool* fatal, bool* welcomed) {
    Status closed;
    if (!co_await play(session.on_connected(), link, &closed, fatal, 0)) co_return closed;
    while (!stop_requested()) {
      const uint64_t before = link.bytes_received();
      Result<Message> m = co_await link.receive(options.poll);
      if (!m.is_ok()) {
        if (m.status().code() == StatusCode::kDeadlineExceeded) continue;
        co_return m.status();
      }
      SessionStep step = session.on_message(std::move(m).value());
      if (session.state() != SessionState::kAwaitingWelcome &&
          session.state() != SessionState::kClosed) {
        *welcomed = true;
      }
      if (!co_await play(std::move(step), link, &closed, fatal, link.bytes_received() - before)) {
        co_return closed;
      }
    }
    link.close();
    co_return Status::ok();
  }
};

}  // namespace

asio::awaitable<Result<Update>> InlineWorkExecutor::train(TaskRunner& runner, TrainTask task,
                                                          Encoding encoding) {
  co_return runner.train(std::move(task), encoding);
}

asio::awaitable<Result<EvaluateResult>> InlineWorkExecutor::evaluate(TaskRunner& runner,
                                                                     EvaluateTask task) {
  co_return runner.evaluate(std::move(task));
}

asio::awaitable<Status> run_agent(Connector connect, AgentSession& session, TaskRunner& runner,
                                  WorkExecutor& work, AgentLoopOptions options) {
  if (!options.sleep) options.sleep = timer_sleep;
  Driver driver{session, runner, work, options};
  Backoff backoff(options.backoff);
  for (;;) {
    if (driver.stop_requested()) break;
    Result<std::unique_ptr<Connection>> connection = co_await connect();
    if (!connection.is_ok()) {
      AgentEvent e;
      e.kind = AgentEvent::Kind::kConnectFailed;
      e.status = connection.status();
      e.delay = backoff.next();
      driver.emit(e);
      co_await options.sleep(e.delay);
      continue;
    }
    MessageLink link(std::move(connection).value());
    {
      AgentEvent e;
      e.kind = AgentEvent::Kind::kConnected;
      e.text = link.peer_identity();
      driver.emit(e);
    }
    bool fatal = false;
    bool welcomed = false;
    Status closed = co_await driver.serve(link, &fatal, &welcomed);
    link.close();
    session.on_disconnected();
    if (fatal) {
      AgentEvent e;
      e.kind = AgentEvent::Kind::kStopped;
      e.status = closed;
      driver.emit(e);
      co_return closed;
    }
    if (driver.stop_requested()) break;
    if (welcomed) backoff.reset();  // it worked for a while: start the doubling again
    AgentEvent e;
    e.kind = AgentEvent::Kind::kDisconnected;
    e.status = closed.is_ok() ? unavailable("connection closed") : closed;
    e.delay = backoff.next();
    driver.emit(e);
    co_await options.sleep(e.delay);
  }
  AgentEvent e;
  e.kind = AgentEvent::Kind::kStopped;
  driver.emit(e);
  co_return Status::ok();
}

}  // namespace nf
