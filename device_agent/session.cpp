#include "device_agent/session.h"

#include <utility>

#include "core/util/hash.h"

namespace nf {

const char* session_state_name(SessionState s) {
  switch (s) {
    case SessionState::kConnected:
      return "connected";
    case SessionState::kAwaitingWelcome:
      return "awaiting_welcome";
    case SessionState::kReady:
      return "ready";
    case SessionState::kTraining:
      return "training";
    case SessionState::kEvaluating:
      return "evaluating";
    case SessionState::kClosed:
      return "closed";
  }
  return "?";
}

AgentSession::AgentSession(SessionOptions options, TaskRunner& runner, StateStore& store)
    : options_(std::move(options)), runner_(runner), store_(store) {}

SessionStep AgentSession::close_with(StatusCode code, std::string message, bool fatal,
                                     bool tell_peer) {
  SessionStep step;
  if (tell_peer) step.send.push_back(ErrorMessage{code, message});
  step.close = true;
  step.fatal = fatal;
  step.status = Status(code, std::move(message));
  state_ = SessionState::kClosed;
  current_.reset();
  return step;
}

SessionStep AgentSession::on_connected() {
  Result<AgentState> loaded = store_.load();
  if (!loaded.is_ok()) {
    return close_with(loaded.status().code(), loaded.status().message(), /*fatal=*/true,
                      /*tell_peer=*/false);
  }
  saved_ = std::move(loaded).value();
  Hello hello;
  hello.device_id = options_.device_id;
  hello.encodings = options_.encodings;
  hello.capabilities = options_.capabilities;
  // Lets a resuming aggregator know what this device already delivered.
  hello.last_round = saved_.last_completed_round;
  hello.model_hash = saved_.model_identity;
  state_ = SessionState::kAwaitingWelcome;
  SessionStep step;
  step.send.push_back(std::move(hello));
  return step;
}

void AgentSession::on_disconnected() {
  state_ = SessionState::kConnected;
  current_.reset();
}

SessionStep AgentSession::on_message(Message message) {
  if (auto* error = std::get_if<ErrorMessage>(&message)) {
    // The aggregator refusing this device or its model will refuse it again.
    const bool fatal = error->code == StatusCode::kPermissionDenied ||
                       error->code == StatusCode::kFailedPrecondition;
    return close_with(error->code, "aggregator reported: " + error->message, fatal, false);
  }
  if (auto* beat = std::get_if<Heartbeat>(&message)) {
    SessionStep step;
    step.send.push_back(Heartbeat{beat->sequence, 0});
    return step;
  }
  switch (state_) {
    case SessionState::kAwaitingWelcome: {
      auto* welcome = std::get_if<Welcome>(&message);
      if (welcome == nullptr) break;
      if (welcome->protocol_version != kProtocolVersion) {
        return close_with(StatusCode::kFailedPrecondition,
                          "protocol version " + std::to_string(welcome->protocol_version) +
                              " from the aggregator, this agent speaks " +
                              std::to_string(kProtocolVersion),
                          true, true);
      }
      if (model_identity_ == 0 || model_identity_ != welcome->model_hash) {
        Result<uint64_t> identity = runner_.load_model(welcome->model_spec);
        if (!identity.is_ok()) {
          return close_with(StatusCode::kFailedPrecondition,
                            "cannot build the welcomed model: " + identity.status().message(), true,
                            true);
        }
        model_identity_ = identity.value();
      }
      if (model_identity_ != welcome->model_hash) {
        const uint64_t mine = model_identity_;
        model_identity_ = 0;
        return close_with(StatusCode::kFailedPrecondition,
                          "model identity mismatch: the aggregator's model hash is " +
                              hash_hex(welcome->model_hash) + " but this agent derives " +
                              hash_hex(mine) + " from the same spec (different masks?)",
                          true, true);
      }
      encoding_ = welcome->encoding;
      SessionStep step;
      if (saved_.model_identity != model_identity_) {
        // A new model: rounds of the old one say nothing about this one.
        saved_ = AgentState{};
        saved_.model_identity = model_identity_;
        Status saved = store_.save(saved_);
        if (!saved.is_ok()) {
          return close_with(saved.code(), "cannot save agent state: " + saved.message(), true,
                            true);
        }
        step.note = "model " + hash_hex(model_identity_) + " welcomed (new)";
      } else {
        step.note = "model " + hash_hex(model_identity_) + " welcomed, resuming " +
                    (saved_.last_completed_round > 0
                         ? "after round " + std::to_string(saved_.last_completed_round)
                         : std::string("with no update sent yet"));
      }
      state_ = SessionState::kReady;
      return step;
    }
    case SessionState::kReady: {
      if (auto* task = std::get_if<TrainTask>(&message)) {
        SessionStep step;
        const auto round = static_cast<int64_t>(task->round);
        if (saved_.already_sent(task->task_id)) {
          step.note = "ignoring train task for round " + std::to_string(round) + " task " +
                      std::to_string(task->task_id) + ": an update for it was already sent";
          return step;
        }
        if (round <= saved_.last_completed_round) {
          // A new task for a round already answered: the aggregator lost that
          // update (it restarted from an earlier checkpoint, or retries the
          // round) and counts only updates of the task it sends now.
          step.note = "round " + std::to_string(round) + " issued again as task " +
                      std::to_string(task->task_id) + " (an update for round " +
                      std::to_string(saved_.last_completed_round) + " was sent as task " +
                      std::to_string(saved_.last_answered_task()) + "): training it";
        }
        current_ = TrainTask{task->round, task->task_id, {}, task->hyper, task->deadline_ms};
        state_ = SessionState::kTraining;
        step.train = std::move(*task);
        return step;
      }
      if (auto* task = std::get_if<EvaluateTask>(&message)) {
        SessionStep step;
        state_ = SessionState::kEvaluating;
        eval_round_ = task->round;
        eval_task_ = task->task_id;
        step.evaluate = std::move(*task);
        return step;
      }
      break;
    }
    default:
      break;
  }
  return close_with(StatusCode::kFailedPrecondition,
                    std::string("unexpected ") + message_name(message) + " in state " +
                        session_state_name(state_),
                    false, true);
}

SessionStep AgentSession::on_trained(Result<Update> update, uint64_t bytes_received) {
  if (state_ != SessionState::kTraining || !current_) {
    SessionStep step;  // the connection closed while training: nothing to send
    step.note = "training finished after the session closed; update dropped";
    return step;
  }
  if (!update.is_ok()) {
    return close_with(StatusCode::kInternal, "local training failed: " + update.status().message(),
                      false, true);
  }
  Update out = std::move(update).value();
  out.round = current_->round;
  out.task_id = current_->task_id;
  out.metrics.bytes = bytes_received + encoded_size(out.values.encoding, out.values.count);
  // Recorded before the update leaves: a crash now loses it, never doubles it.
  AgentState next = saved_;
  next.record_sent(static_cast<int64_t>(out.round), out.task_id);
  Status saved = store_.save(next);
  if (!saved.is_ok()) {
    return close_with(
        saved.code(),
        "cannot record the update in the agent state: " + saved.message() + " (update not sent)",
        true, true);
  }
  saved_ = next;
  current_.reset();
  state_ = SessionState::kReady;
  SessionStep step;
  step.send.push_back(std::move(out));
  return step;
}

SessionStep AgentSession::on_evaluated(Result<EvaluateResult> result) {
  if (state_ != SessionState::kEvaluating) return {};
  if (!result.is_ok()) {
    return close_with(StatusCode::kInternal, "evaluation failed: " + result.status().message(),
                      false, true);
  }
  state_ = SessionState::kReady;
  EvaluateResult out = std::move(result).value();
  out.round = eval_round_;
  out.task_id = eval_task_;
  SessionStep step;
  step.send.push_back(std::move(out));
  return step;
}

}  // namespace nf
