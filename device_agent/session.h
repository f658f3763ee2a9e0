// AgentSession: the agent's side of FEDERATION_PROTOCOL.md as a state machine.
//
// It does no I/O and runs no training itself ("sans-I/O"): a driver feeds it
// what arrived and carries out the Step it returns (send these messages, run
// this training or evaluation, close). The same session therefore runs in
// nf-agent over TLS, in nf-sim over the in-process transport with training
// on a worker pool, and in unit tests against a scripted peer.
//
//   connected --Hello--> awaiting_welcome --Welcome(identity ok)--> ready
//   ready --TrainTask--> training --on_trained--> ready (Update sent)
//   ready --EvaluateTask--> evaluating --on_evaluated--> ready
//   any --ErrorMessage / protocol violation--> closed (retry or fatal)
//
// The rule that survives crashes: before an Update is handed to the driver,
// "round R task T sent" is saved in the StateStore; a task whose id was
// answered is never trained or answered again. A new task id for a round
// already answered is trained: the aggregator lost that update (state_store.h).
//
// Not thread-safe: one driver calls it at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/fl/messages.h"
#include "core/util/status.h"
#include "device_agent/state_store.h"

namespace nf {

// The model and data behind a session: engine training in production and
// simulation, a fake in tests. Calls come from one thread at a time.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Builds (or keeps) the model of `spec_text`; returns the identity it
  // computes from the spec and its derived masks.
  virtual Result<uint64_t> load_model(const std::string& spec_text) = 0;
  // Trains from task.global_values; returns the Update with values encoded in
  // `encoding` (or left to the codec, Update::unencoded), example count and
  // metrics (loss, seconds, peak memory) set. The runner owns the task: it
  // may free the task's values as soon as they are in its model, so that
  // one copy, not two, lives while it trains.
  virtual Result<Update> train(TrainTask task, Encoding encoding) = 0;
  // Evaluates task.global_values; owns the task as train() does.
  virtual Result<EvaluateResult> evaluate(EvaluateTask task) = 0;
};

enum class SessionState { kConnected, kAwaitingWelcome, kReady, kTraining, kEvaluating, kClosed };
const char* session_state_name(SessionState s);

struct SessionStep {
  std::vector<Message> send;             // in order, before anything else
  std::optional<TrainTask> train;        // run it, then call on_trained
  std::optional<EvaluateTask> evaluate;  // run it, then call on_evaluated
  bool close = false;                    // close the connection after sending
  bool fatal = false;                    // with close: do not reconnect, exit
  Status status;                         // why it closed (ok when it did not)
  std::string note;                      // something worth a log line, or empty
};

struct SessionOptions {
  std::string device_id;
  std::vector<Encoding> encodings;        // offered, preference first
  std::vector<std::string> capabilities;  // sent in Hello
};

class AgentSession {
 public:
  // `runner` and `store` must outlive the session.
  AgentSession(SessionOptions options, TaskRunner& runner, StateStore& store);

  // A new connection: loads the saved state and returns the Hello to send.
  // A damaged state store is a fatal error (the step says so, Hello is not sent).
  SessionStep on_connected();
  SessionStep on_message(Message message);
  // Results of the work a step asked for. `bytes_received` is what the task
  // cost on the wire, added to the update's metrics.
  SessionStep on_trained(Result<Update> update, uint64_t bytes_received);
  SessionStep on_evaluated(Result<EvaluateResult> result);
  // The connection dropped: the next on_connected starts a new session.
  void on_disconnected();

  SessionState state() const { return state_; }
  const AgentState& saved() const { return saved_; }
  Encoding encoding() const { return encoding_; }

 private:
  SessionStep close_with(StatusCode code, std::string message, bool fatal, bool tell_peer);

  SessionOptions options_;
  TaskRunner& runner_;
  StateStore& store_;
  AgentState saved_;
  SessionState state_ = SessionState::kConnected;
  Encoding encoding_;
  uint64_t model_identity_ = 0;       // of the model loaded in runner_, 0 if none
  std::optional<TrainTask> current_;  // the task being trained (its values are dropped)
  uint64_t eval_round_ = 0, eval_task_ = 0;
};

}  // namespace nf
