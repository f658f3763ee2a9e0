// AgentState and its stores: what an agent remembers across restarts.
//
// The one rule it serves: never answer a training task twice, even when the
// process dies at any instant. The session records "task T of round R sent"
// durably *before* the Update leaves, so a crash between the record and the
// send loses that update (the aggregator counts a failure) but can never
// duplicate it.
//
// A task is known by its id, not its round: an aggregator that restarted
// from an earlier checkpoint has lost the updates of the rounds after it and
// issues such a round again under a new task id, which is trained and
// answered; the same task id again (an aggregator resending an unanswered
// task to a reconnecting device) is not.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/util/status.h"

namespace nf {

struct AgentState {
  // How many answered task ids are remembered: a resent task is always the
  // aggregator's current one, so a few suffice; the bound keeps the file small.
  static constexpr size_t kRememberedTasks = 16;

  uint64_t model_identity = 0;           // identity of the model last welcomed with, 0 if none
  int64_t last_completed_round = -1;     // round of the last update sent
  std::vector<uint64_t> answered_tasks;  // ids of the last updates sent, oldest first
  int64_t updates_sent = 0;              // over the agent's life, for logs

  // Task id of the last update sent, 0 if none.
  uint64_t last_answered_task() const { return answered_tasks.empty() ? 0 : answered_tasks.back(); }
  bool already_sent(uint64_t task_id) const {
    return std::find(answered_tasks.begin(), answered_tasks.end(), task_id) != answered_tasks.end();
  }
  // Records the update of `task_id` for `round` as sent.
  void record_sent(int64_t round, uint64_t task_id) {
    last_completed_round = round;
    answered_tasks.push_back(task_id);
    if (answered_tasks.size() > kRememberedTasks) answered_tasks.erase(answered_tasks.begin());
    updates_sent += 1;
  }
};

// Where the state lives. Implementations are not thread-safe; one per agent.
class StateStore {
 public:
  virtual ~StateStore() = default;
  // A missing store yields the default state; a damaged one is an error.
  virtual Result<AgentState> load() = 0;
  // Durable when it returns ok (for the directory store: written atomically).
  virtual Status save(const AgentState& state) = 0;
};

// In memory: simulated clients, tests.
class MemoryStateStore final : public StateStore {
 public:
  Result<AgentState> load() override { return state_; }
  Status save(const AgentState& state) override {
    state_ = state;
    return Status::ok();
  }

 private:
  AgentState state_;
};

// `dir`/agent_state.toml, written with write_file_atomic; `dir` is created
// on first save when missing.
class DirStateStore final : public StateStore {
 public:
  explicit DirStateStore(std::string dir) : dir_(std::move(dir)) {}
  Result<AgentState> load() override;
  Status save(const AgentState& state) override;
  std::string path() const { return dir_ + "/agent_state.toml"; }

 private:
  std::string dir_;
};

std::unique_ptr<StateStore> make_state_store(const std::string& dir);  // memory when dir is ""

}  // namespace nf
